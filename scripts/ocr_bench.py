#!/usr/bin/env python3
"""Compare the OCR engines on the committed samples: what they read right, how long a page takes, how much memory.

    .venv/bin/python scripts/ocr_bench.py [--engine NAME ...] [--case NAME ...] [--runs N]

Cases: page 1 of applicant_01's statement rendered at 200 dpi and at 100 dpi (its 8-pt body text is then about
11 px high, like 7-pt text scanned at 120 dpi), its flatbed scan and phone photo, and the proof's scan and photo.
Against each case's `*.truth.json`:

- amounts: page-1 credit/debit/balance amounts, as printed ("2,900.00"), found as a whole OCR word;
- digits: the same, ignoring commas and points (a blurred photo turns "10,114.10" into "10.114.10");
- dates: page-1 transaction dates found as a whole OCR word;
- fields: header fields as printed found in the page's text (lines joined, spaces and NFKC width ignored;
  the proof's wrapped lines are joined, as the fixtures README says to).

Each (engine, case) runs in a fresh process, so its peak RSS is its own: "RSS MB" is the Python process with the
engine loaded, "+tess MB" the peak of the `tesseract` process Tesseract runs beside it. Seconds per page (wall
and CPU, children included) are medians of `--runs` reads after a first, cold read, reported apart ("cold s").
The machine may be shared: CPU seconds are the steadier figure.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from decimal import Decimal
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks import ocr  # noqa: E402

SAMPLES = ROOT / "fixtures" / "samples" / "applicant_01"
# case → (file, render dpi for PDFs, truth sidecar)
CASES = {
    "statement-200dpi": ("statement.pdf", 200, "statement.pdf"),
    "statement-100dpi": ("statement.pdf", 100, "statement.pdf"),
    "statement-scan": ("statement_scan.jpg", None, "statement_scan.jpg"),
    "statement-photo": ("statement_photo.jpg", None, "statement_photo.jpg"),
    "proof-scan": ("proof_scan.jpg", None, "proof_scan.jpg"),
    "proof-photo": ("proof_photo.jpg", None, "proof_photo.jpg"),
}
STATEMENT_FIELDS = ("title", "account_name", "account_number", "branch", "currency", "period_start", "period_end",
                    "printed_at")
PROOF_FIELDS = ("name", "id_number", "employer", "employer_uscc", "position", "monthly_income",
                "monthly_income_capitals", "contact", "phone", "hire_date", "date")


def load(case: str) -> np.ndarray:
    file, dpi, _ = CASES[case]
    if dpi is None:
        return cv2.imread(str(SAMPLES / file), cv2.IMREAD_COLOR)
    pdf = pdfium.PdfDocument(SAMPLES / file)
    try:
        return np.asarray(pdf[0].render(scale=dpi / 72, grayscale=True).to_pil().convert("L"))
    finally:
        pdf.close()


def expected(case: str) -> dict:
    """What a perfect reading of the case finds: amounts and dates as printed, and header fields as printed."""
    truth = json.loads((SAMPLES / f"{CASES[case][2]}.truth.json").read_text())
    rows = [t for t in truth.get("transactions", []) if t["page"] == 1]
    fields = truth["fields"]
    if truth["kind"] == "bank_statement":
        printed = {k: fields[k] for k in STATEMENT_FIELDS}
    else:
        printed = {k: fields[k] for k in PROOF_FIELDS}
        printed["monthly_income"] = f"{Decimal(fields['monthly_income']):,}"
        for key in ("hire_date", "date"):  # printed as 2022年4月30日
            y, m, d = (int(part) for part in fields[key].split("-"))
            printed[key] = f"{y}年{m}月{d}日"
    return {
        "amounts": [f"{Decimal(t[k]):,}" for t in rows for k in ("credit", "debit", "balance") if t[k]],
        "dates": [t["date"] for t in rows],
        "fields": printed,
    }


def found(wanted: list[str], words: list[str]) -> int:
    """How many of `wanted` appear among `words`, each word used once."""
    left = Counter(words)
    hits = 0
    for w in wanted:
        if left[w]:
            left[w] -= 1
            hits += 1
    return hits


def squash(text: str) -> str:
    return "".join(unicodedata.normalize("NFKC", text).split())


def score(case: str, lines: list) -> dict:
    want = expected(case)
    words = [w.text for line in lines for w in line.words]
    page = squash("".join(line.text for line in lines))
    separators = str.maketrans("", "", ",.")
    return {
        "amounts": [found(want["amounts"], words), len(want["amounts"])],
        "digits": [found([a.translate(separators) for a in want["amounts"]], [w.translate(separators) for w in words]),
                   len(want["amounts"])],
        "dates": [found(want["dates"], words), len(want["dates"])],
        "fields": [sum(squash(v) in page for v in want["fields"].values()), len(want["fields"])],
        "missed_fields": [k for k, v in want["fields"].items() if squash(v) not in page],
    }


def cpu_seconds() -> float:
    """User + system CPU of this process and its finished children (Tesseract runs in a child)."""
    return sum(r.ru_utime + r.ru_stime for r in (resource.getrusage(resource.RUSAGE_SELF),
                                                 resource.getrusage(resource.RUSAGE_CHILDREN)))


def tesseract_peak_mb(image: np.ndarray) -> float:
    """Peak RSS of one tesseract run on the page as the engine prepares it. Started from a small Python, so the
    figure is tesseract's own: a child forked straight from this process counts this process's pages too."""
    page, _ = ocr.prepare(image)
    probe = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, "
             "stderr=subprocess.DEVNULL); print(os.wait4(p.pid, 0)[2].ru_maxrss)")
    with tempfile.TemporaryDirectory() as tmp:
        cv2.imwrite(f"{tmp}/page.png", page)
        tesseract = ["tesseract", f"{tmp}/page.png", f"{tmp}/out", "-l", ocr.TESSERACT_LANG,
                     *ocr.TESSERACT_CONFIG.split(), "tsv"]
        out = subprocess.run([sys.executable, "-c", probe, *tesseract], capture_output=True, text=True,
                             check=True, env={**os.environ, "OMP_THREAD_LIMIT": "1"})
    return int(out.stdout) / 1024


def child(engine_name: str, case: str, runs: int) -> dict:
    image = load(case)
    t0 = time.perf_counter()
    engine = ocr.engine(engine_name)
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    lines = engine.read(image)
    cold = time.perf_counter() - t0
    times, cpu = [], []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), cpu_seconds()
        lines = engine.read(image)
        times.append(time.perf_counter() - t0)
        cpu.append(cpu_seconds() - c0)
    return {
        "load_s": load_s, "cold_s": cold, "s_per_page": statistics.median(times),
        "cpu_per_page": statistics.median(cpu),
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
        "child_mb": tesseract_peak_mb(image) if engine_name == "tesseract" else 0.0,
        "size": f"{image.shape[1]}×{image.shape[0]}", **score(case, lines),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--engine", action="append", choices=ocr.NAMES)
    parser.add_argument("--case", action="append", choices=list(CASES))
    parser.add_argument("--runs", type=int, default=2, help="timed reads after the cold one (default 2)")
    parser.add_argument("--child", nargs=2, metavar=("ENGINE", "CASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.child:
        print(json.dumps(child(*args.child, args.runs)))
        return

    status = ocr.available()
    header = (f"{'engine':<10} {'case':<17} {'size':>9} {'amounts':>7} {'digits':>6} {'dates':>6} {'fields':>6} "
              f"{'s/page':>6} {'cpu s':>5} {'cold s':>6} {'load s':>6} {'RSS MB':>6} {'+tess MB':>8}  fields missed")
    print(header)
    print("-" * len(header))
    for name in args.engine or list(status):
        if status[name] != ocr.READY:
            print(f"{name:<10} not available here: {status[name]}")
            continue
        for case in args.case or CASES:
            cmd = [sys.executable, __file__, "--child", name, case, "--runs", str(args.runs)]
            r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
            tess = f"{r['child_mb']:.0f}" if r["child_mb"] else "—"
            print(f"{name:<10} {case:<17} {r['size']:>9} {share(r['amounts']):>7} {share(r['digits']):>6} "
                  f"{share(r['dates']):>6} {share(r['fields']):>6} {r['s_per_page']:>6.1f} {r['cpu_per_page']:>5.1f} "
                  f"{r['cold_s']:>6.1f} {r['load_s']:>6.1f} {r['rss_mb']:>6.0f} {tess:>8}  "
                  f"{', '.join(r['missed_fields'])}", flush=True)


def share(counts: list[int]) -> str:
    hit, total = counts
    return f"{hit}/{total}" if total else "—"


if __name__ == "__main__":
    main()
