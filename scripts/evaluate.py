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
- image forensics (truth with a `channel`, `fixtures/generate.py --set image`): detection per forgery method x
  capture channel and per method x `after` (none, resave, resize), region hit (a finding's pixel box overlaps the
  edited box), false positives on genuine images per channel.
- bundles (`bundle.truth.json`, `fixtures/generate.py --set bundle`): per case, employer match, income
  fluctuation, the statement's arithmetic and the exact set of bundle codes against the truth.
- population (`population.jsonl`, `fixtures/generate.py --set population`): the documents' fingerprints are looked
  up and indexed job by job (one job per applicant, the ID number as applicant key; 20 applicants submit twice) in
  a shuffled order, in a private Redis (worker.reuse.Index); per ring, recall of the ring's documents that had an
  earlier ring document to match, precision of the flags, and the false-positive rate on genuine documents
  (a flag = a REUSE_ finding of medium or high severity).

`--checks NAME[,NAME...]` runs only those checks (their `NAME`), without OCR or extraction, to measure them alone.
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
from checks.model import CheckRun, DocumentResult  # noqa: E402
from checks.normalize import nfkc  # noqa: E402
from checks.verdict import decide, ranked  # noqa: E402
from checks.fingerprint import Fingerprints  # noqa: E402

TXN_KEYS = ("date", "time", "description", "credit", "debit", "balance", "counterparty")
VALUE_KEYS = ("date", "credit", "debit", "balance")
IMAGE_CHANNELS = ["export", "scan", "photo", "screenshot", "chat"]
IMAGE_AFTERS = ["none", "resave", "resize"]
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


def image_forensics(image: dict[str, dict[tuple, Tally]], truth: dict, result, path: Path, why: bool) -> None:
    """Tallies of the image set: per (method, channel), per (method, after), and genuine images per channel."""
    flagged = result.verdict.verdict != "pass"
    codes = sorted({f"{f.code}:{f.severity}" for f in result.findings})
    if truth["genuine"]:
        image["genuine"][("genuine", truth["channel"])].add("false_positive", flagged)
        if flagged and why:
            print(f"false positive {path}: {result.verdict.verdict} {codes}")
        return
    edit = truth["tampering"][0]
    located = [t for t in truth["tampering"] if t.get("bbox")]
    for table, column in (("channel", truth["channel"]), ("after", edit["after"])):
        tally = image[table][(edit["method"], column)]
        tally.add("detected", flagged)
        if flagged and located:
            tally.add("region", region_hit(result.findings, located))
    if not flagged and why:
        print(f"missed {path}: {codes}")


def only(doc, names: set[str]) -> DocumentResult:
    """The named checks alone on the opened document: no OCR, no extraction."""
    findings, runs = [], []
    for module in pipeline.DOCUMENT_CHECKS:
        if module.NAME in names and module.applies(doc):
            findings += module.check(doc)
            runs.append(CheckRun(module.NAME, "ran"))
    findings = ranked(findings)
    return DocumentResult(doc.name, doc.sha256, doc.format, doc.kind, len(doc.pages), decide(findings, runs),
                          findings, runs)


def evaluate(paths: list[Path], why: bool = False, checks: set[str] | None = None):
    groups: dict[str, Tally] = defaultdict(Tally)
    forensic: dict[str, Tally] = defaultdict(Tally)
    image: dict[str, dict[tuple, Tally]] = defaultdict(lambda: defaultdict(Tally))
    for path in paths:
        truth = json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))
        group = "/".join(str(truth[k]) for k in ("layout", "producer") if k in truth) or truth["kind"]
        group += f" [{truth['format']}]"
        tally = groups[group]
        t0 = time.perf_counter()
        doc = open_document(path.name, path.read_bytes())
        try:
            result = only(doc, checks) if checks else pipeline.verify_document(doc)
        finally:
            doc.close()
        tally.n["seconds"] += time.perf_counter() - t0
        tally.n["pages"] += result.pages
        if "channel" in truth:
            image_forensics(image, truth, result, path, why)
        else:
            forensics(forensic, truth, result, path, why)
        if checks:
            continue
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
    return groups, forensic, image


