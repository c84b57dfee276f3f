"""The functions RQ runs inside `docverify worker`. A job carries sha256 references; bytes come from the store."""
from __future__ import annotations

import functools
import os
import signal
import socket
import time
import traceback as tb
from datetime import datetime, timezone
from importlib import resources

import redis
from rq import get_current_job, worker_registration
from rq.exceptions import AbandonedJobError

from checks import ocr
from checks.catalog import input_error
from checks.model import InputError
from worker import callback, config, reuse
from worker.privacy import mask
from worker.result import overall, verify
from worker.store import Store


@functools.cache
def _settings() -> config.Settings:
    return config.load()


def verify_job(refs: list[dict], bundle: bool, callback_url: str | None = None, applicant: str | None = None) -> dict:
    settings = _settings()
    store = Store(settings.data_dir)
    job = get_current_job()
    # Where the job runs, for operators and for the fault tests that kill it there; saved with the first document's
    # progress, a moment later, rather than in a round trip of its own (or at once if the job fails before).
    job.meta.update({"host": socket.gethostname(), "pid": os.getpid()})
    try:
        files = [_upload(store, ref) for ref in refs]
    except BaseException:
        job.save_meta()
        raise

    def progress(i: int, n: int, name: str) -> None:
        job.meta.update({"stage": "checking", "document": i + 1, "documents": n})
        job.save_meta()

    result = verify(files, bundle=bundle, job_id=job.id, limits=settings.limits, policy=settings.policy,
                    rules=settings.bundle, masked=settings.mask, ocr_engine=settings.ocr_engine,
                    ocr_threads=config.ocr_threads(settings, _workers_here_lately(job.connection)),
                    on_document=progress, reuse=reuse.Index(job.connection, store), applicant=applicant)
    store.put_result(job.id, result)
    job.meta.update({"stage": "done"})
    if callback_url:
        job.meta["callback"] = callback.deliver(callback_url, _summary(job.id, result), settings.callback_secret)
    job.save_meta()
    return {"verdict": overall(result), "documents": len(result["documents"]), "errors": len(result["errors"])}


def _upload(store: Store, ref: dict) -> tuple[str, bytes | InputError]:
    try:
        return ref["name"], store.read_upload(ref["sha256"])
    except FileNotFoundError:
        return ref["name"], input_error("INPUT_NOT_FOUND", reason="the upload is missing from the store")


WORKERS_RECOUNT = 30  # seconds
_counted = {"at": float("-inf"), "workers": 1}  # this process's last count of `_workers_here`


def _workers_here_lately(connection) -> int:
    """`_workers_here`, counted again once the last count is `WORKERS_RECOUNT` seconds old: workers come and go in
    minutes, jobs every few milliseconds, and a count costs a job two round trips."""
    if time.monotonic() - _counted["at"] > WORKERS_RECOUNT:
        _counted.update(at=time.monotonic(), workers=_workers_here(connection))
    return _counted["workers"]


def _workers_here(connection) -> int:
    """How many workers are registered from this host, this job's included: they may all be reading pages.
    In two round trips: RQ's Worker.all loads each worker of every host in turn."""
    pipe = connection.pipeline(transaction=False)
    for key in worker_registration.get_keys(connection=connection):
        pipe.hget(key, "hostname")
    here = socket.gethostname().encode()
    return sum(host == here for host in pipe.execute())


def _summary(job_id: str, result: dict) -> dict:
    """What a callback says of a finished job: verdicts and codes, masked; the rest is one GET away."""
    return mask({"job_id": job_id, "status": "finished", "verdict": overall(result),
                 "documents": [{"file": d["file"], "verdict": d["verdict"], "codes": [f["code"] for f in d["findings"]]}
                               for d in result["documents"]],
                 "bundle": result["bundle"]["verdict"] if "bundle" in result else None,
                 "errors": [{"file": e["file"], "code": e["code"]} for e in result["errors"]]})


