"""The RQ side: connect to Redis, put jobs on the queue, read their state back, and make sure that every
accepted submission ends in a result or a recorded failure.

Jobs use RQ's JSON serializer, so a job can only carry references and options, never file bytes.

What keeps a submission from being lost, in the order things can go wrong:
- the upload and the submission are in the store before the job is enqueued (`submit`);
- a transient failure (a killed work horse, a lost worker host, an I/O error) is retried by RQ with the
  configured intervals, which RQ's scheduler (`docverify worker` runs one) enqueues; an input that fails the
  same way every time is not retried (worker/jobs.py decides);
- a worker host that dies stops its job's heartbeat: 60 s after the last one the job counts as abandoned,
  and the next maintenance pass of any worker (every `maintenance_interval` s) retries it;
- a job that Redis lost altogether is enqueued again from the store by `reconcile`, which the workers run
  on the same interval.
"""
from __future__ import annotations

import hashlib
import json
import os
import signal
import time
from datetime import datetime, timezone

import redis
from rq import Callback, Queue, Retry
from rq import Worker as RQWorker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus
from rq.serializers import JSONSerializer
from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty
from rq.utils import now
from rq.worker import WorkerStatus

from worker.config import Settings
from worker.horse import DIED, EXITING, READY, Horse
from worker.result import engine_version
from worker.store import Store, Upload

JOB_FUNCTION = "worker.jobs.verify_job"
FAILURE_CALLBACK = "worker.jobs.record_failure"
RECONCILE_LOCK = "docverify:reconcile"


class RedisUnavailable(Exception):
    pass


class JobTimeout(BaseException):
    """Raised in the work horse when a job overruns its timeout.

    A BaseException, like KeyboardInterrupt, so that the broad `except Exception` that guards parsing of
    untrusted files cannot swallow it and report a half-checked document as a result.
    """


class _DeathPenalty(UnixSignalDeathPenalty):
    def handle_death_penalty(self, signum, frame):
        # The parent uses the same alarm to wake up for heartbeats while it waits for the work horse: only a
        # job's own timeout becomes JobTimeout.
        if issubclass(self._exception, JobTimeoutException):
            raise JobTimeout(f"the job exceeded its timeout of {self._timeout} s")
        super().handle_death_penalty(signum, frame)


