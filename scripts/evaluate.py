#!/usr/bin/env python3
"""Measure docverify against generated documents with ground truth (`<file>.truth.json` beside each file).

    .venv/bin/python scripts/evaluate.py [DIR ...]     (default: fixtures/samples)

Prints, per group (layout/producer when the truth names them, else kind and format):
- extraction: share of transactions exactly right in every field; of amounts and dates (each value on its own);
  header fields right; rows whose running balance fails on genuine statements (OCR misreads show up there);
- forensics: detection rate on forged files, false-positive rate on genuine ones (verdict != pass);
  and per forgery method (truth `tampering[].method`) and per genuine case (truth `hard_case.type`, else producer):
  detection, region hit (share of detections with a finding whose box overlaps an edited area on its page),
  false positives. `--why` lists the findings on every false positive and every miss.
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
from checks.balances import broken_rows  # noqa: E402
from checks.ingest import open_document  # noqa: E402
from checks.normalize import nfkc  # noqa: E402

TXN_KEYS = ("date", "time", "description", "credit", "debit", "balance", "counterparty")
VALUE_KEYS = ("date", "credit", "debit", "balance")
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


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def region_hit(findings, tampering: list[dict]) -> bool:
    return any(f.bbox is not None and f.page == t.get("page") and overlaps(f.bbox, t["bbox"])
               for f in findings for t in tampering if t.get("bbox"))


def forensics(forensic: dict[str, Tally], truth: dict, result, path: Path, why: bool) -> None:
    flagged = result.verdict.verdict != "pass"
    codes = sorted({f"{f.code}:{f.severity}" for f in result.findings})
    if truth["genuine"]:
        case = (truth.get("hard_case") or {}).get("type")
        key = f"genuine {case or truth.get('producer') or truth['kind']} [{truth['format']}]"
        forensic[key].add("false_positive", flagged)
        if flagged and why:
            print(f"false positive {path}: {result.verdict.verdict} {codes}")
        return
    key = "forged " + "+".join(sorted({t.get("method", t.get("type", "?")) for t in truth["tampering"]}))
    key += f" [{truth['format']}]"
    forensic[key].add("detected", flagged)
    if flagged:
        forensic[key].add("region", region_hit(result.findings, truth["tampering"]))
    elif why:
        print(f"missed {path}: {codes}")


def evaluate(paths: list[Path], why: bool = False) -> tuple[dict[str, Tally], dict[str, Tally]]:
    groups: dict[str, Tally] = defaultdict(Tally)
    forensic: dict[str, Tally] = defaultdict(Tally)
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
                for k in VALUE_KEYS:
                    if t.get(k) is not None:
                        tally.add("value", same(g.get(k), t.get(k)))
            tally.add("txn", False, max(0, len(want) - len(got)))
            tally.add("value", False, sum(t.get(k) is not None for t in want[len(got):] for k in VALUE_KEYS))
            broken = set(broken_rows(got))
            for i in range(1, len(got)):
                tally.add("balance_fail", i in broken)
        for key in HEADER_KEYS.get(truth["kind"], ()):
            if key in truth["fields"]:
                got = extracted["fields"].get(key, {}).get("value")
                tally.add("field", same(got, truth["fields"][key]))
        tally.add("kind", result.kind == truth["kind"])
        if truth["genuine"]:
            tally.add("false_positive", result.verdict.verdict != "pass")
        else:
            tally.add("detected", result.verdict.verdict != "pass")
        forensics(forensic, truth, result, path, why)
    return groups, forensic


def table(groups: dict[str, Tally], columns: list[tuple[str, str]], seconds: bool) -> None:
    total = Tally()
    for t in groups.values():
        for k, v in t.n.items():
            total.n[k] += v
    print(f"{'group':44}" + "".join(f"{title:>22}" for title, _ in columns) + (f"{'s/page':>8}" if seconds else ""))
    for name, t in sorted(groups.items()) + [("all", total)]:
        print(f"{name:44}" + "".join(f"{t.rate(key):>22}" for _, key in columns)
              + (f"{t.n['seconds'] / max(t.n['pages'], 1):8.3f}" if seconds else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path, default=[ROOT / "fixtures" / "samples"])
    parser.add_argument("--why", action="store_true", help="list the findings on false positives and misses")
    args = parser.parse_args()
    paths = sorted(p for d in args.dirs for p in d.rglob("*") if p.suffix in (".pdf", ".jpg", ".png")
                   and p.with_name(p.name + ".truth.json").exists())
    groups, forensic = evaluate(paths, args.why)
    table(groups, [("transactions exact", "txn"), ("amounts+dates", "value"), ("balance fails", "balance_fail"),
                   ("header fields", "field"), ("kind", "kind"), ("detected", "detected"),
                   ("false positives", "false_positive")], seconds=True)
    print()
    table(forensic, [("detected", "detected"), ("region hit", "region"), ("false positives", "false_positive")],
          seconds=False)


if __name__ == "__main__":
    main()