def table(groups: dict[str, Tally], columns: list[tuple[str, str]], seconds: bool) -> None:
    total = Tally()
    for t in groups.values():
        for k, v in t.n.items():
            total.n[k] += v
    print(f"{'group':44}" + "".join(f"{title:>22}" for title, _ in columns) + (f"{'s/page':>8}" if seconds else ""))
    for name, t in sorted(groups.items()) + [("all", total)]:
        print(f"{name:44}" + "".join(f"{t.rate(key):>22}" for _, key in columns)
              + (f"{t.n['seconds'] / max(t.n['pages'], 1):8.3f}" if seconds else ""))


def cell(tally: Tally, key: str) -> str:
    total = tally.n[key + "_total"]
    return f"{tally.n[key + '_ok']}/{total}" if total else "-"


def matrix(cells: dict[tuple, Tally], title: str, columns: list[str]) -> None:
    """Rows are forgery methods (or `genuine`), columns `columns` and `all`; each cell 'detected (region hit)'
    or, for genuine rows, 'false positives / genuine'."""
    rows = sorted({r for r, _ in cells})
    print(f"{title:16}" + "".join(f"{c:>18}" for c in columns + ["all"]))
    for row in rows + (["all"] if len(rows) > 1 else []):
        line = []
        for column in columns + ["all"]:
            t = Tally()
            for (r, c), v in cells.items():
                if row in ("all", r) and column in ("all", c):
                    for k, n in v.n.items():
                        t.n[k] += n
            if row == "genuine":
                line.append(cell(t, "false_positive"))
            else:
                region = cell(t, "region")
                line.append(cell(t, "detected") + (f" ({region})" if region != "-" else ""))
        print(f"{row:16}" + "".join(f"{v:>18}" for v in line))


def bundles(dirs: list[Path], why: bool) -> None:
    """The bundle checks over the bundle set (`bundle.truth.json`, `fixtures/generate.py --set bundle`): per case,
    whether EMPLOYER_MISMATCH and INCOME_FLUCTUATION were decided as the truth expects, whether the statement's own
    arithmetic found what the balances say, and whether the bundle raised exactly the expected bundle codes."""
    truths = sorted(p for d in dirs for p in d.rglob("bundle.truth.json"))
    if not truths:
        return
    cases: dict[str, Tally] = defaultdict(Tally)
    for path in truths:
        truth = json.loads(path.read_text(encoding="utf-8"))
        results = []
        for name in truth["files"]:
            doc = open_document(name, (path.parent / name).read_bytes())
            try:
                results.append(pipeline.verify_document(doc))
            finally:
                doc.close()
        codes = {f["code"] for f in pipeline.verify_bundle(results)["findings"]}
        expected = truth["expected"]
        broken = any(f.code.startswith("BALANCE_") for f in results[truth["files"].index("statement.pdf")].findings)
        tally = cases[truth["case"]]
        tally.add("employer", ("EMPLOYER_MISMATCH" not in codes) == expected["employer_match"])
        tally.add("fluctuation", ("INCOME_FLUCTUATION" in codes) == expected["income_fluctuation"])
        tally.add("balances", broken != truth["balances_reconcile"])
        tally.add("codes", codes == set(expected["codes"]))
        if why and codes != set(expected["codes"]):
            print(f"bundle {path.parent}: {sorted(codes)}, expected {expected['codes']}")
    print()
    table(cases, [("employer match", "employer"), ("income fluctuation", "fluctuation"),
                  ("statement arithmetic", "balances"), ("bundle codes exact", "codes")], seconds=False)


