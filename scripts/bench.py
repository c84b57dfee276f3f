#!/usr/bin/env python3
"""Benchmarks, all in one run so ratios compare like with like on a shared, noisy machine.

    .venv/bin/python scripts/bench.py [--jobs N] [FILE ...]   (default: the PDFs in fixtures/samples)

Prints: inline `check` time per document and per page; text-PDF ingest + extraction and each forensic check
per page (one core: each runs in this single process, one document after another); the queue path (store + enqueue + RQ worker +
stored result) per job, and its overhead over inline checking of the same files; one scanned and one
photographed statement page per OCR engine (seconds, CPU seconds, peak memory), each engine in its own process
(the full OCR comparison is scripts/ocr_bench.py).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks import extract, pipeline  # noqa: E402
from checks.ingest import open_document  # noqa: E402
from worker.config import load  # noqa: E402
from worker.localredis import LocalRedis  # noqa: E402
from worker.queue import connect, submit  # noqa: E402
from worker.result import verify  # noqa: E402
from worker.store import Store  # noqa: E402


def inline(files: list[Path], rounds: int) -> tuple[float, int]:
    """Median seconds to check each file in-process, summed over the files; total pages."""
    per_file = []
    pages = 0
    for path in files:
        data = path.read_bytes()
        pages += len(open_document(path.name, data).pages)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            verify([(path.name, data)], bundle=False)
            times.append(time.perf_counter() - t0)
        per_file.append(statistics.median(times))
    return sum(per_file), pages


def queue_path(files: list[Path], jobs: int) -> tuple[float, float]:
    """Seconds for `jobs` jobs through Redis and one burst worker, and the worker's start-up alone."""
    with LocalRedis() as url, tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "DOCVERIFY_REDIS_URL": url, "DOCVERIFY_DATA_DIR": data_dir}
        worker = [sys.executable, "-m", "worker", "worker", "--burst"]
        t0 = time.perf_counter()
        subprocess.run(worker, env=env, check=True, capture_output=True)
        startup = time.perf_counter() - t0

        os.environ.update({"DOCVERIFY_REDIS_URL": url, "DOCVERIFY_DATA_DIR": data_dir})
        settings = load()
        conn = connect(settings)
        store = Store(data_dir)
        t0 = time.perf_counter()
        for i in range(jobs):
            path = files[i % len(files)]
            submit(settings, conn, [store.put_upload(path.read_bytes(), path.name)], bundle=False)
        subprocess.run(worker, env=env, check=True, capture_output=True)
        total = time.perf_counter() - t0
        assert len(store.result_ids()) == jobs, "every job must leave a stored result"
        return total, startup


def text_pdf_stages(files: list[Path]) -> list[tuple[str, str, str]]:
    """Seconds per page of text-PDF reading and of each forensic check, over the files' text pages."""
    seconds: dict[str, float] = {}
    pages = 0
    for path in files:
        data = path.read_bytes()
        t0 = time.perf_counter()
        doc = open_document(path.name, data)
        if any(p.scanned for p in doc.pages):
            doc.close()
            continue
        extract.extract(doc)
        seconds["ingest + extraction"] = seconds.get("ingest + extraction", 0) + time.perf_counter() - t0
        pages += len(doc.pages)
        for module in pipeline.DOCUMENT_CHECKS:
            if module.applies(doc):
                t0 = time.perf_counter()
                module.check(doc)
                seconds[module.NAME] = seconds.get(module.NAME, 0) + time.perf_counter() - t0
        doc.close()
    forensic = sum(v for k, v in seconds.items() if k != "ingest + extraction")
    rows = [(f"text PDF {name}, per page", f"{value / max(pages, 1) * 1000:.1f} ms", "") for name, value in seconds.items()]
    return rows + [("text PDF forensic checks together, per page", f"{forensic / max(pages, 1) * 1000:.1f} ms", "")]


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--jobs", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-ocr", action="store_true", help="skip the OCR pages (about a minute)")
    args = parser.parse_args()
    files = args.files or sorted((ROOT / "fixtures" / "samples").glob("*/*.pdf"))
    if not files:
        sys.exit("bench: no files given and none in fixtures/samples")

    inline_total, pages = inline(files, args.rounds)
    inline_per_doc = inline_total / len(files)
    total, startup = queue_path(files, args.jobs)
    queued_per_job = (total - startup) / args.jobs
    rows = [
        ("documents / pages", f"{len(files)} / {pages}", ""),
        ("inline check, per document", f"{inline_per_doc * 1000:.1f} ms", "1.00×"),
        ("inline check, per page", f"{inline_total / pages * 1000:.1f} ms", ""),
        ("queue path, per job", f"{queued_per_job * 1000:.1f} ms", f"{queued_per_job / inline_per_doc:.2f}×"),
        ("queue overhead, per job", f"{(queued_per_job - inline_per_doc) * 1000:.1f} ms", ""),
        ("worker start-up (once)", f"{startup * 1000:.0f} ms", ""),
    ] + text_pdf_stages(files)
    if not args.no_ocr:
        rows += ocr_pages(runs=1)
    width = max(len(r[0]) for r in rows)
    print(f"{'measure':{width}}  {'value':>12}  ratio")
    for name, value, ratio in rows:
        print(f"{name:{width}}  {value:>12}  {ratio}")


if __name__ == "__main__":
    main()
