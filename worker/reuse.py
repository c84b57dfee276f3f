"""Reuse across applicants: the fingerprint index in Redis, the REUSE_ findings, and `docverify similar`.

Every document a job checks leaves its fingerprints (checks/fingerprint.py) in the store
(fingerprints/<job_id>.json, the record the index can be rebuilt from with `docverify reindex`) and in Redis:

    docverify:fp:doc:<job_id>/<n>            the document's record (JSON): job, file, masked applicant, fingerprints
    docverify:fp:sha:<sha256>                ids of the documents with these bytes
    docverify:fp:page:<band>:<bits>          pHash bands of each page (16 samples of 24 of its 256 bits), for
                                             documents without figures of their own (photos, unread images)
    docverify:fp:seal:<band>:<bits>          pHash bands (16 samples of 48 bits) of each seal on a letter
    docverify:fp:content:<band>:<minhash>    MinHash LSH bands of the filled-in tokens (16 bands of 4 rows)
    docverify:fp:rows:<band>:<minhash>       MinHash LSH bands of the transaction rows

A lookup reads only the sets its own bands name, so its cost follows the size of those buckets, not the number of
documents stored; the few candidates are then scored exactly. What must stay small is therefore the buckets, and a
signal whose genuine documents sit close together cannot be indexed:
- pages are indexed only for documents without figures of their own: letters of one template are 4–8 bits apart,
  as close as a rescan (up to 16), so their pages would put every letter of the template in one bucket. A page of a
  document with figures matches only if its figures do too, and those are found through their own bands;
- seals only on letters (employment proofs and other documents): a bank's or a bureau's electronic seal is on all
  its customers' statements and records. A pasted seal stays within 2 bits; 48-bit bands find pairs 6 bits apart
  with probability 0.998 and seals of two companies (~50 bits apart) with 0.0005;
- page bands of 24 bits find pages 16 bits apart with probability 0.98;
- MinHash with 16 bands of 4 rows finds a pair with Jaccard 0.7 with probability 0.99 and one with 0.1 with 0.002;
- templates and layouts are stored, never indexed: an issuer's template is shared by all its customers.

The applicant is the caller's `applicant` id, else the ID number the bundle shows; only a hash (for equality) and the
masked form leave this module. The hash is not a secret (ID numbers can be enumerated): Redis and the store stay as
closed as they are for results. Same applicant, or the same job, is never a finding.
"""
from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass

import redis
from datasketch import MinHash

from checks.catalog import finding
from checks.fingerprint import MIN_FIGURES, SEAL_KINDS, Fingerprints, hamming, jaccard
from checks.model import CheckRun, DocumentResult, Finding
from checks.verdict import Policy, decide, ranked
from worker.privacy import mask_text
from worker.store import Store

PREFIX = "docverify:fp"
HASH_BANDS = 16
_SAMPLES = {kind: [sorted(random.Random(f"docverify-band:{kind}:{i}").sample(range(256), bits))
                   for i in range(HASH_BANDS)] for kind, bits in (("page", 24), ("seal", 48))}
MINHASH_PERM, MINHASH_BANDS = 64, 16
PAGE_BITS = 20  # of 256: a page rendered, recompressed or resized stays within 16, another customer's page 30+
SEAL_BITS = 6  # one impression pasted twice stays within 2, two impressions of one seal differ by 10+
# Co-workers' letters share the employer's credit code and phone, up to half their figures; a swapped name all of
# them. Letters of one template sit within 4–8 bits, so a page match of a document with figures needs as much.
CONTENT_JACCARD = 0.7
ROWS_JACCARD = 0.5
MIN_ROWS = 5  # fewer rows than this say nothing about a person
# Strongest first: a weaker code is dropped when a stronger one already names the same earlier documents.
CODES = ("REUSE_SAME_FILE", "REUSE_TRANSACTIONS", "REUSE_TEMPLATE_FILLED", "REUSE_SAME_PAGE_IMAGE", "REUSE_SEAL")
UNKNOWN = "unknown"