class Worker(RQWorker):
    """RQ's worker with docverify's serializer, timeout exception, intervals, reconciler and work horse: one that
    runs several jobs (worker/horse.py), under a memory limit."""

    death_penalty_class = _DeathPenalty

    def __init__(self, queues, settings: Settings, store: Store, **kwargs):
        from worker.jobs import horse_killed  # jobs imports the checks; only a worker needs them

        super().__init__(queues, serializer=JSONSerializer, worker_ttl=settings.worker_ttl,
                         maintenance_interval=settings.maintenance_interval,
                         job_monitoring_interval=settings.heartbeat_interval,
                         work_horse_killed_handler=horse_killed, **kwargs)
        self.settings = settings
        self.store = store
        self.horse: Horse | None = None

    def execute_job(self, job, queue):
        self.prepare_execution(job)
        if self.horse is not None and not self.horse.send(job.id, queue.name, self.execution):
            self.horse.close()  # it died since its last job
            self.horse.reap()
            self.horse = None
        if self.horse is None:
            self.horse = Horse.fork(self, self.settings.horse_jobs, self.settings.memory_limit_mb * 1024 * 1024)
            self.horse.send(job.id, queue.name, self.execution)  # if it fails, the monitor meets a dead horse
        self._horse_pid = self.horse.pid
        self.procline(f"Horse {self.horse.pid} on job {job.id} since {time.time()}")
        self.monitor_work_horse(job, queue)
        self.set_state(WorkerStatus.IDLE)

    def monitor_work_horse(self, job, queue):
        """RQ's monitor, waiting for the horse's answer rather than for its exit."""
        job.started_at = now()
        while (answer := self.horse.answer(self.job_monitoring_interval)) is None:
            self.set_current_job_working_time((now() - job.started_at).total_seconds())
            if job.timeout != -1 and self.current_job_working_time > job.timeout + 60:
                # The horse's own alarm did not end it (stuck in C code): end it from here, as RQ does.
                self.heartbeat(self.job_monitoring_interval + 60)
                self.kill_horse()
                answer = DIED
                break
            self.maintain_heartbeats(job)
        self.set_current_job_working_time(0)
        self._horse_pid = 0
        if answer == READY:
            return
        self.horse.close()
        retpid, status, rusage = self.horse.reap()
        self.horse = None
        if answer == EXITING and status == os.EX_OK:
            return
        try:
            job_status = job.get_status()
        except InvalidJobOperation:
            return  # finished, and its record has expired
        if self._stopped_job_id == job.id:
            self.log.warning("Worker %s: job %s stopped by user, moving job to FailedJobRegistry", self.name, job.id)
            if job.stopped_callback:
                job.execute_stopped_callback(self.death_penalty_class)
            self.handle_job_failure(job, queue=queue, exc_string="Job stopped by user, work-horse terminated.")
        elif job_status not in (JobStatus.FINISHED, JobStatus.FAILED):
            job.ended_at = now()
            exc_string = f"Work-horse terminated unexpectedly; waitpid returned {status}"
            self.log.warning("Worker %s: job %s failed (%s)", self.name, job.id, exc_string)
            self.handle_work_horse_killed(job, retpid, status, rusage)
            self.handle_job_failure(job, queue=queue, exc_string=exc_string)

    def heartbeat(self, timeout=None, pipeline=None):
        """RQ's heartbeat, whose two commands go in one round trip where RQ gives no pipeline (after every dequeue)."""
        if pipeline is not None:
            return super().heartbeat(timeout, pipeline)
        with self.connection.pipeline(transaction=False) as pipe:
            super().heartbeat(timeout, pipe)
            pipe.execute()

    def kill_horse(self, sig=signal.SIGKILL):
        if self.horse_pid:  # RQ would signal its own process group with pid 0
            super().kill_horse(sig)

    def teardown(self):
        if not self.is_horse and self.horse is not None:
            self.horse.close()
            self.horse.reap(patience=10)
            self.horse = None
        super().teardown()

    def run_maintenance_tasks(self):
        super().run_maintenance_tasks()  # abandoned jobs are retried or failed here
        # One worker per interval walks the store's pending submissions.
        if self.connection.set(RECONCILE_LOCK, self.name, nx=True, ex=self.settings.maintenance_interval):
            for job_id in reconcile(self.settings, self.connection, self.store):
                self.log.warning("reconcile: job %s had no RQ job; enqueued again", job_id)


def connect(settings: Settings) -> redis.Redis:
    """A checked connection, or RedisUnavailable with one line that says how to get Redis running."""
    conn = redis.Redis.from_url(settings.redis_url, socket_connect_timeout=3)
    try:
        conn.ping()
    except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
        raise RedisUnavailable(
            f"cannot reach Redis at {_public_url(settings.redis_url)} ({exc.__class__.__name__}); start one with "
            "`redis-server --port 6379 --daemonize yes` or point DOCVERIFY_REDIS_URL at yours "
            "(`docverify check` works without Redis)") from None
    return conn


