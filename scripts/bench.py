#!/usr/bin/env python3
"""Benchmarks, all in one run so ratios compare like with like on a shared, noisy machine.

    .venv/bin/python scripts/bench.py [--jobs N] [--text-pdf-only] [FILE ...]   (default: the PDFs in fixtures/samples)

Prints: end-to-end seconds through the queue for a 3-page text-PDF statement and a phone-photo page (OCR
included), documents per minute for text PDFs and for photos with 1 and 2 worker processes (and their ratios:
with DOCVERIFY_OCR_THREADS unset, a lone worker reads a photo with every core and two workers with half each, so
the photo ratio is below 2× by design; DOCVERIFY_OCR_THREADS=1 compares one-thread workers);
inline `check` time per document and per page; text-PDF reading per producer (ingest alone and ingest +
classification + extraction, the best of `--rounds` readings of each file) and each forensic check, in CPU
seconds per page on one core (each runs in this single process, one document after another); the queue path
(store + enqueue + RQ worker + stored result) per job with one worker, and its overhead over inline checking of
the same files, split into the reuse lookup a job makes (fingerprints and index; `check` makes none) and the rest:
each file is checked inline, inline with the reuse lookup, and as a job (submission to stored result), one right
after another, in each of `--overhead-rounds` rounds (default 20, some 4 minutes); per file the median of its
rounds' differences, averaged over the files, with a 95% interval from resampling the rounds; and the same for the
worker's one-page warm-up statement alone, the cost a job adds whatever the document;
one scanned and one photographed statement page per OCR engine (seconds, CPU seconds, peak memory), each engine
in its own process (the full OCR comparison is scripts/ocr_bench.py). Per producer, on the evaluation sets:

    .venv/bin/python scripts/bench.py --text-pdf-only /tmp/eval/*/*.pdf /tmp/pdfset/genuine/*.pdf

Reuse lookup cost (`--reuse`, alone): synthetic fingerprints shaped like the population set's (two-page statements
whose page hashes cluster around a few bank layouts, one-page letters with a seal, co-workers sharing an employer's
figures) are indexed into a private redis-server up to each size of `--reuse-sizes` (default 10^4 and 10^5); at each
size, a lookup (worker.reuse.Index.findings) of 100 new documents and of 100 near-copies of stored ones is timed, with
the candidates it scored:

    .venv/bin/python scripts/bench.py --reuse [--reuse-sizes 10000,100000]
"""
from __future__ import annotations

import argparse
import contextlib
import gc
import hashlib
import io
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pikepdf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks import classify, extract, pipeline  # noqa: E402
from checks.ingest import open_document  # noqa: E402
from worker.config import load  # noqa: E402
from worker.localredis import LocalRedis  # noqa: E402
from worker import report, reuse  # noqa: E402
from rq import Worker  # noqa: E402
from rq.results import Result  # noqa: E402

from worker.queue import connect, submit  # noqa: E402
from worker.result import verify  # noqa: E402
from worker.store import Store  # noqa: E402


def inline(files: list[Path], rounds: int) -> tuple[float, int]:
    """Median seconds to check each file in-process, summed over the files; total pages."""
    checking = []
    pages = 0
    for path in files:
        data = path.read_bytes()
        pages += len(open_document(path.name, data).pages)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            verify([(path.name, data)], bundle=False)
            times.append(time.perf_counter() - t0)
        checking.append(statistics.median(times))
    return sum(checking), pages


@contextlib.contextmanager
def service(workers: int):
    """A private Redis, a fresh store and `workers` running `docverify worker` processes, registered and idle."""
    with LocalRedis() as url, tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "DOCVERIFY_REDIS_URL": url, "DOCVERIFY_DATA_DIR": data_dir}
        os.environ.update({"DOCVERIFY_REDIS_URL": url, "DOCVERIFY_DATA_DIR": data_dir})
        settings = load()
        conn = connect(settings)
        procs = [subprocess.Popen([sys.executable, "-m", "worker", "worker"], env=env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL) for _ in range(workers)]
        try:
            while Worker.count(connection=conn) < workers:
                time.sleep(0.2)
            yield settings, conn, Store(data_dir)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(timeout=60)


PASSES = ("check", "check + reuse", "queued")


