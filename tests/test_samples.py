"""The committed sample documents: reproducible from the generator, and checked as their truth says."""
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from checks import pipeline
from checks.ingest import open_document

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
DOCUMENTS = sorted(p for p in SAMPLES.glob("*/*") if p.suffix in (".pdf", ".jpg"))


def truth(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))


def verify(path: Path):
    doc = open_document(path.name, path.read_bytes())
    try:
        return pipeline.verify_document(doc)
    finally:
        doc.close()


def test_samples_are_committed():
    assert len(DOCUMENTS) >= 15, f"sample set missing: run `.venv/bin/python fixtures/generate.py --out {SAMPLES}`"


def test_generator_reproduces_the_committed_pdfs(tmp_path):
    # In a fresh interpreter, as users run it: reportlab keeps process-wide font state between documents, and
    # the evaluation set's HTML renderer sets SOURCE_DATE_EPOCH, which reportlab's font subsetter also reads.
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    subprocess.run([sys.executable, str(SAMPLES.parent / "generate.py"), "--out", str(tmp_path)], check=True,
                   capture_output=True, env=env)
    pdfs = sorted(tmp_path.glob("*/*.pdf"))
    assert len(pdfs) >= 12
    for path in pdfs:
        committed = SAMPLES / path.relative_to(tmp_path)
        assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(committed.read_bytes()).digest(), path


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if p.suffix == ".pdf"], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_pdf_samples_get_the_verdict_their_truth_calls_for(path):
    t = truth(path)
    result = verify(path)
    codes = {f.code for f in result.findings}
    assert result.kind == t["kind"]
    methods = {e.get("method") for e in t["tampering"]}
    if t["genuine"]:
        assert result.verdict.verdict == "pass", codes
        assert all(f.severity == "low" for f in result.findings), codes
    elif "incremental_update" in methods:
        assert result.verdict.verdict == "reject"
        edit = t["tampering"][0]
        changed = [f for f in result.findings if f.code == "PDF_REVISION_TEXT_CHANGED"]
        assert any(f.page == edit["page"] and overlaps(f.bbox, edit["bbox"]) for f in changed), changed
        assert edit["after"] in {f.evidence["after"] for f in changed}
    else:  # a full rewrite keeps no revisions, but the rewriting tool's own header gives it away
        assert result.verdict.verdict != "pass" and "PDF_REWRITTEN" in codes


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("path", [p for p in DOCUMENTS if p.suffix == ".jpg"], ids=lambda p: f"{p.parent.name}/{p.name}")
def test_image_samples_open_with_their_pixel_size(path):
    result = verify(path)
    assert result.format == "image" and result.pages == 1
    assert {c.name: c.status for c in result.checks}["pdf_revisions"] == "not_applicable"