def _public_url(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" in url:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://***@{rest.split('@', 1)[1]}"
    return url


def queue(settings: Settings, conn: redis.Redis) -> Queue:
    return Queue(settings.queue, connection=conn, serializer=JSONSerializer,
                 default_timeout=settings.job_timeout)


def submit(settings: Settings, conn: redis.Redis, uploads: list[Upload], *, bundle: bool,
           store: Store | None = None, callback_url: str | None = None, applicant: str | None = None) -> list[str]:
    """One job for the whole bundle, or one job per document. Returns the job ids.

    Submission is idempotent: the same files (content and name, in order) with the same options and engine
    version get the same job id, and a job that is queued, running or finished (in Redis or, with `store`, in
    the store) is not enqueued again. A failed one is run again. With `callback_url`, the outcome of each job is
    POSTed there (worker/callback.py). `applicant` names the applicant for reuse across applicants (worker/reuse.py)."""
    groups = [uploads] if bundle else [[u] for u in uploads]
    q = queue(settings, conn)
    ids = []
    for group in groups:
        job_id = _job_id(settings, group, bundle, callback_url, applicant)
        ids.append(job_id)
        if store is not None and store.has_result(job_id):
            continue
        status = conn.hget(Job.key_for(job_id), "status")  # the job's state alone, not the whole job
        if status is not None and status.decode() != JobStatus.FAILED:
            continue
        kwargs = {"refs": [u.ref() for u in group], "bundle": bundle}
        if callback_url:
            kwargs["callback_url"] = callback_url
        if applicant:
            kwargs["applicant"] = applicant
        if store is not None:
            store.put_pending(job_id, {"kwargs": kwargs,
                                       "accepted_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        _enqueue(settings, q, job_id, kwargs)
    return ids


def _enqueue(settings: Settings, q: Queue, job_id: str, kwargs: dict) -> None:
    names = ", ".join(ref["name"] for ref in kwargs["refs"])
    retry = Retry(max=settings.retries, interval=list(settings.retry_intervals)) if settings.retries else None
    # RQ's own pipeline would take two round trips (the queue's name in the set of queues, then the job); given one,
    # it queues both in it, sent as one MULTI/EXEC.
    with q.connection.pipeline() as pipe:
        q.enqueue_call(JOB_FUNCTION, kwargs=kwargs, job_id=job_id, timeout=settings.job_timeout,
                       result_ttl=settings.result_ttl, failure_ttl=settings.result_ttl,
                       description=f"verify {names}"[:200], retry=retry, on_failure=Callback(FAILURE_CALLBACK),
                       pipeline=pipe)
        pipe.execute()


def reconcile(settings: Settings, conn: redis.Redis, store: Store) -> list[str]:
    """Enqueue again each accepted submission whose RQ job is gone (Redis restarted without its data, or was
    flushed) and that has been waiting longer than `reconcile_after` seconds. Returns those job ids."""
    q = queue(settings, conn)
    now = datetime.now(timezone.utc)
    again = []
    for job_id, submission in store.pending():
        waited = (now - datetime.fromisoformat(submission["accepted_at"])).total_seconds()
        if waited < settings.reconcile_after or fetch(conn, job_id) is not None:
            continue
        _enqueue(settings, q, job_id, submission["kwargs"])
        again.append(job_id)
    return again


def _job_id(settings: Settings, group: list[Upload], bundle: bool, callback_url: str | None,
            applicant: str | None = None) -> str:
    """A job id (32 hex digits, like a random one) from everything the result depends on."""
    key = {"engine": engine_version(), "bundle": bundle, "files": [u.ref() for u in group],
           "ocr": settings.ocr_engine, "mask": settings.mask, "limits": repr(settings.limits),
           "policy": repr(settings.policy), "rules": repr(settings.bundle), "callback": callback_url}
    if applicant:  # only when given, so jobs without one keep the ids they had
        key["applicant"] = applicant
    key = json.dumps(key, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def fetch(conn: redis.Redis, job_id: str) -> Job | None:
    try:
        return Job.fetch(job_id, connection=conn, serializer=JSONSerializer)
    except NoSuchJobError:
        return None


def state(settings: Settings, store: Store, job_id: str) -> dict:
    """Job state from Redis when reachable, and from the store, which outlives Redis's records."""
    out: dict = {"job_id": job_id}
    try:
        job = fetch(connect(settings), job_id)
    except RedisUnavailable as exc:
        job, out["redis"] = None, str(exc)
    if job is not None:
        out["status"] = job.get_status(refresh=False).value
        out["meta"] = job.meta
    failure = store.get_failure(job_id)
    if store.has_result(job_id):
        out["status"] = "finished"
    elif failure is not None:
        out["status"], out["failure"] = "failed", failure
    elif "status" not in out and store.get_pending(job_id) is not None:
        out["status"] = "queued"  # accepted, and its RQ job lost: the reconciler enqueues it again
    out.setdefault("status", "unknown")
    return out