@dataclass(frozen=True)
class Applicant:
    key: str  # hash, for equality; "" when the job named nobody
    masked: str

    @classmethod
    def of(cls, value: str | None) -> "Applicant":
        if not value:
            return cls("", UNKNOWN)
        value = value.strip().upper()
        return cls(hashlib.sha256(f"docverify-applicant:{value}".encode()).hexdigest()[:32], mask_text(value))

    def same(self, other: "Applicant") -> bool:
        return bool(self.key) and self.key == other.key


def applicant_of(results: list[DocumentResult], given: str | None) -> Applicant:
    """The caller's id, else the first ID number any document of the job shows."""
    if given:
        return Applicant.of(given)
    for r in results:
        value = r.extracted.get("fields", {}).get("id_number", {}).get("value")
        if value:
            return Applicant.of(str(value))
    return Applicant.of(None)


def _bands(kind: str, hex_hash: str) -> list[str]:
    bits = f"{int(hex_hash, 16):0256b}"
    return [f"{int(''.join(bits[p] for p in sample), 2):x}" for sample in _SAMPLES[kind]]


_SKETCH = MinHash(num_perm=MINHASH_PERM, seed=1)  # its permutations, drawn once: 0.2 ms a MinHash otherwise


def _minhash_bands(items: list[str]) -> list[str]:
    m = MinHash(num_perm=MINHASH_PERM, seed=1, permutations=_SKETCH.permutations, scheme=_SKETCH.scheme)
    m.update_batch([i.encode() for i in items])
    rows = MINHASH_PERM // MINHASH_BANDS
    values = m.hashvalues
    return [hashlib.sha1(values[i * rows:(i + 1) * rows].tobytes()).hexdigest()[:12] for i in range(MINHASH_BANDS)]


def keys(fp: Fingerprints) -> list[str]:
    """Every index set the document belongs to."""
    out = [f"{PREFIX}:sha:{fp.sha256}"]
    pages = fp.pages if len(fp.content) < MIN_FIGURES else []  # records from before fingerprint.compute dropped them
    seals = fp.seals if fp.kind in SEAL_KINDS else []
    for kind, hashes in (("page", pages), ("seal", seals)):
        out += [f"{PREFIX}:{kind}:{i}:{band}" for h in hashes for i, band in enumerate(_bands(kind, h))]
    for kind, items, least in (("content", fp.content, MIN_FIGURES), ("rows", fp.rows, MIN_ROWS)):
        if len(items) >= least:
            out += [f"{PREFIX}:{kind}:{i}:{band}" for i, band in enumerate(_minhash_bands(items))]
    return list(dict.fromkeys(out))


def scores(a: Fingerprints, b: Fingerprints) -> dict:
    """Every similarity between two documents, 0..1 (pages and seals: 1 − Hamming distance / 256; None when one of
    the two has no such hash: documents with figures keep no page hash, statements no seal hash)."""
    def near(x: list[str], y: list[str]) -> float | None:
        return max((round(1 - hamming(p, q) / (len(p) * 4), 3) for p in x for q in y), default=None)

    return {"file": 1.0 if a.sha256 == b.sha256 else 0.0, "page": near(a.pages, b.pages),
            "content": round(jaccard(a.content, b.content), 3), "rows": round(jaccard(a.rows, b.rows), 3),
            "seal": near(a.seals, b.seals), "template": round(jaccard(a.template, b.template), 3),
            "layout": 1.0 if a.layout and a.layout == b.layout else 0.0,
            "images": round(jaccard(a.images, b.images), 3)}


def reused(a: Fingerprints, b: Fingerprints) -> dict[str, float]:
    """The REUSE_ codes the pair earns, with the similarity each rests on."""
    s = scores(a, b)
    personal = len(a.content) >= MIN_FIGURES and len(b.content) >= MIN_FIGURES
    out = {}
    if s["file"]:
        out["REUSE_SAME_FILE"] = 1.0
    if len(a.rows) >= MIN_ROWS and len(b.rows) >= MIN_ROWS and s["rows"] >= ROWS_JACCARD:
        out["REUSE_TRANSACTIONS"] = s["rows"]
    if personal and s["content"] >= CONTENT_JACCARD:
        out["REUSE_TEMPLATE_FILLED"] = s["content"]
    # The same page image carries the same text: what figures there are must agree, and pages without any must
    # share their words (near-blank pages, all alike to a perceptual hash, share none and never match).
    same_text = s["content"] >= CONTENT_JACCARD if a.content or b.content else s["template"] >= CONTENT_JACCARD
    if _close(s["page"], PAGE_BITS) and same_text:
        out["REUSE_SAME_PAGE_IMAGE"] = s["page"]
    if a.kind in SEAL_KINDS and b.kind in SEAL_KINDS and _close(s["seal"], SEAL_BITS):
        out["REUSE_SEAL"] = s["seal"]
    return out