def queue_overhead(files: list[Path], rounds: int) -> dict[str, list[list[float]]]:
    """Seconds of three ways of checking each file, per round and file: inline `check`; inline with the reuse
    lookup and indexing a job makes (fingerprints, then the index in the same private Redis); and a job through
    one worker, from submission to stored result. Each file goes the three ways one right after another, so a
    shared machine's slow spells (seconds long) fall on all three alike, in an order that turns. The reuse index
    is emptied before each way: every lookup meets the same empty index (a lookup's cost at scale is `--reuse`); and
    the upload is removed from the store before each, so that each submission stores new bytes, as a lender's do."""
    docs = [(path.name, path.read_bytes()) for path in files]
    seconds: dict[str, list[list[float]]] = {name: [[0.0] * len(docs) for _ in range(rounds)] for name in PASSES}
    with service(1) as (settings, conn, store):
        run_jobs(settings, conn, store, [(f"warm-{name}", data) for name, data in docs[:3]])
        for name, data in docs:
            verify([(name, data)], bundle=False)
        # As the worker does before it forks a horse (worker/horse.py), so that inline and queued checks collect
        # garbage alike: a full collection of this process's objects takes some 70 ms, once every dozen documents.
        gc.freeze()
        index = reuse.Index(conn, store)
        for r in range(rounds):
            for i, (name, data) in enumerate(docs):
                ways = dict(zip(PASSES, (lambda: verify([(name, data)], bundle=False),
                                         lambda: verify([(name, data)], bundle=False, reuse=index),
                                         lambda: run_jobs(settings, conn, store, [(f"o{r}-{name}", data)]))))
                turn = (r + i) % len(PASSES)  # whichever goes first meets the file cold: each way does in turn
                for way in PASSES[turn:] + PASSES[:turn]:
                    _empty(conn)
                    _forget_upload(store, data)
                    t0 = time.perf_counter()
                    ways[way]()
                    seconds[way][r][i] = time.perf_counter() - t0
    gc.unfreeze()  # the rest of the bench measures this process as it was
    return seconds


def _empty(conn) -> None:
    for key in conn.scan_iter(f"{reuse.PREFIX}:*", count=1000):
        conn.delete(key)


def _forget_upload(store: Store, data: bytes) -> None:
    """As if `data` had never been uploaded: a lender's every upload is new bytes, which the store writes and flushes
    to disk before the job is enqueued."""
    folder = Store._upload_key(hashlib.sha256(data).hexdigest())
    for name in ("content", "meta.json"):
        store.blobs.delete(f"{folder}/{name}")


def run_jobs(settings, conn, store: Store, files: list[tuple[str, bytes]]) -> float:
    """Submit every (name, bytes) as its own job and wait for all results: wall seconds. A job's end is read from
    RQ's result stream (XREAD BLOCK), so waiting takes no core from the workers, as polling would."""
    t0 = time.perf_counter()
    ids = [submit(settings, conn, [store.put_upload(data, name)], bundle=False, store=store)[0] for name, data in files]
    for job_id in ids:
        # A second at a time: a longer block would outlast the connection's socket timeout.
        while not conn.xread({Result.get_key(job_id): "0-0"}, block=1000):
            if time.perf_counter() - t0 > 600:
                sys.exit(f"bench: job {job_id} did not end within 10 minutes")
        if store.get_result(job_id) is None:
            sys.exit(f"bench: job {job_id} failed: {store.get_failure(job_id)}")
    return time.perf_counter() - t0


def three_page_statement() -> bytes:
    """The sample statement's two pages and its first page again: a full 3-page text statement."""
    with pikepdf.open(ROOT / "fixtures" / "samples" / "applicant_01" / "statement.pdf") as src, pikepdf.new() as pdf:
        pdf.pages.extend(src.pages)
        pdf.pages.append(src.pages[0])
        buf = io.BytesIO()
        pdf.save(buf)
    return buf.getvalue()


def service_rows(files: list[Path], jobs: int, photos: int) -> list[tuple[str, str, str]]:
    """End-to-end latency and throughput through real workers (names differ so that every job is run)."""
    statement = three_page_statement()
    photo = (ROOT / "fixtures" / "samples" / "applicant_01" / "statement_photo.jpg").read_bytes()
    texts = [(f"{i}-{files[i % len(files)].name}", files[i % len(files)].read_bytes()) for i in range(jobs)]
    rows = []
    with service(1) as (settings, conn, store):
        latency = statistics.median(run_jobs(settings, conn, store, [(f"s{i}.pdf", statement)]) for i in range(5))
        rows.append(("3-page text-PDF statement, submit to stored result", f"{latency:.2f} s", "target < 1 s"))
        latency = statistics.median(run_jobs(settings, conn, store, [(f"p{i}.jpg", photo)]) for i in range(3))
        rows.append(("phone-photo page with OCR, submit to stored result", f"{latency:.2f} s", "target < 5 s"))
    rates = {}
    for n in (1, 2):
        with service(n) as (settings, conn, store):
            rates[n] = jobs / run_jobs(settings, conn, store, texts) * 60
            rows.append((f"text PDFs, {n} worker(s), {jobs} documents", f"{rates[n]:.0f} /min",
                         f"{rates[n] / rates[1]:.2f}×"))
    photo_rates = {}
    for n in (1, 2):
        with service(n) as (settings, conn, store):
            pages = [(f"p{i}.jpg", photo) for i in range(photos)]
            photo_rates[n] = photos / run_jobs(settings, conn, store, pages) * 60
            rows.append((f"phone photos, {n} worker(s), {photos} pages", f"{photo_rates[n]:.1f} /min",
                         f"{photo_rates[n] / photo_rates[1]:.2f}×"))
    return rows


