"""Assemble the result contract (schema docverify.result/1) from checked documents."""
from __future__ import annotations

import functools
import uuid
from datetime import datetime, timezone
from importlib import metadata

from checks import fingerprint, pipeline
from checks.ingest import Limits, open_document
from checks.model import DocumentResult, InputError
from checks.ocr import DEFAULT_ENGINE
from checks.bundle import Rules
from checks.verdict import Policy, worst
from worker.privacy import mask
from worker.store import safe_name

SCHEMA = "docverify.result/1"


@functools.cache  # the version of the code this process runs; reading it parses the package's metadata, 2 ms
def engine_version() -> str:
    try:
        return metadata.version("docverify")
    except metadata.PackageNotFoundError:
        return "unknown"


def new_job_id() -> str:
    return uuid.uuid4().hex


def verify(files: list[tuple[str, bytes | InputError]], *, bundle: bool, job_id: str | None = None,
           limits: Limits = Limits(), policy: Policy = Policy(), rules: Rules = Rules(), masked: bool = True,
           ocr_engine: str = DEFAULT_ENGINE, ocr_threads: int = 1, on_document=None, reuse=None,
           applicant: str | None = None) -> dict:
    """Check each (name, bytes) and build the result. Unreadable files become `errors`, the rest go on.

    A file that could not even be read is passed as (name, InputError) so it is reported, not lost.

    `ocr_threads` is how many cores the OCR of one page may use.
    `masked` stars personal numbers (ID, account, card, phone) everywhere in the result, the default.
    `on_document(i, n, name)` is called before each file, for progress reporting.
    `reuse` (a worker.reuse.Index) looks every document up among earlier applicants' and indexes it; `applicant`
    names the applicant for that (default: the ID number the documents show).
    """
    job_id = job_id or new_job_id()
    results: list[DocumentResult] = []
    prints: list[fingerprint.Fingerprints | Exception] = []
    errors: list[dict] = []
    for i, (name, data) in enumerate(files):
        name = safe_name(name)  # a job enqueued with plain RQ may carry any name; it is a label, never a path
        if on_document:
            on_document(i, len(files), name)
        try:
            if isinstance(data, InputError):
                raise data
            doc = open_document(name, data, limits)
        except InputError as exc:
            errors.append({"file": name, "code": exc.code, "message": exc.message})
            continue
        try:
            results.append(pipeline.verify_document(doc, policy, ocr_engine, ocr_threads))
            if reuse is not None:
                try:
                    prints.append(fingerprint.compute(doc))
                except Exception as exc:  # the document keeps its findings; the reuse check says it could not run
                    prints.append(exc)
        finally:
            doc.close()
    if reuse is not None:
        reuse.check(job_id, applicant, results, prints, policy)
    result = {
        "schema": SCHEMA,
        "job_id": job_id,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "engine_version": engine_version(),
        "documents": [r.to_dict() for r in results],
    }
    if bundle:
        result["bundle"] = pipeline.verify_bundle(results, unreadable=len(errors), policy=policy, rules=rules)
    result["errors"] = errors
    return mask(result) if masked else result


def overall(result: dict) -> str:
    """The result's worst verdict across documents and bundle."""
    verdicts = [d["verdict"] for d in result["documents"]]
    if "bundle" in result:
        verdicts.append(result["bundle"]["verdict"])
    return worst(verdicts)


def exit_status(results: list[dict]) -> int:
    """0 all pass, 1 something flagged, 2 an input error (as linters do)."""
    if any(r["errors"] for r in results):
        return 2
    return 1 if any(overall(r) != "pass" for r in results) else 0