def warm_up() -> None:
    """Check a small statement once in the worker's parent process, before any job.

    pdfminer, pikepdf and friends fill caches (CMaps, font tables, lazily imported modules) on first use; every
    work horse is forked from this process (worker/horse.py), so without this each fresh horse pays them again
    (about 80 ms, measured with scripts/bench.py). The OCR engine is built here too, but rapidocr loads its
    models on the first read, so a horse loads them when it first reads an image (0.3–0.4 s) and keeps them for
    its later jobs. Loading them here instead was measured and left out: they would add some 210 MB to the
    address space of every work horse, which DOCVERIFY_MEMORY_LIMIT_MB counts, PDF-only horses included; and ONNX
    Runtime's pool threads of a multi-threaded engine would not survive the fork anyway.
    """
    sample = resources.files("worker.data").joinpath("warmup.pdf").read_bytes()
    verify([("warmup.pdf", sample)], bundle=False, masked=False)
    try:
        ocr.engine(_settings().ocr_engine)
    except ocr.EngineUnavailable:
        pass  # each document that needs OCR says so in its result


# Failures that another attempt may not meet: the host, the work horse or the storage gave way, not the input.
# Everything else (a timeout, the memory limit, a bug met by this input) fails the same way every time.
TRANSIENT = (AbandonedJobError, redis.ConnectionError, redis.TimeoutError, OSError)


def record_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's on_failure callback, called on every failed attempt (and by RQ's cleanup for an abandoned job).

    A transient failure with retries left is only noted: RQ retries the job. Any other failure ends the job
    here: no retry, and the store keeps why, beside the results; a submitter who gave a callback URL is told."""
    if not issubclass(exc_type, TRANSIENT):
        job.retries_left = 0  # RQ reads it right after this callback to decide on a retry
    reason = f"{exc_type.__name__}: {exc_value}"
    if isinstance(exc_value, MemoryError):
        reason = f"MemoryError: the job needed more than the work horse's {_settings().memory_limit_mb} MB"
    _end(job, reason, _trace(traceback))


def _trace(traceback) -> str:
    """A traceback's text; RQ's cleanup of an abandoned job passes the cleaner's own stack instead."""
    if traceback is None:
        return ""
    lines = traceback.format() if isinstance(traceback, tb.StackSummary) else tb.format_tb(traceback)
    return "".join(lines)[-4000:]


def horse_killed(job, pid: int, status: int, rusage) -> None:
    """RQ's handler for a work horse that died without finishing (SIGKILL by an operator or the kernel's OOM
    killer); RQ retries the job afterwards while it has retries left."""
    how = f"signal {signal.Signals(os.WTERMSIG(status)).name}" if os.WIFSIGNALED(status) else f"exit {status >> 8}"
    _end(job, f"the work horse (pid {pid}) died: {how}", "")


def _end(job, reason: str, traceback: str) -> None:
    """Note a failed attempt in the job's meta; when no retry is left, record the final failure, unless the
    attempt had stored its result."""
    job.get_meta(refresh=True)  # the work horse wrote progress there that this process has not seen
    attempts = job.meta.get("failed_attempts", []) + [reason[:300]]
    job.meta["failed_attempts"] = attempts
    job.save_meta()
    if job.retries_left:
        return
    settings = _settings()
    store = Store(settings.data_dir)
    url = (job.kwargs or {}).get("callback_url")
    if store.has_result(job.id):
        # The last attempt died after storing its result (in RQ's bookkeeping, say): the job ended with that
        # result, and its submitter hears of it, perhaps a second time, rather than of a failure.
        if url:
            callback.deliver(url, _summary(job.id, store.get_result(job.id)), settings.callback_secret)
        return
    failure = {
        "job_id": job.id,
        "reason": reason,
        "attempts": len(attempts),
        "failed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "traceback": traceback,
    }
    if url:
        failure["callback"] = callback.deliver(url, mask({"job_id": job.id, "status": "failed",
                                                          "reason": failure["reason"]}), settings.callback_secret)
    store.put_failure(job.id, failure)