def population(dirs: list[Path], why: bool, seed: int = 1) -> None:
    """Reuse across applicants on the population set: see the module's docstring."""
    import random

    import redis

    from worker.localredis import LocalRedis
    from worker.reuse import Applicant, Index

    for path in sorted(p for d in dirs for p in d.rglob("population.jsonl")):
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        jobs: dict[int, list[dict]] = defaultdict(list)
        for r in records:
            jobs[r["applicant"]].append(r)
        order = [(f"job{a:05d}", docs) for a, docs in jobs.items()]
        order += [(f"again{a:05d}", docs) for a, docs in list(jobs.items())[:40] if not any(d["ring"] for d in docs)][:20]
        random.Random(seed).shuffle(order)
        rings: dict[str, Tally] = defaultdict(Tally)
        seen_ring: dict[str, int] = defaultdict(int)
        codes: dict[str, int] = defaultdict(int)
        genuine = flagged_genuine = flagged = flagged_ring = notes = 0
        with LocalRedis() as url:
            index = Index(redis.Redis.from_url(url))
            start = time.perf_counter()
            for job_id, docs in order:
                applicant = Applicant.of(docs[0]["id_number"])
                for d in docs:
                    fp = Fingerprints.from_dict(d["fingerprints"])
                    found = index.findings(fp, job_id, applicant)
                    notes += sum(f.severity == "low" for f in found)
                    flags = [f for f in found if f.severity != "low"]
                    for f in flags:
                        codes[f.code] += 1
                    ring = d["ring"]
                    flagged += bool(flags)
                    if ring:
                        flagged_ring += bool(flags)
                        if seen_ring[ring]:  # an earlier document of the ring was there to match
                            rings[ring].add("recall", bool(flags))
                        seen_ring[ring] += 1
                    else:
                        genuine += 1
                        flagged_genuine += bool(flags)
                        if flags and why:
                            print(f"false positive {d['file']} ({job_id}): {[f.message for f in flags]}")
                    if ring and seen_ring[ring] > 1 and not flags and why:
                        print(f"missed {d['file']} of ring {ring} ({job_id})")
                index.add_job({"job_id": job_id, "applicant": {"key": applicant.key, "masked": applicant.masked},
                               "documents": [{"file": d["file"], "fingerprints": d["fingerprints"]} for d in docs]})
            seconds = time.perf_counter() - start
        lookups = sum(len(docs) for _, docs in order)
        recall = Tally()
        for t in rings.values():
            for key, n in t.n.items():
                recall.n[key] += n
        print(f"\npopulation {path.parent}: {len(jobs)} applicants, {len(order)} jobs, {lookups} documents "
              f"({genuine} genuine), {seconds / lookups * 1000:.1f} ms per document looked up and indexed")
        for name, t in sorted(rings.items()):
            print(f"  ring {name:16} recall {t.rate('recall')}")
        print(f"  all rings          recall {recall.rate('recall')}, precision "
              f"{flagged_ring}/{flagged} = {flagged_ring / max(flagged, 1):.1%}")
        print(f"  genuine documents  false positives {flagged_genuine}/{genuine} = {flagged_genuine / max(genuine, 1):.2%}"
              f"; low-severity notes (same-employer seal) {notes}")
        print("  flags by code: " + ", ".join(f"{c} {n}" for c, n in sorted(codes.items())))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path, default=[ROOT / "fixtures" / "samples"])
    parser.add_argument("--why", action="store_true", help="list the findings on false positives and misses")
    parser.add_argument("--checks", default=None, help="comma-separated check names to run alone (no OCR)")
    args = parser.parse_args()
    paths = sorted(p for d in args.dirs for p in d.rglob("*") if p.suffix in (".pdf", ".jpg", ".png")
                   and p.with_name(p.name + ".truth.json").exists())
    checks = set(args.checks.split(",")) if args.checks else None
    groups, forensic, image = evaluate(paths, args.why, checks)
    if not checks and paths:
        table(groups, [("transactions exact", "txn"), ("amounts+dates", "value"), ("balance fails", "balance_fail"),
                       ("header fields", "field"), ("kind", "kind"), ("detected", "detected"),
                       ("false positives", "false_positive")], seconds=True)
        print()
    if forensic:
        table(forensic, [("detected", "detected"), ("region hit", "region"), ("false positives", "false_positive")],
              seconds=False)
    if image:
        seen = {column for _, column in [*image["genuine"], *image["channel"]]}
        channels = [c for c in IMAGE_CHANNELS if c in seen]
        print("\nimage forgeries: detected (region hit) per method x channel")
        matrix(image["channel"], "method", channels)
        print("\nimage forgeries: detected (region hit) per method x after")
        matrix(image["after"], "method", [a for a in IMAGE_AFTERS if a in {c for _, c in image["after"]}])
        print("\ngenuine images: false positives per channel")
        matrix(image["genuine"], "", channels)
    if not checks:
        bundles(args.dirs, args.why)
        population(args.dirs, args.why)


if __name__ == "__main__":
    main()
