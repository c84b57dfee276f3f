#!/usr/bin/env python3
"""Run every check over real-world PDFs that nobody made for docverify: the test files shipped inside the
source distributions of PDF libraries (pypdf, pikepdf, pdfplumber, pdfminer.six), fetched from PyPI.

    .venv/bin/python scripts/realworld.py [--cache DIR] [--why] [DIR ...]

With no DIR, downloads the pinned sdists into the cache (default ~/.cache/docverify/realworld) once and
reads the PDFs inside them. Prints how many files open, how many are refused (by INPUT_ code), how many get
each verdict and which codes fire. Exits 1 if any check crashes on a file (a crash is a bug: bad input must
end in an INPUT_ error, and a broken check must be reported as a check error, not raise).
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tarfile
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checks import pipeline  # noqa: E402
from checks.ingest import open_document  # noqa: E402
from checks.model import InputError  # noqa: E402

SDISTS = ["pypdf==7.1.1", "pikepdf==10.18.0", "pdfplumber==0.11.10", "pdfminer.six==20260107"]


def fetch(cache: Path) -> list[tuple[str, bytes]]:
    """The PDFs inside the sdists, as (name, bytes), downloading what the cache lacks."""
    cache.mkdir(parents=True, exist_ok=True)
    for spec in SDISTS:
        stem = spec.split("==")[0].replace(".", "_").replace("-", "_").lower()
        if not any(p.name.lower().replace("-", "_").startswith(stem) for p in cache.glob("*.tar.gz")):
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q",
                            "-d", str(cache), spec], check=True)
    files = []
    for sdist in sorted(cache.glob("*.tar.gz")):
        with tarfile.open(sdist) as tar:
            for member in tar.getmembers():
                if member.isfile() and member.name.lower().endswith(".pdf"):
                    files.append((f"{sdist.name.split('-')[0]}:{member.name.split('/', 1)[-1]}",
                                  tar.extractfile(member).read()))
    return files


def from_dirs(dirs: list[Path]) -> list[tuple[str, bytes]]:
    return [(str(p), p.read_bytes()) for d in dirs for p in sorted(d.rglob("*")) if p.suffix.lower() == ".pdf"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "docverify" / "realworld")
    parser.add_argument("--why", action="store_true", help="print each flagged file with its findings")
    args = parser.parse_args()
    files = from_dirs(args.dirs) if args.dirs else fetch(args.cache)

    refused, verdicts, codes, check_errors = Counter(), Counter(), Counter(), Counter()
    crashes = []
    for name, data in files:
        try:
            doc = open_document(name, data)
        except InputError as exc:
            refused[exc.code] += 1
            continue
        except Exception:  # noqa: BLE001 — counted and printed: this is what the script is for
            crashes.append((name, traceback.format_exc()))
            continue
        try:
            result = pipeline.verify_document(doc)
        except Exception:  # noqa: BLE001
            crashes.append((name, traceback.format_exc()))
            continue
        finally:
            doc.close()
        verdicts[result.verdict.verdict] += 1
        fired = sorted({f"{f.code}:{f.severity}" for f in result.findings})
        codes.update(fired)
        check_errors.update(c.name for c in result.checks if c.status == "error")
        if args.why and result.verdict.verdict != "pass":
            print(f"{result.verdict.verdict:6} {name}: {', '.join(fired)}")

    opened = sum(verdicts.values())
    print(f"\n{len(files)} PDFs: {opened} checked, {sum(refused.values())} refused, {len(crashes)} crashed")
    print("refused: " + (", ".join(f"{c} {n}" for c, n in refused.most_common()) or "none"))
    print("verdicts: " + ", ".join(f"{v} {verdicts[v]} ({verdicts[v] / max(opened, 1):.0%})"
                                   for v in ("pass", "review", "reject")))
    print("check errors: " + (", ".join(f"{c} {n}" for c, n in check_errors.most_common()) or "none"))
    for code, n in codes.most_common():
        print(f"  {n:4}  {code}")
    for name, trace in crashes:
        print(f"\nCRASH {name}\n{trace}", file=sys.stderr)
    sys.exit(1 if crashes else 0)


if __name__ == "__main__":
    main()
