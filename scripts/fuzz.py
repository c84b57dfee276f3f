#!/usr/bin/env python3
"""Fuzz campaign over the ingest and the checks: Hypothesis draws mutated real documents (tests/fuzzing.py) and
each is opened (and checked) under the property that nothing raises but an INPUT_ error and nothing hangs.

    .venv/bin/python scripts/fuzz.py --target ingest   --max-examples 3000 --seconds 900
    .venv/bin/python scripts/fuzz.py --target pipeline --max-examples 1500 --seconds 1200   # text PDFs, all checks
    .venv/bin/python scripts/fuzz.py --target image    --max-examples 300  --seconds 900    # images, OCR included

Prints cases per second, outcomes by INPUT_ code, the checks that reported errors, and every property violation
(crasher) by signature. The first case of each new signature is saved to tests/fuzz_corpus/<sha256[:16]>.<ext> and
listed in tests/fuzz_corpus/README.md, which tests/test_fuzz.py replays. Exits 1 if any case broke the property.
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from checks.ingest import sniff  # noqa: E402
from checks.ocr import DEFAULT_ENGINE  # noqa: E402
from tests.fuzzing import CORPUS, Violation, mutated, outcome  # noqa: E402

TARGETS = {  # seed kinds, whether the checks run after opening
    "ingest": (("pdf", "image", "other"), False),
    "pipeline": (("pdf",), True),
    "image": (("image",), True),
}
_EXT = {"pdf": "pdf", "jpeg": "jpg", "png": "png", "tiff": "tif", "webp": "webp", "bmp": "bmp", "heic": "heic"}


class _TimeUp(BaseException):
    """Ends the Hypothesis run when --seconds are spent (a BaseException, so Hypothesis does not shrink it)."""


def save_crasher(target: str, signature: str, data: bytes) -> Path:
    CORPUS.mkdir(exist_ok=True)
    path = CORPUS / f"{hashlib.sha256(data).hexdigest()[:16]}.{_EXT.get(sniff(data), 'bin')}"
    path.write_bytes(data)
    index = CORPUS / "README.md"
    if not index.exists():
        index.write_text("# Fuzzing regression corpus\n\nFiles that broke the property in a `scripts/fuzz.py` "
                         "campaign; `tests/test_fuzz.py` replays each one.\n\n| file | target | what it broke | fix |\n"
                         "| --- | --- | --- | --- |\n", encoding="utf-8")
    with index.open("a", encoding="utf-8") as fh:
        fh.write(f"| `{path.name}` | {target} | {signature.replace('|', '/')} | not yet |\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", choices=sorted(TARGETS), default="ingest")
    parser.add_argument("--max-examples", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=600, help="stop drawing new cases after this long")
    parser.add_argument("--bound", type=float, default=60, help="seconds one case may take (a hang beyond it is a crasher)")
    parser.add_argument("--seed", type=int, default=None, help="Hypothesis seed (default: random)")
    parser.add_argument("--ocr-engine", default=DEFAULT_ENGINE)
    parser.add_argument("--no-save", action="store_true", help="do not write crashers to tests/fuzz_corpus/")
    args = parser.parse_args()
    kinds, checks = TARGETS[args.target]
    # Parsers warn and log about every damaged file; here damage is the point, and the counts say what happened.
    warnings.simplefilter("ignore")
    logging.disable(logging.CRITICAL)

    outcomes, check_errors, crashers = Counter(), Counter(), Counter()
    first: dict[str, tuple[str, str]] = {}
    start = time.monotonic()

    @settings(max_examples=args.max_examples, database=None, deadline=None, phases=[Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(mutated(kinds))
    def campaign(case):
        if time.monotonic() - start > args.seconds:
            raise _TimeUp
        name, data = case
        try:
            label, errors = outcome(name, data, checks=checks, ocr_engine=args.ocr_engine, seconds=args.bound)
        except Violation as exc:
            outcomes["crash"] += 1
            crashers[exc.signature] += 1
            if exc.signature not in first:
                saved = "" if args.no_save else str(save_crasher(args.target, exc.signature, data).relative_to(ROOT))
                first[exc.signature] = (saved, str(exc))
                print(f"CRASH {exc.signature} (from {name}) {saved}\n{exc}", file=sys.stderr, flush=True)
            return
        outcomes[label] += 1
        check_errors.update(e.split(":")[0] + ":" + e.split(":", 2)[1][:60] if ":" in e else e for e in errors)
        done = sum(outcomes.values())
        if done % 100 == 0:
            print(f"  {done} cases, {done / (time.monotonic() - start):.1f}/s", file=sys.stderr, flush=True)

    if args.seed is not None:
        campaign = seed(args.seed)(campaign)
    try:
        campaign()
    except _TimeUp:
        pass
    elapsed = time.monotonic() - start
    cases = sum(outcomes.values())
    print(f"\ntarget {args.target}: {cases} cases in {elapsed:.0f} s ({cases / max(elapsed, 1e-9):.1f} cases/s)")
    print("outcomes: " + ", ".join(f"{k} {n}" for k, n in outcomes.most_common()))
    print("check errors: " + (", ".join(f"{k} ×{n}" for k, n in check_errors.most_common()) or "none"))
    print(f"crashers: {sum(crashers.values())} cases, {len(crashers)} distinct")
    for signature, n in crashers.most_common():
        print(f"  {n:5} × {signature}  {first[signature][0]}")
    sys.exit(1 if crashers else 0)


if __name__ == "__main__":
    main()