def text_pdf_stages(files: list[Path], rounds: int) -> list[tuple[str, str, str]]:
    """CPU seconds per page (this process only, so a busy machine slows it less than the wall clock) of reading
    text PDFs, per producer (the first word of the Info Producer), and of each forensic check over all of them."""
    reading: dict[str, list[float]] = {}  # producer → [ingest, ingest + extraction, pages]
    seconds: dict[str, float] = {}
    pages = 0
    for path in files:
        data = path.read_bytes()
        ingest, extracted = (min(t) for t in zip(*(_read(path.name, data) for _ in range(rounds))))
        doc = open_document(path.name, data)
        if any(p.scanned for p in doc.pages):
            doc.close()
            continue
        producer = re.split(r"[\s/]", str(doc.pdf.docinfo.get("/Producer", "")))[0] or "unknown"
        row = reading.setdefault(producer, [0.0, 0.0, 0])
        row[0] += ingest
        row[1] += extracted
        row[2] += len(doc.pages)
        pages += len(doc.pages)
        doc.kind = classify.classify(doc)
        doc.extracted = extract.extract(doc)  # some checks read it, as in the pipeline
        for module in pipeline.DOCUMENT_CHECKS:
            if module.applies(doc):
                t0 = time.process_time()
                module.check(doc)
                seconds[module.NAME] = seconds.get(module.NAME, 0) + time.process_time() - t0
        doc.close()
    rows = []
    for producer, (ingest, extracted, n) in sorted(reading.items()):
        rows += [(f"text PDF ingest, {producer} ({n} pages), per page", f"{ingest / n * 1000:.1f} ms", "CPU"),
                 (f"text PDF ingest + extraction, {producer}, per page", f"{extracted / n * 1000:.1f} ms", "CPU")]
    per_page = max(pages, 1) / 1000
    rows += [(f"text PDF {name}, per page", f"{value / per_page:.1f} ms", "CPU") for name, value in seconds.items()]
    return rows + [("text PDF forensic checks together, per page", f"{sum(seconds.values()) / per_page:.1f} ms", "CPU")]


def _read(name: str, data: bytes) -> tuple[float, float]:
    """CPU seconds to open the document, and to open, classify and extract it."""
    t0 = time.process_time()
    doc = open_document(name, data)
    t1 = time.process_time()
    doc.kind = classify.classify(doc)
    extract.extract(doc)
    t2 = time.process_time()
    doc.close()
    return t1 - t0, t2 - t0


def report_pages(rounds: int) -> list[tuple[str, str, str]]:
    """The HTML report of a 10-page statement: the forged sample's two pages five times over, so every page is a
    full one and several carry findings. Median seconds to write it (pages and crops rendered), and its size."""
    sample = ROOT / "fixtures" / "samples" / "applicant_01" / "statement_overlay.pdf"
    with pikepdf.open(sample) as src, pikepdf.new() as pdf:
        for _ in range(5):
            pdf.pages.extend(src.pages)
        buf = io.BytesIO()
        pdf.save(buf)
    data = buf.getvalue()
    result = verify([("statement_10_pages.pdf", data)], bundle=False)
    load = {result["documents"][0]["sha256"]: data}.get
    times = []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(rounds):
            t0 = time.perf_counter()
            path = report.write(result, Path(out), load)
            times.append(time.perf_counter() - t0)
        size = path.stat().st_size
    findings = len(result["documents"][0]["findings"])
    return [(f"HTML report, 10-page statement ({findings} findings)", f"{statistics.median(times) * 1000:.0f} ms",
             f"{size / 1e6:.2f} MB")]


OCR_CASES = ("statement-scan", "statement-photo")