class Index:
    def __init__(self, conn: redis.Redis, store: Store | None = None):
        self.conn = conn
        self.store = store

    def add(self, doc_id: str, record: dict) -> None:
        """Index one document; `record` holds job_id, file, applicant {key, masked} and fingerprints. Redis keeps
        what a lookup scores; the template shingles (the bulk of a record) stay in the store, for `similar`."""
        pipe = self.conn.pipeline(transaction=False)
        _queue_add(pipe, doc_id, record, keys(Fingerprints.from_dict(record["fingerprints"])))
        pipe.execute()

    def candidates(self, fp: Fingerprints, adding: tuple[str, dict] | None = None) -> dict[str, dict]:
        """The records of every stored document that shares a band with `fp`. With `adding` (the doc id and record
        of `fp` itself), the document is indexed in the same round trip, after the lookup has read the sets."""
        doc_keys = keys(fp)
        pipe = self.conn.pipeline(transaction=False)
        for key in doc_keys:
            pipe.smembers(key)
        if adding is not None:
            _queue_add(pipe, *adding, doc_keys)
        ids = sorted({m.decode() for members in pipe.execute()[:len(doc_keys)] for m in members})
        if not ids:
            return {}
        records = self.conn.mget([f"{PREFIX}:doc:{i}" for i in ids])
        return {i: json.loads(r) for i, r in zip(ids, records) if r is not None}

    def findings(self, fp: Fingerprints, job_id: str, applicant: Applicant,
                 adding: tuple[str, dict] | None = None) -> list[Finding]:
        """REUSE_ findings of one document against every earlier one from another applicant (another job); with
        `adding`, the document is indexed too (see `candidates`)."""
        by_code: dict[str, list[dict]] = {}
        for doc_id, record in self.candidates(fp, adding).items():
            other = Applicant(record["applicant"]["key"], record["applicant"]["masked"])
            if record["job_id"] == job_id or applicant.same(other):
                continue
            theirs = Fingerprints.from_dict(record["fingerprints"])
            for code, similarity in reused(fp, theirs).items():
                match = {"job_id": record["job_id"], "file": record["file"], "applicant": other.masked,
                         "similarity": round(similarity, 3)}
                if code == "REUSE_SEAL":
                    match["same_issuer"] = bool(fp.issuer) and fp.issuer == theirs.issuer
                by_code.setdefault(code, []).append(match)
        return _findings(by_code, applicant)

    def check(self, job_id: str, given: str | None, results: list[DocumentResult],
              fingerprints: list[Fingerprints | Exception], policy: Policy = Policy()) -> None:
        """Keep the job's fingerprints in the store, then look each document up, add its findings and re-decide its
        verdict, indexing it in the same round trip. The job's own documents never match each other (same job). A
        document whose fingerprints could not be computed (the exception in its place) gets a `reuse` run in error."""
        applicant = applicant_of(results, given)
        documents = [{"file": r.file, "fingerprints": fp.to_dict()} for r, fp in zip(results, fingerprints)
                     if not isinstance(fp, Exception)]
        entry = {"job_id": job_id, "applicant": {"key": applicant.key, "masked": applicant.masked},
                 "documents": documents}
        if self.store is not None:
            self.store.put_fingerprints(job_id, entry)  # first: the index holds nothing `reindex` could not rebuild
        records = iter(_records(entry))
        for result, fp in zip(results, fingerprints):
            if isinstance(fp, Exception):
                result.checks.append(CheckRun("reuse", "error", f"{type(fp).__name__}: {fp}"[:300]))
            else:
                found = self.findings(fp, job_id, applicant, adding=next(records))
                result.findings = ranked(result.findings + found)
                detail = f"{len(found)} reuse finding(s)" + ("; no applicant identity" if not applicant.key else "")
                result.checks.append(CheckRun("reuse", "ran", detail))
            result.verdict = decide(result.findings, result.checks, policy)

    def add_job(self, entry: dict) -> None:
        for doc_id, record in _records(entry):
            self.add(doc_id, record)

    def reindex(self) -> int:
        """Rebuild the Redis index from the store's fingerprint records; returns the documents indexed."""
        count = 0
        for job_id in self.store.fingerprint_ids():
            entry = self.store.get_fingerprints(job_id)
            if entry is None:  # removed, or emptied by a power cut, since the listing
                continue
            self.add_job(entry)
            count += len(entry["documents"])
        return count

    def nearest(self, fp: Fingerprints, exclude_job: str | None = None, top: int = 10) -> list[dict]:
        """The stored documents sharing any band with `fp`, best first, with every similarity."""
        out = []
        for doc_id, record in self.candidates(fp).items():
            if record["job_id"] == exclude_job:
                continue
            theirs = Fingerprints.from_dict(record["fingerprints"])
            entry = self.store.get_fingerprints(record["job_id"]) if self.store is not None else None
            if entry is not None:
                theirs.template = entry["documents"][int(doc_id.rsplit("/", 1)[1])]["fingerprints"]["template"]
            s = scores(fp, theirs)
            out.append({"job_id": record["job_id"], "file": record["file"],
                        "applicant": record["applicant"]["masked"], "score": max(
                            s["file"], s["page"] if _close(s["page"], PAGE_BITS) else 0, s["content"], s["rows"],
                            s["seal"] if _close(s["seal"], SEAL_BITS) else 0), "scores": s})
        return sorted(out, key=lambda m: -m["score"])[:top]


