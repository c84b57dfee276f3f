"""Income in figures against capitals, over real proofs drawn by the fixtures' proof makers (fpdf2, WeasyPrint,
PyMuPDF) with the income raised in figures in their content streams, then saved whole the way a careful forger saves them."""
import random
import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))

import pdf_forgery as pf  # noqa: E402
import pdfset  # noqa: E402
from tests.make import verified  # noqa: E402
from checks import proof_capitals  # noqa: E402
from checks.ingest import open_document  # noqa: E402

SEED = 20251128


def verify(data: bytes):
    return verified("proof.pdf", data)


def mismatches(result) -> list:
    return [f for f in result.findings if f.code == "INCOME_CAPITALS_MISMATCH"]


def raised(producer: str):
    """A proof of `producer` with its income raised in figures alone, the way the forgery set raises it: typed
    into the content stream in the issuer's subset (which lacks the glyphs for new capitals), then the file saved
    whole."""
    for k in range(1, 8):
        orig = pdfset.make_proof_doc(SEED, producer, k)
        for plan in pdfset.proof_income_plans(orig, random.Random(k)):
            try:
                targets = [pdfset.locate(orig, ch) for ch in plan.changes]
                data = pf.stream_edit(orig.pdf, targets, orig.issued + timedelta(days=2))
            except pf.Unforgeable:
                continue
            return pf.rewrite(data, orig.pdf, "pikepdf"), targets
    pytest.fail(f"no {producer} proof could be edited")


PRODUCERS = ["fpdf2", "weasyprint", "pymupdf"]


@pytest.mark.parametrize("producer", PRODUCERS)
def test_a_genuine_proof_agrees(producer):
    result = verify(pdfset.make_proof_doc(SEED, producer, 1).pdf)
    assert result.kind == "employment_proof"
    assert ("proof_capitals", "ran") in {(c.name, c.status) for c in result.checks}
    assert mismatches(result) == []


@pytest.mark.parametrize("producer", PRODUCERS)
def test_figures_raised_alone_disagree_with_the_capitals_at_the_figures(producer):
    data, (target,) = raised(producer)
    (found,) = mismatches(verify(data))
    assert (found.severity, found.page, found.units) == ("high", 1, "pt")
    assert found.evidence["figures"] == target.after.replace(",", "")
    assert found.evidence["capitals_amount"] == target.before.replace(",", "")
    x0, top, x1, bottom = found.bbox  # the figures themselves, not the line or the page's first word
    assert x0 < target.bbox[2] and target.bbox[0] < x1 and top < target.bbox[3] and target.bbox[1] < bottom
    assert x1 - x0 < 2 * (target.bbox[2] - target.bbox[0])


def test_only_proofs_with_both_amounts_are_checked():
    doc = open_document("statement.pdf", pdfset.make_statement(SEED, "icbc", "reportlab", 1).pdf)
    doc.kind, doc.extracted = "bank_statement", {"fields": {}, "transactions": []}
    assert not proof_capitals.applies(doc)
