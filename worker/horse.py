"""A work horse that runs several jobs, one at a time, before it makes way for a fresh one.

RQ forks a horse for every job and lets it exit after it. The fork keeps what docverify needs of it: a crash of
PDFium or an image decoder on a hostile file kills the horse, not the worker, and the memory limit holds per horse.
What the fork costs is paid by every job: the fork and the wait for the exit, and above all the copy-on-write faults
of a process that writes to every page of the parent's heap it touches (7,400–11,300 per text-PDF job, counted).
A horse that stays for the next job pays them once.

It stays only while nothing went wrong: a horse whose job failed (an exception, the timeout, the memory limit)
exits after reporting it, as does one that has run `jobs` jobs or whose peak memory passed half its limit, and one
that dies is replaced at the next job. `jobs=1` is RQ's model, a fresh horse per job.

The worker talks to its horse over two pipes. It sends a job as one JSON line (job id, queue, and the id and start
of the execution the worker recorded for it), or `stop`; the horse answers one byte when the job has ended, `d`
(ready for another) or `x` (exiting), and the end of the pipe tells the worker that the horse died. The worker's
end of its own pipe is no sign of its death: a process forked from the worker after the horse (RQ's scheduler)
holds it too. An idle horse therefore also watches its parent.
"""
from __future__ import annotations

import gc
import json
import os
import random
import resource
import select
import signal
import time
from datetime import datetime, timezone

from rq.executions import Execution
from rq.job import Job
from rq.worker.base import logger

READY, EXITING, DIED = "d", "x", ""
STOP = b"stop\n"
ORPHAN_CHECK = 5  # seconds: an idle horse looks this often whether its worker is gone


class Horse:
    """The worker's side: the horse's pid and the two pipe ends."""

    def __init__(self, pid: int, inbox: int, answers: int):
        self.pid, self.inbox, self.answers = pid, inbox, answers

    @classmethod
    def fork(cls, worker, jobs: int, memory_limit: int) -> "Horse":
        inbox_r, inbox_w = os.pipe()
        answers_r, answers_w = os.pipe()
        parent = os.getpid()
        # The worker's objects (modules, the checks' caches) are the horse's too: frozen, the horse's collections
        # skip them rather than walk them every full pass and copy every page their headers sit on. The worker
        # thaws its own at once, or every fork would leave what it froze beyond collection for good.
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            os.close(inbox_w)
            os.close(answers_r)
            try:
                _serve(worker, inbox_r, answers_w, parent, jobs, memory_limit)
            finally:
                os._exit(1)
        gc.unfreeze()
        os.close(inbox_r)
        os.close(answers_w)
        return cls(pid, inbox_w, answers_r)

    def send(self, job_id: str, queue: str, execution: Execution) -> bool:
        """Hand the horse a job; False if it is gone."""
        line = [job_id, queue, execution.id, execution.created_at.timestamp()]
        try:
            os.write(self.inbox, json.dumps(line).encode() + b"\n")
            return True
        except BrokenPipeError:
            return False

    def answer(self, timeout: float) -> str | None:
        """READY, EXITING or DIED once the job has ended; None if it still runs after `timeout` seconds."""
        if not select.select([self.answers], [], [], timeout)[0]:
            return None
        return os.read(self.answers, 1).decode()

    def close(self) -> None:
        """Tell the horse to go (an idle one exits at once, a dead one is past telling) and close the pipes."""
        try:
            os.write(self.inbox, STOP)
        except BrokenPipeError:
            pass
        os.close(self.inbox)
        os.close(self.answers)

    def reap(self, patience: float | None = None):
        """Wait for the horse to exit, killing it after `patience` seconds if given: (pid, status, rusage)."""
        deadline = None if patience is None else time.monotonic() + patience
        try:
            while deadline is not None and time.monotonic() < deadline:
                pid, status, rusage = os.wait4(self.pid, os.WNOHANG)
                if pid:
                    return pid, status, rusage
                time.sleep(0.05)
            if deadline is not None:
                os.killpg(self.pid, signal.SIGKILL)
            return os.wait4(self.pid, 0)
        except (ChildProcessError, ProcessLookupError):
            return self.pid, 0, None  # reaped already


def _serve(worker, inbox: int, answers: int, parent: int, jobs: int, memory_limit: int) -> None:
    """The horse's life: RQ's set-up of a horse, then jobs from the pipe until it should make way."""
    os.setpgrp()  # as RQ's horse: the worker kills the horse's group
    random.seed()
    worker.setup_work_horse_signals()
    worker._is_horse = True
    worker.log = logger
    if memory_limit:
        # The horse's own address space: a job over it gets MemoryError, the worker lives on.
        resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))
    for done in range(1, jobs + 1):
        message = _next(inbox, parent)
        if message is None:
            os._exit(0)
        job_id, queue_name, execution_id, started = json.loads(message)
        os.environ["RQ_JOB_ID"] = job_id
        job = Job.fetch(job_id, connection=worker.connection, serializer=worker.serializer)
        queue = worker.queue_class(queue_name, connection=worker.connection, serializer=worker.serializer)
        # The worker's record of the execution, as RQ's horse inherits it, without reading it back from Redis.
        worker.execution = Execution(execution_id, job_id, worker.connection, worker_name=worker.name)
        worker.execution.created_at = worker.execution.last_heartbeat = datetime.fromtimestamp(started, timezone.utc)
        try:
            ok = worker.perform_job(job, queue)
        except BaseException:  # RQ's own bookkeeping failed (Redis gone): the worker handles it as a death
            os._exit(1)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        stay = ok and done < jobs and not (memory_limit and peak > memory_limit / 2)
        os.write(answers, (READY if stay else EXITING).encode())
        if not stay:
            os._exit(0)


def _next(inbox: int, parent: int) -> bytes | None:
    """The next job's line, or None when the worker closed the pipe or died (a process forked from the worker
    later, such as RQ's scheduler, may hold the pipe open after the worker is gone: hence the parent check)."""
    while True:
        ready = select.select([inbox], [], [], ORPHAN_CHECK)[0]
        if os.getppid() != parent:
            return None
        if ready:
            message = os.read(inbox, 4096)
            return None if message in (b"", STOP) else message
