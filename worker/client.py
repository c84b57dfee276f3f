"""Submit documents and read results from Python, for services that share docverify's Redis and store.

    from worker import client
    job_id = client.submit(["statement.pdf", "proof.pdf"], bundle=True)
    client.status(job_id)                   # {"status": "started", "meta": {"stage": "checking", ...}, ...}
    client.result(job_id, timeout=120)      # the result JSON (schema docverify.result/1)

The HTTP API (worker/api.py) submits through `submit_files` too, so both paths store and enqueue alike.
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from worker import callback, config
from worker import queue as jobqueue
from worker.store import Store

TERMINAL = ("finished", "failed", "stopped", "canceled")


class JobFailed(Exception):
    """The job ended without a result; the message is the recorded reason."""


def submit(paths: Sequence[str | Path], bundle: bool = False, settings: config.Settings | None = None,
           callback_url: str | None = None, applicant: str | None = None) -> str:
    """Store the files and queue one job: one document, or several as one applicant's bundle. With
    `callback_url`, the job's outcome is POSTed there, signed with the configured callback secret. `applicant`
    (your id for the person) decides what counts as reuse across applicants; default: the bundle's ID number."""
    return submit_files([(str(p), Path(p).read_bytes()) for p in paths], bundle=bundle, settings=settings,
                        callback_url=callback_url, applicant=applicant)


def submit_files(files: Sequence[tuple[str, bytes]], bundle: bool = False,
                 settings: config.Settings | None = None, callback_url: str | None = None,
                 applicant: str | None = None) -> str:
    """Like `submit`, with (name, bytes) pairs. Redis is checked first, so an outage stores nothing."""
    if not files:
        raise ValueError("no files to submit")
    if len(files) > 1 and not bundle:
        raise ValueError("several files are one job only as a bundle; submit documents one by one otherwise")
    settings = settings or config.load()
    if callback_url:
        callback.check_url(callback_url)
        if not settings.callback_secret:
            raise callback.BadCallback("callbacks are signed: set DOCVERIFY_CALLBACK_SECRET first")
    conn = jobqueue.connect(settings)
    store = Store(settings.data_dir)
    uploads = [store.put_upload(data, name) for name, data in files]
    (job_id,) = jobqueue.submit(settings, conn, uploads, bundle=bundle, store=store, callback_url=callback_url,
                                applicant=applicant)
    return job_id


def status(job_id: str, settings: config.Settings | None = None) -> dict:
    """{"job_id", "status": queued|started|finished|failed|…|unknown, "meta": progress, "failure": reason}."""
    settings = settings or config.load()
    return jobqueue.state(settings, Store(settings.data_dir), job_id)


def result(job_id: str, timeout: float = 0, settings: config.Settings | None = None) -> dict:
    """The stored result, waiting up to `timeout` seconds for the job to end.

    Raises JobFailed when the job ended without a result, TimeoutError when it has not ended in time.
    """
    settings = settings or config.load()
    store = Store(settings.data_dir)
    deadline = time.monotonic() + timeout
    while True:
        state = jobqueue.state(settings, store, job_id)
        if state["status"] == "finished" and (stored := store.get_result(job_id)) is not None:
            return stored
        if state["status"] in TERMINAL:
            raise JobFailed(state.get("failure", {}).get("reason", f"job {job_id} {state['status']}"))
        if time.monotonic() >= deadline:
            raise TimeoutError(f"job {job_id} is {state['status']} after {timeout} s")
        time.sleep(0.2)