def _close(similarity: float | None, bits: int) -> bool:
    """A perceptual-hash similarity within `bits` of 256."""
    return similarity is not None and similarity >= 1 - bits / 256


def _records(entry: dict) -> list[tuple[str, dict]]:
    """(doc id, index record) of each document of a job's fingerprint entry."""
    job_id, applicant = entry["job_id"], entry["applicant"]
    return [(f"{job_id}/{n}", {"job_id": job_id, "file": doc["file"], "applicant": applicant,
                               "fingerprints": doc["fingerprints"]}) for n, doc in enumerate(entry["documents"])]


def _queue_add(pipe, doc_id: str, record: dict, doc_keys: list[str]) -> None:
    lean = {**record, "fingerprints": {k: v for k, v in record["fingerprints"].items() if k != "template"}}
    pipe.set(f"{PREFIX}:doc:{doc_id}", json.dumps(lean, ensure_ascii=False, separators=(",", ":")))
    for key in doc_keys:
        pipe.sadd(key, doc_id)


def _findings(by_code: dict[str, list[dict]], applicant: Applicant) -> list[Finding]:
    out, named = [], set()
    for code in CODES:
        matches = [m for m in by_code.get(code, []) if (m["job_id"], m["file"]) not in named]
        if not matches:
            continue
        named |= {(m["job_id"], m["file"]) for m in matches}
        matches.sort(key=lambda m: -m["similarity"])
        unknown = not applicant.key or any(m["applicant"] == UNKNOWN for m in matches)
        note = (" Applicant identity is missing on one side, so a resubmission by the same person cannot be "
                "ruled out." if unknown else "")
        # Without both identities the match may be one person sending a document again: a reviewer looks.
        severity = "medium" if unknown else None
        if code == "REUSE_SEAL" and all(m["same_issuer"] for m in matches):
            severity = "low"  # one company's electronic seal on its staff's letters: worth a note, not a flag
        out.append(finding(code, severity=severity, jobs=", ".join(dict.fromkeys(m["job_id"] for m in matches)),
                           applicants=", ".join(dict.fromkeys(m["applicant"] for m in matches)),
                           similarity=matches[0]["similarity"], count=len(matches), note=note,
                           applicant_known=not unknown, matches=matches[:20]))
    return out