def ocr_pages(runs: int) -> list[tuple[str, str, str]]:
    rows = []
    for engine in ("rapidocr", "tesseract"):
        for case in OCR_CASES:
            cmd = [sys.executable, str(ROOT / "scripts" / "ocr_bench.py"), "--child", engine, case, "--runs", str(runs)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            memory = r["rss_mb"] + r["child_mb"]
            rows.append((f"OCR {engine}, {case}, per page",
                         f"{r['s_per_page']:.1f} s", f"{r['cpu_per_page']:.1f} CPU s, {memory:.0f} MB peak"))
    return rows


def _synthetic(rng, n: int, near=None):
    """Fingerprints shaped like real ones. `near`: a near-copy of that record (a few bits and nothing else off)."""
    from checks.fingerprint import Fingerprints

    def flip(hex_hash: str, bits: int, r=rng) -> str:
        value = int(hex_hash, 16)
        for b in r.sample(range(256), bits):
            value ^= 1 << b
        return f"{value:064x}"

    def tokens(k: int) -> list[str]:
        return sorted(f"{rng.getrandbits(64):016x}" for _ in range(k))

    if near is not None:
        return Fingerprints(**{**near.__dict__, "sha256": f"{rng.getrandbits(256):064x}",
                               "pages": [flip(p, 4) for p in near.pages],
                               "seals": [flip(p, 2) for p in near.seals]})
    layouts = [f"{random.Random(f'layout{i}').getrandbits(256):064x}" for i in range(4)]
    seal = f"{random.Random('seal').getrandbits(256):064x}"
    if n % 10 == 0:  # a photo without readable figures: only its page hash to go by
        return Fingerprints(sha256=f"{rng.getrandbits(256):064x}", kind="other", pages=[f"{rng.getrandbits(256):064x}"])
    if n % 2:
        return Fingerprints(sha256=f"{rng.getrandbits(256):064x}", kind="bank_statement",
                            pages=[flip(rng.choice(layouts), rng.randint(20, 40)) for _ in range(2)],
                            content=tokens(140), rows=tokens(38), seals=[flip(seal, rng.randint(16, 40))])
    employer = n // 20  # ten letters per employer: co-workers share its code and phone
    shared = [f"{random.Random(f'employer{employer}:{k}').getrandbits(64):016x}" for k in range(3)]
    # Seals of two companies share the ring and star (~30 bits each off one design, as measured ~60 apart);
    # two impressions of one company's seal differ by 16+.
    company_seal = flip(seal, 30, random.Random(f"employer{employer}"))
    return Fingerprints(sha256=f"{rng.getrandbits(256):064x}", kind="employment_proof",
                        pages=[flip(layouts[0], rng.randint(4, 24))], content=sorted(shared + tokens(5)),
                        seals=[flip(company_seal, rng.randint(8, 12))], issuer=f"employer{employer}")


def reuse_lookup(sizes: list[int], queries: int = 100) -> list[tuple[str, str, str]]:
    """Lookup cost at each index size: see the module's docstring."""
    import random as _random

    import redis as redis_lib

    from worker.reuse import Applicant, Index

    rng = _random.Random(7)
    rows = []
    with LocalRedis() as url:
        index = Index(redis_lib.Redis.from_url(url))
        stored: list = []
        base = None
        for size in sizes:
            while len(stored) < size:
                n = len(stored)
                fp = _synthetic(rng, n)
                index.add(f"job{n}/0", {"job_id": f"job{n}", "file": "doc.pdf",
                                        "applicant": {"key": f"k{n}", "masked": f"k{n}"}, "fingerprints": fp.to_dict()})
                stored.append(fp if n % 97 == 0 else None)  # keep a sample to make near-copies of
            sample = [fp for fp in stored if fp is not None]
            # A new document is shaped like a stored one's neighbour: the same bank layouts, an existing employer.
            for label, make in (("new document", lambda i: _synthetic(rng, rng.randrange(size))),
                                ("near-copy", lambda i: _synthetic(rng, i, near=sample[i % len(sample)]))):
                fps = [make(i) for i in range(queries)]
                candidates = sum(len(index.candidates(fp)) for fp in fps)
                t0 = time.perf_counter()
                found = sum(bool(index.findings(fp, "query", Applicant.of("query"))) for fp in fps)
                ms = (time.perf_counter() - t0) / queries * 1000
                ratio = f"{ms / base:.2f}×" if base and label == "new document" else ""
                if label == "new document" and base is None:
                    base = ms
                rows.append((f"reuse lookup, {size:,} stored, {label}", f"{ms:.2f} ms",
                             f"{ratio} {candidates / queries:.1f} candidates, {found}/{queries} flagged".strip()))
    return rows


def _difference(label: str, passes: dict[str, list[list[float]]], a: str, b: str, note: str = "") -> tuple[str, str, str]:
    """Way `a` minus way `b`, per document: the median over the rounds of each file's difference (the two ran back
    to back), averaged over the files, so that a slow spell that hits one pair is one sample of many. With a 95%
    interval from resampling the rounds (1000 times): on a shared machine the interval says what the figure is worth."""
    diffs = [[(x - y) * 1000 for x, y in zip(ra, rb)] for ra, rb in zip(passes[a], passes[b])]  # [round][file]

    rng = random.Random(0)
    resampled = sorted(_per_document([rng.choice(diffs) for _ in diffs]) for _ in range(1000))
    return label, f"{_per_document(diffs):.1f} ms", f"{note}95% {resampled[25]:.0f}..{resampled[974]:.0f} ms"


def _per_document(rounds: list[list[float]]) -> float:
    """[round][file] → each file's median over the rounds, averaged over the files."""
    return statistics.fmean(statistics.median(by_file) for by_file in zip(*rounds))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--photos", type=int, default=6, help="photo pages per throughput run")
    parser.add_argument("--overhead-rounds", type=int, default=20,
                        help="rounds over the files, each checked inline, inline with reuse and queued, for the queue overhead")
    parser.add_argument("--no-ocr", action="store_true", help="skip the OCR pages (about a minute)")
    parser.add_argument("--service-only", action="store_true", help="only latency and throughput through workers")
    parser.add_argument("--text-pdf-only", action="store_true", help="only the text-PDF reading and forensic checks")
    parser.add_argument("--reuse", action="store_true", help="only the reuse index's lookup cost")
    parser.add_argument("--reuse-sizes", default="10000,100000", help="index sizes for --reuse, comma-separated")
    args = parser.parse_args()
    if args.reuse:
        rows = reuse_lookup([int(n) for n in args.reuse_sizes.split(",")])
        width = max(len(r[0]) for r in rows)
        for name, value, note in rows:
            print(f"{name:{width}}  {value:>10}  {note}")
        return
    files = args.files or sorted((ROOT / "fixtures" / "samples").glob("*/*.pdf"))
    if not files:
        sys.exit("bench: no files given and none in fixtures/samples")

    if args.text_pdf_only:
        rows = text_pdf_stages(files, args.rounds)
    elif args.service_only:
        rows = service_rows(files, args.jobs, args.photos)
    else:
        inline_total, pages = inline(files, args.rounds)
        passes = queue_overhead(files, args.overhead_rounds)
        # The worker's warm-up statement (one page, checked in some 25 ms): what a job costs the queue
        # whatever the document, measured where a 200-ms check's own scatter does not drown it.
        fixed = queue_overhead([ROOT / "worker" / "data" / "warmup.pdf"], args.overhead_rounds)
        check, queued = (_per_document(passes[name]) for name in ("check", "queued"))
        service = service_rows(files, args.jobs, args.photos)
        rows = [
            ("documents / pages", f"{len(files)} / {pages}", ""),
            ("inline check, per document", f"{inline_total / len(files) * 1000:.1f} ms", ""),
            ("inline check, per page", f"{inline_total / pages * 1000:.1f} ms", ""),
            ("queue path (1 worker), per job, one at a time, taking turns with inline", f"{queued * 1000:.1f} ms",
             f"{queued / check:.2f}× inline's {check * 1000:.1f} ms"),
            _difference("queue overhead over `check`, per job", passes, "queued", "check", "target < 20 ms; "),
            _difference("  of it, the reuse lookup a job makes (`check` makes none)", passes, "check + reuse", "check"),
            _difference("  of it, RQ, work horse and store", passes, "queued", "check + reuse"),
            _difference("queue overhead, one-page statement (check "
                        f"{_per_document(fixed['check']) * 1000:.0f} ms)", fixed, "queued", "check"),
            _difference("  of it, RQ, work horse and store", fixed, "queued", "check + reuse"),
        ] + service + text_pdf_stages(files, args.rounds) + report_pages(args.rounds)
        if not args.no_ocr:
            rows += ocr_pages(runs=1)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':{width}}  {'value':>12}  ratio")
    for name, value, ratio in rows:
        print(f"{name:{width}}  {value:>12}  {ratio}")


if __name__ == "__main__":
    main()
