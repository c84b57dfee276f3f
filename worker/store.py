"""Content-addressed storage for uploads, submissions and results, on storage that several hosts may share.

Keys (under the data directory by default):
    uploads/ab/<sha256>/content      the bytes, stored once however often they are uploaded
    uploads/ab/<sha256>/meta.json    first name, size, detected type, first upload time
    pending/<job_id>.json            a submission accepted and not yet ended: what to enqueue again if its
                                     RQ job is lost (see worker/queue.py reconcile)
    results/<job_id>.json            the result contract JSON
    failures/<job_id>.json           why a job failed, when it did
    fingerprints/<job_id>.json       the fingerprints of the job's documents (worker/reuse.py rebuilds its index
                                     from these)

`Store` knows these keys; where the bytes live is a `Blobs` backend. `Directory`, the default, writes each
file to a temporary name and renames it into place, so a reader (or a crash) never sees half a file; an
S3-compatible object store, whose PUT is atomic too, is another implementation of the same five methods, and
nothing outside this module changes. The methods of Store are the whole interface the rest of worker/ uses.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

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


class Blobs(Protocol):
    """Where the store's bytes live. Keys are relative paths made of [A-Za-z0-9_.-] and '/'."""

    def put(self, key: str, data: bytes, durable: bool = True) -> None:
        """Write atomically: a reader sees the old value or the new one, never a part. `durable` records are on
        disk before this returns; the others (records the store can do without) may be lost to a power cut."""

    def get(self, key: str) -> bytes:
        """The bytes, or FileNotFoundError."""

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove the key; no error if it is already gone."""

    def keys(self, prefix: str) -> Iterator[str]:
        """Every key under the folder `prefix` (no trailing slash), in no particular order."""


class Directory:
    """Blobs as files under one directory, local or on shared storage (NFS, CephFS, EFS)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def put(self, key: str, data: bytes, durable: bool = True) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, data, sync=durable)

    def get(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def exists(self, key: str) -> bool:
        return (self.root / key).exists()

    def delete(self, key: str) -> None:
        (self.root / key).unlink(missing_ok=True)

    def keys(self, prefix: str) -> Iterator[str]:
        folder = self.root / prefix
        if folder.is_dir():
            for path in folder.rglob("*"):
                if path.is_file() and not path.name.startswith("."):  # temporary files of atomic_write
                    yield path.relative_to(self.root).as_posix()


class Store:
    def __init__(self, location: Path | str | Blobs):
        self.blobs: Blobs = Directory(location) if isinstance(location, (str, Path)) else location

    # uploads
    def put_upload(self, data: bytes, name: str) -> Upload:
        sha = hashlib.sha256(data).hexdigest()
        folder = self._upload_key(sha)
        name = safe_name(name)
        if not self.blobs.exists(f"{folder}/content"):
            self.blobs.put(f"{folder}/content", data)
            meta = {"sha256": sha, "name": name, "size": len(data), "type": sniff(data),
                    "uploaded_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            # Informational (the job and its result carry the name): not worth a second flush to disk per upload.
            self.blobs.put(f"{folder}/meta.json", json.dumps(meta, ensure_ascii=False, indent=1).encode(),
                           durable=False)
        return Upload(sha, name, len(data))

    def read_upload(self, sha256: str) -> bytes:
        return self.blobs.get(f"{self._upload_key(sha256)}/content")

    def upload_if_kept(self, sha256: str) -> bytes | None:
        """An upload's bytes, or None once the store no longer has them: a report then shows no pages."""
        try:
            return self.read_upload(sha256)
        except FileNotFoundError:
            return None

    def upload_meta(self, sha256: str) -> dict:
        return json.loads(self.blobs.get(f"{self._upload_key(sha256)}/meta.json"))

    def upload_count(self) -> int:
        return sum(1 for key in self.blobs.keys("uploads") if key.endswith("/content"))

    @staticmethod
    def _upload_key(sha256: str) -> str:
        if not re.fullmatch(r"[0-9a-f]{64}", sha256):
            raise ValueError(f"not a sha256: {sha256!r}")
        return f"uploads/{sha256[:2]}/{sha256}"

    # submissions accepted and not yet ended
    def put_pending(self, job_id: str, submission: dict) -> None:
        """Accept a submission; one that failed before and is submitted again starts afresh."""
        self._put_json("pending", job_id, submission)
        self.blobs.delete(self._job_key("failures", job_id))

    def get_pending(self, job_id: str) -> dict | None:
        return self._get_json("pending", job_id)

    def pending(self) -> Iterator[tuple[str, dict]]:
        """(job id, submission) of every accepted submission without a result or a final failure."""
        for key in self.blobs.keys("pending"):
            job_id = key.rsplit("/", 1)[1].removesuffix(".json")
            submission = self.get_pending(job_id)
            # Gone: ended while we listed. Beside a result: its horse died between storing it and striking this.
            if submission is not None and not self.has_result(job_id):
                yield job_id, submission

    # results and failures; either one ends a submission
    def put_result(self, job_id: str, result: dict) -> None:
        self._put_json("results", job_id, result)
        self.blobs.delete(self._job_key("pending", job_id))

    def get_result(self, job_id: str) -> dict | None:
        return self._get_json("results", job_id)

    def has_result(self, job_id: str) -> bool:
        """Whether the job ended with a result, without reading and parsing it (submission and status ask this)."""
        return self.blobs.exists(self._job_key("results", job_id))

    def put_failure(self, job_id: str, failure: dict) -> None:
        self._put_json("failures", job_id, failure)
        self.blobs.delete(self._job_key("pending", job_id))

    def get_failure(self, job_id: str) -> dict | None:
        return self._get_json("failures", job_id)

    def put_fingerprints(self, job_id: str, entry: dict) -> None:
        """Not flushed to disk before the job goes on (a flush is some 0.4–2 ms of every job): the Redis index holds
        the same, and a power cut within seconds of the job costs at most its entry in a later `reindex`."""
        self._put_json("fingerprints", job_id, entry, durable=False)

    def get_fingerprints(self, job_id: str) -> dict | None:
        """The record, or None when there is none or a power cut left it empty."""
        try:
            return self._get_json("fingerprints", job_id)
        except json.JSONDecodeError:
            return None

    def result_ids(self) -> list[str]:
        return self._ids("results")

    def fingerprint_ids(self) -> list[str]:
        return self._ids("fingerprints")

    def _ids(self, folder: str) -> list[str]:
        return sorted(key.rsplit("/", 1)[1].removesuffix(".json") for key in self.blobs.keys(folder))

    def _put_json(self, folder: str, job_id: str, payload: dict, durable: bool = True) -> None:
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))  # indent= falls back to Python's encoder
        self.blobs.put(self._job_key(folder, job_id), text.encode(), durable)

    def _get_json(self, folder: str, job_id: str) -> dict | None:
        try:
            return json.loads(self.blobs.get(self._job_key(folder, job_id)))
        except FileNotFoundError:
            return None

    @staticmethod
    def _job_key(folder: str, job_id: str) -> str:
        if not _JOB_ID.match(job_id):
            raise ValueError(f"not a job id: {job_id!r}")
        return f"{folder}/{job_id}.json"


def atomic_write(path: Path, data: bytes, sync: bool = True) -> None:
    """Write to a temporary file beside `path`, flush it to disk (if `sync`), then rename over `path`."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if sync:
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
