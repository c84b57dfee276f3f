"""Completion callbacks: a job's outcome POSTed to the URL its submitter gave, signed so the receiver can trust it.

The body is JSON; `X-Docverify-Signature: sha256=<hex>` is the HMAC-SHA256 of the exact body bytes under the
shared secret (`DOCVERIFY_CALLBACK_SECRET`). Receivers recompute it and compare in constant time, as `verify` does.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlparse

HEADER = "X-Docverify-Signature"
ATTEMPTS = 4
BACKOFF = 2.0  # seconds before the second attempt, doubling after that
TIMEOUT = 10  # seconds per attempt


class BadCallback(ValueError):
    pass


def check_url(url: str) -> str:
    """The URL if it can be called back, else BadCallback saying why."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise BadCallback(f"callback_url must be an http(s) URL, not {url!r}")
    return url


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(body: bytes, header: str, secret: str) -> bool:
    """What a receiver does with a callback: True when `header` is the signature of `body` under `secret`."""
    return hmac.compare_digest(signature(body, secret), header or "")


def deliver(url: str, payload: dict, secret: str, sleep=time.sleep) -> dict:
    """POST `payload`, retrying on network errors and 5xx answers (a 4xx is the receiver refusing it: no retry).
    Returns how it went, for the job's meta; never raises, since the job's result is already stored."""
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", HEADER: signature(body, secret)})
    error = ""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as answer:
                return {"status": "delivered", "attempts": attempt, "http_status": answer.status}
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if exc.code < 500:
                break
        except (urllib.error.URLError, OSError) as exc:
            error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
        if attempt < ATTEMPTS:
            sleep(BACKOFF * 2 ** (attempt - 1))
    return {"status": "failed", "attempts": attempt, "error": error}
