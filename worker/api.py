"""The HTTP job service (`docverify serve`): submit documents, follow the job, fetch the result and the report.

Every route needs a key from DOCVERIFY_API_KEYS (or `api_keys` in the config file) in the X-API-Key header.
The key is checked before the request body is read, so a request without one stores and enqueues nothing.
"""
from __future__ import annotations

import hmac

from fastapi import APIRouter, FastAPI, HTTPException, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.security import APIKeyHeader

from worker import client, config, report
from worker import queue as jobqueue
from worker.privacy import mask
from worker.result import engine_version
from worker.store import Store

_MULTIPART = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {
        "file": {"type": "array", "items": {"type": "string", "format": "binary"},
                 "description": "One document, or several with bundle=true."},
        "bundle": {"type": "boolean", "default": False,
                   "description": "The files are one applicant's application: check them together."},
        "callback_url": {"type": "string", "format": "uri",
                         "description": "POSTed the job's outcome when it ends, signed in X-Docverify-Signature "
                                        "(HMAC-SHA256 of the body under DOCVERIFY_CALLBACK_SECRET)."},
        "applicant": {"type": "string",
                      "description": "Your id for the applicant: documents of another applicant that reuse these "
                                     "files' material are flagged (REUSE_ codes). Default: the bundle's ID number."},
    }}}}}}


def create_app(settings: config.Settings | None = None) -> FastAPI:
    settings = settings or config.load()
    store = Store(settings.data_dir)
    api_key = APIKeyHeader(name="X-API-Key", auto_error=False)

    def require_key(key: str | None = Security(api_key)) -> None:
        # compare_digest against every key, so the answer time does not tell how much of a key was right
        if not key or not any([hmac.compare_digest(key.encode(), k.encode()) for k in settings.api_keys]):
            raise HTTPException(401, "a valid X-API-Key header is required")

    router = APIRouter(prefix="/v1", dependencies=[Security(require_key)])

    # The body is taken from the raw request rather than declared as File parameters: FastAPI reads declared
    # bodies before it runs dependencies, and the key must be checked before anything is read.
    @router.post("/jobs", status_code=202, openapi_extra=_MULTIPART,
                 summary="Submit one document, or several as one applicant's bundle")
    async def submit(request: Request) -> dict:
        files, bundle, callback_url, applicant = await _read_form(request, settings.max_request_bytes)
        try:
            job_id = await run_in_threadpool(client.submit_files, files, bundle, settings, callback_url, applicant)
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None
        except jobqueue.RedisUnavailable as exc:
            raise HTTPException(503, str(exc)) from None
        return {"job_id": job_id, "status": "queued", "links": _links(job_id)}

    @router.get("/jobs/{job_id}", summary="The job's state and progress (stage, document i of n)")
    def status(job_id: str) -> dict:
        return mask(_known_state(job_id))

    @router.get("/jobs/{job_id}/result", summary="The result JSON (schema docverify.result/1)")
    def result(job_id: str) -> dict:
        return _finished(job_id)

    @router.get("/jobs/{job_id}/report", response_class=HTMLResponse, summary="The HTML report for reviewers")
    def report_html(job_id: str) -> str:
        return report.render(_finished(job_id), store.upload_if_kept, masked=settings.mask)

    def _known_state(job_id: str) -> dict:
        try:
            state = jobqueue.state(settings, store, job_id)
        except ValueError:  # not even shaped like a job id
            state = {"status": "unknown"}
        if state["status"] == "unknown":
            raise HTTPException(404, f"no job {job_id}")
        return state

    def _finished(job_id: str) -> dict:
        state = _known_state(job_id)
        stored = store.get_result(job_id) if state["status"] == "finished" else None
        if stored is None:
            reason = state.get("failure", {}).get("reason")
            raise HTTPException(409, mask(f"job {job_id} is {state['status']}" + (f": {reason}" if reason else "")))
        return stored

    app = FastAPI(title="docverify", version=engine_version(),
                  description="Verify the authenticity of bank statements, employment proofs and "
                              "social-insurance records. Results follow schema docverify.result/1.")
    app.include_router(router)
    return app


async def _read_form(request: Request, limit: int) -> tuple[list[tuple[str, bytes]], bool, str | None, str | None]:
    """The uploaded files, the bundle flag, the callback URL and the applicant id, refusing with 413 as soon as the body exceeds
    `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"the request exceeds {limit} bytes")
    received = 0

    async def counted():
        # Content-Length may be absent (chunked) or wrong, so count what actually arrives.
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise HTTPException(413, f"the request exceeds {limit} bytes")
        return message

    async with Request(request.scope, counted).form() as form:
        uploads = [f for f in form.getlist("file") if not isinstance(f, str)]
        files = [(f.filename or "upload", await f.read()) for f in uploads]
        bundle = str(form.get("bundle", "false")).lower() == "true"
        callback_url = str(form.get("callback_url") or "") or None
        applicant = str(form.get("applicant") or "").strip() or None
    if not files:
        raise HTTPException(422, "send the documents as one or more multipart fields named 'file'")
    return files, bundle, callback_url, applicant


def _links(job_id: str) -> dict:
    return {"status": f"/v1/jobs/{job_id}", "result": f"/v1/jobs/{job_id}/result",
            "report": f"/v1/jobs/{job_id}/report"}
