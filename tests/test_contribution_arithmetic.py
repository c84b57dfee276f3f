"""Contribution arithmetic over real social-insurance records: drawn by the fixtures' record makers, a base raised in
the content stream and the file saved whole; and an exported page whose base had another row's base copied over
it with OpenCV and was saved twice (the image set's forgery), read back through the whole pipeline with OCR."""
import random
import sys
from datetime import timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))

import pdf_forgery as pf  # noqa: E402
import pdfset  # noqa: E402
from common import money  # noqa: E402
from tests.make import verified  # noqa: E402
from tests.test_image_text import overlaps  # noqa: E402
from checks import contribution_arithmetic  # noqa: E402
from checks.ingest import open_document  # noqa: E402

SEED = 20251128
PRODUCERS = ["fpdf2", "weasyprint", "pymupdf"]  # reportlab's record has no cell boxes to edit a base by


def mismatches(result) -> list:
    return [f for f in result.findings if f.code == "SI_CONTRIBUTION_MISMATCH"]


@pytest.mark.parametrize("producer", PRODUCERS + ["reportlab"])
def test_genuine_records_add_up(producer):
    result = verified("si.pdf", pdfset.make_si_doc(SEED, producer, 1).pdf)
    assert result.kind == "social_insurance"
    assert ("contribution_arithmetic", "ran") in {(c.name, c.status) for c in result.checks}
    assert mismatches(result) == []


@pytest.mark.parametrize("producer", PRODUCERS)
def test_a_base_raised_alone_no_longer_carries_its_shares(producer):
    orig = pdfset.make_si_doc(SEED, producer, 1)
    row = orig.truth["contributions"][0]
    cell = row["cells"]["base"]
    raised = pdfset._raised(int(Decimal(row["base"]) * 100), random.Random(1))
    change = pdfset.Change(row["page"], cell["text"], money(raised), "base", "right", region=tuple(cell["bbox"]))
    target = pdfset.locate(orig, change)
    data = pf.rewrite(pf.stream_edit(orig.pdf, [target], orig.issued + timedelta(days=2)), orig.pdf, "pikepdf")
    (found,) = mismatches(verified("si.pdf", data))
    assert (found.severity, found.page, found.units) == ("high", 1, "pt")
    assert overlaps(found.bbox, target.bbox)
    assert found.evidence["base"] == f"{Decimal(raised) / 100:.2f}"
    assert found.evidence["implied_base"] == row["base"]  # the shares still belong to the old base


def test_a_base_copied_over_on_an_exported_page_is_found_by_its_shares():
    """The image set's silent forgery: a social-insurance export (Pillow JPEG) whose first base had another row's
    base copied over it, saved by a phone editor and saved again; no pixel check finds it."""
    from fixtures.imageset import forgery, genuine

    shot = genuine(7, "export", 4)
    assert shot.orig.kind == "social_insurance"
    _, data, truth = forgery(7, shot, "copy_move", "resave", 0)
    [edit] = truth["tampering"]
    (found,) = mismatches(verified("forged.jpg", data))
    assert found.severity == "medium" and found.units == "px"  # read by OCR: a misread base looks the same
    assert overlaps(found.bbox, edit["bbox"])
    assert found.evidence["implied_base"] == edit["old_text"].replace(",", "")
    assert mismatches(verified("genuine.jpg", shot.data)) == []


def _doc_with(rows: list[dict]):
    doc = open_document("si.pdf", pdfset.make_si_doc(SEED, "fpdf2", 1).pdf)
    doc.kind = "social_insurance"
    doc.extracted = {"fields": {}, "contributions": rows}
    return doc


def _row(period: str | None, insurance: str | None, base: str, personal: str | None, unit: str | None) -> dict:
    return {"period": period, "insurance": insurance, "base": base, "personal": personal, "unit": unit, "page": 1,
            "bbox": [10.0, 10.0, 100.0, 20.0]}


def test_one_rate_changed_or_one_share_misread_is_not_a_raised_base():
    """A city that lowers the employer's pension rate mid-record changes one share of every later row; a misread
    share is one figure. Neither moves both shares to another base."""
    rows = [_row(f"2025-{m:02d}", "养老", "10000.00", "800.00", "1600.00" if m < 6 else "1500.00")
            for m in range(1, 13)]
    rows[6]["personal"] = "860.00"
    assert contribution_arithmetic.check(_doc_with(rows)) == []
    rows[8] = _row("2025-09", "养老", "12000.00", "800.00", "1500.00")  # both shares belong to 10000.00
    (found,) = contribution_arithmetic.check(_doc_with(rows))
    assert (found.evidence["period"], found.evidence["implied_base"]) == ("2025-09", "10000.00")


def _record(bases: list[str], rounding=ROUND_HALF_UP, named: bool = True) -> list[dict]:
    """Pension, medical and unemployment rows of each month's base, the shares rounded to the fen."""
    rows = []
    for m, base in enumerate(bases, 1):
        for insurance, personal, unit in (("养老", "0.08", "0.16"), ("医疗", "0.02", "0.09"), ("失业", "0.005", "0.005")):
            share = [str((Decimal(base) * Decimal(r)).quantize(Decimal("0.01"), rounding)) for r in (personal, unit)]
            rows.append(_row(f"2025-{m:02d}" if named else None, insurance if named else None, base, *share))
    return rows


def test_shares_rounded_down_fit_their_bases():
    bases = ["9975.00"] * 6 + ["10473.00"] * 6  # a base reset mid-record to a figure that does not round evenly
    assert contribution_arithmetic.check(_doc_with(_record(bases, ROUND_DOWN))) == []


def test_a_base_raised_by_a_digit_is_found_without_the_insurance_names():
    """A small picture whose period and insurance columns OCR could not read; one base had a digit copied over a
    smaller one (9,975.00 -> 9,995.00, a fifth of a percent)."""
    rows = _record(["9975.00"] * 12, named=False)
    rows[0]["base"] = "9995.00"
    (found,) = contribution_arithmetic.check(_doc_with(rows))
    assert (found.evidence["row"], found.evidence["implied_base"]) == ("unread", "9975.00")


def test_a_share_at_rate_nought_says_nothing_about_the_base():
    rows = [_row(f"2025-{m:02d}", "工伤", "10000.00", "0.00", "40.00") for m in range(1, 7)]
    rows[3]["base"] = "12000.00"
    (found,) = contribution_arithmetic.check(_doc_with(rows))
    assert found.evidence["shares"] == "40.00"


def test_documents_other_than_contribution_records_are_not_checked():
    doc = _doc_with([_row("2025-01", "养老", "1.00", "0.08", "0.16")] * 5)
    doc.kind = "bank_statement"
    assert not contribution_arithmetic.applies(doc)
