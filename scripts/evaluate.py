#!/usr/bin/env python3
"""Measure docverify against generated documents with ground truth (`<file>.truth.json` beside each file).

    .venv/bin/python scripts/evaluate.py [DIR ...]     (default: fixtures/samples)

Prints, per group (layout/producer when the truth names them, else kind and format):
- extraction: share of transactions exactly right in every field, header fields right;
- forensics: detection rate on forged files, false-positive rate on genuine ones (verdict != pass).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks import pipeline  # noqa: E402
from checks.ingest import open_document  # noqa: E402
from checks.normalize import nfkc  # noqa: E402

TXN_KEYS = ("date", "time", "description", "credit", "debit", "balance", "counterparty")
HEADER_KEYS = {
    "bank_statement": ("account_name", "account_number", "branch", "currency", "period_start", "period_end"),
    "employment_proof": ("name", "id_number", "employer", "employer_uscc", "monthly_income", "hire_date"),
    "social_insurance": ("name", "id_number", "employer", "employer_uscc"),
    "housing_fund": ("name", "id_number", "employer"),
}


def same(a, b) -> bool:
    return nfkc(str(a if a is not None else "")) == nfkc(str(b if b is not None else ""))


class Tally:
    def __init__(self):
        self.n = defaultdict(int)

    def add(self, key: str, ok: bool, weight: int = 1) -> None:
        self.n[key + "_total"] += weight
        self.n[key + "_ok"] += weight if ok else 0

    def rate(self, key: str) -> str:
        total = self.n[key + "_total"]
        return f"{self.n[key + '_ok'] / total:7.2%} ({self.n[key + '_ok']}/{total})" if total else "      -"


def evaluate(paths: list[Path]) -> dict[str, Tally]:
    groups: dict[str, Tally] = defaultdict(Tally)
    for path in paths:
        truth = json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))
        group = "/".join(str(truth[k]) for k in ("layout", "producer") if k in truth) or truth["kind"]
        group += f" [{truth['format']}]"
        tally = groups[group]
        t0 = time.perf_counter()
        doc = open_document(path.name, path.read_bytes())
        try:
            result = pipeline.verify_document(doc)
        finally:
            doc.close()
        tally.n["seconds"] += time.perf_counter() - t0
        tally.n["pages"] += result.pages
        extracted = result.extracted
        if truth["genuine"] and truth.get("transactions"):
            got = extracted["transactions"]
            want = truth["transactions"]
            for g, t in zip(got, want):
                tally.add("txn", all(same(g.get(k), t.get(k)) for k in TXN_KEYS))
            tally.add("txn", False, max(0, len(want) - len(got)))
        for key in HEADER_KEYS.get(truth["kind"], ()):
            if key in truth["fields"]:
                got = extracted["fields"].get(key, {}).get("value")
                tally.add("field", same(got, truth["fields"][key]))
        tally.add("kind", result.kind == truth["kind"])
        if truth["genuine"]:
            tally.add("false_positive", result.verdict.verdict != "pass")
        else:
            tally.add("detected", result.verdict.verdict != "pass")
    return groups


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path, default=[ROOT / "fixtures" / "samples"])
    args = parser.parse_args()
    paths = sorted(p for d in args.dirs for p in d.rglob("*") if p.suffix in (".pdf", ".jpg", ".png")
                   and p.with_name(p.name + ".truth.json").exists())
    groups = evaluate(paths)
    header = f"{'group':40} {'transactions exact':>22} {'header fields':>20} {'kind':>18} {'detected':>16} " \
             f"{'false positives':>16} {'s/page':>7}"
    print(header)
    total = Tally()
    for name, t in sorted(groups.items()):
        for k, v in t.n.items():
            total.n[k] += v
        print(f"{name:40} {t.rate('txn'):>22} {t.rate('field'):>20} {t.rate('kind'):>18} {t.rate('detected'):>16} "
              f"{t.rate('false_positive'):>16} {t.n['seconds'] / max(t.n['pages'], 1):7.3f}")
    print(f"{'all':40} {total.rate('txn'):>22} {total.rate('field'):>20} {total.rate('kind'):>18} "
          f"{total.rate('detected'):>16} {total.rate('false_positive'):>16} "
          f"{total.n['seconds'] / max(total.n['pages'], 1):7.3f}")


if __name__ == "__main__":
    main()
