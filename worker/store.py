"""Content-addressed storage for uploads and results, on a directory that several hosts may share.

Layout under the data directory:
    uploads/ab/<sha256>/content      the bytes, stored once however often they are uploaded
    uploads/ab/<sha256>/meta.json    first name, size, detected type, first upload time
    results/<job_id>.json            the result contract JSON
    failures/<job_id>.json           why a job failed, when it did
    fingerprints/<job_id>.json       the fingerprints of the job's documents (worker/reuse.py rebuilds its index
                                     from these)

Every file is written to a temporary name in its directory and renamed into place, so a reader (or a
crash) never sees half a file. The methods of Store are the whole interface the rest of worker/ uses.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from checks.ingest import sniff

_JOB_ID = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")


@dataclass(frozen=True)
class Upload:
    sha256: str
    name: str
    size: int

    def ref(self) -> dict:
        """What a job carries: a reference, never the bytes."""
        return {"sha256": self.sha256, "name": self.name}


class Store:
    def __init__(self, root: Path | str):
        self.root = Path(root)

    # uploads
    def put_upload(self, data: bytes, name: str) -> Upload:
        sha = hashlib.sha256(data).hexdigest()
        folder = self._upload_dir(sha)
        name = safe_name(name)
        if not (folder / "content").exists():
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write(folder / "content", data)
            meta = {"sha256": sha, "name": name, "size": len(data), "type": sniff(data),
                    "uploaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            atomic_write(folder / "meta.json", json.dumps(meta, ensure_ascii=False, indent=1).encode())
        return Upload(sha, name, len(data))

    def read_upload(self, sha256: str) -> bytes:
        return (self._upload_dir(sha256) / "content").read_bytes()

    def upload_if_kept(self, sha256: str) -> bytes | None:
        """An upload's bytes, or None once the store no longer has them: a report then shows no pages."""
        try:
            return self.read_upload(sha256)
        except FileNotFoundError:
            return None

    def upload_meta(self, sha256: str) -> dict:
        return json.loads((self._upload_dir(sha256) / "meta.json").read_text(encoding="utf-8"))

    def _upload_dir(self, sha256: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return self.root / "uploads" / sha256[:2] / sha256

    # results and failures
    def put_result(self, job_id: str, result: dict) -> Path:
        return self._put_json("results", job_id, result)

    def get_result(self, job_id: str) -> dict | None:
        return self._get_json("results", job_id)

    def put_failure(self, job_id: str, failure: dict) -> Path:
        return self._put_json("failures", job_id, failure)

    def get_failure(self, job_id: str) -> dict | None:
        return self._get_json("failures", job_id)

    def put_fingerprints(self, job_id: str, entry: dict) -> Path:
        return self._put_json("fingerprints", job_id, entry)

    def get_fingerprints(self, job_id: str) -> dict | None:
        return self._get_json("fingerprints", job_id)

    def result_ids(self) -> list[str]:
        return self._ids("results")

    def fingerprint_ids(self) -> list[str]:
        return self._ids("fingerprints")

    def _ids(self, folder: str) -> list[str]:
        path = self.root / folder
        return sorted(p.stem for p in path.glob("*.json")) if path.exists() else []

    def _put_json(self, folder: str, job_id: str, payload: dict) -> Path:
        path = self._job_path(folder, job_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(payload, ensure_ascii=False, indent=1).encode())
        return path

    def _get_json(self, folder: str, job_id: str) -> dict | None:
        path = self._job_path(folder, job_id)
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None

    def _job_path(self, folder: str, job_id: str) -> Path:
        if not _JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return self.root / folder / f"{job_id}.json"


def atomic_write(path: Path, data: bytes) -> None:
    """Write to a temporary file beside `path`, flush it to disk, then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def safe_name(name: str) -> str:
    """The file's base name without directories or control characters: it is a label, never a path."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable()).strip()
    return base[:255] or "upload"
