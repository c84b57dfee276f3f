"""The functions RQ runs inside `docverify worker`. A job carries sha256 references; bytes come from the store."""
from __future__ import annotations

import functools
from importlib import resources
import traceback as tb
from datetime import datetime, timezone

from rq import get_current_job

from checks.catalog import input_error
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
    files = []
    for ref in refs:
        try:
            files.append((ref["name"], store.read_upload(ref["sha256"])))
        except FileNotFoundError:
            files.append((ref["name"], input_error("INPUT_NOT_FOUND", reason="the upload is missing from the store")))

    def progress(i: int, n: int, name: str) -> None:
        job.meta.update({"stage": "checking", "document": i + 1, "documents": n})
        job.save_meta()

    result = verify(files, bundle=bundle, job_id=job.id, limits=settings.limits, policy=settings.policy,
                    rules=settings.bundle, masked=settings.mask, ocr_engine=settings.ocr_engine, on_document=progress,
                    reuse=reuse.Index(job.connection, store), applicant=applicant)
    store.put_result(job.id, result)
    job.meta.update({"stage": "done"})
    if callback_url:
        job.meta["callback"] = callback.deliver(callback_url, _summary(job.id, result), settings.callback_secret)
    job.save_meta()
    return {"verdict": overall(result), "documents": len(result["documents"]), "errors": len(result["errors"])}


def _summary(job_id: str, result: dict) -> dict:
    """What a callback says of a finished job: verdicts and codes, masked; the rest is one GET away."""
    return mask({"job_id": job_id, "status": "finished", "verdict": overall(result),
                 "documents": [{"file": d["file"], "verdict": d["verdict"], "codes": [f["code"] for f in d["findings"]]}
                               for d in result["documents"]],
                 "bundle": result["bundle"]["verdict"] if "bundle" in result else None,
                 "errors": [{"file": e["file"], "code": e["code"]} for e in result["errors"]]})


def warm_up() -> None:
    """Check a small statement once in the worker's parent process, before any job.

    pdfminer, pikepdf and friends fill caches (CMaps, font tables, lazily imported modules) on first use; a
    work horse is forked per job and throws its caches away, so without this every job pays them again
    (about 80 ms per job, measured with scripts/bench.py).
    """
    sample = resources.files("worker.data").joinpath("warmup.pdf").read_bytes()
    verify([("warmup.pdf", sample)], bundle=False, masked=False)


def record_failure(job, connection, exc_type, exc_value, traceback) -> None:
    """RQ's on_failure callback: the store keeps why a job failed, beside the results; a submitter who gave a
    callback URL is told."""
    settings = _settings()
    failure = {
        "job_id": job.id,
        "reason": f"{exc_type.__name__}: {exc_value}",
        "failed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "traceback": "".join(tb.format_tb(traceback))[-4000:] if traceback else "",
    }
    url = (job.kwargs or {}).get("callback_url")
    if url:
        failure["callback"] = callback.deliver(url, mask({"job_id": job.id, "status": "failed",
                                                          "reason": failure["reason"]}), settings.callback_secret)
    Store(settings.data_dir).put_failure(job.id, failure)
