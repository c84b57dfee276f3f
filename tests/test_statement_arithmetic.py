"""Statement arithmetic over real statements: drawn by the fixtures' statement makers (reportlab, WeasyPrint,
PyMuPDF), edited in their content streams and saved whole the way a careful forger saves them, then read back
through the whole pipeline."""
import random
import sys
from datetime import timedelta
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))

import pdf_forgery as pf  # noqa: E402
import pdfset  # noqa: E402
from tests.make import verified  # noqa: E402
from checks import statement_arithmetic  # noqa: E402
from checks.ingest import open_document  # noqa: E402

SEED = 20251128


def verify(data: bytes):
    return verified("statement.pdf", data)


def arithmetic(result) -> list:
    return [f for f in result.findings if f.code.startswith("BALANCE_")]


@pytest.fixture(scope="module")
def icbc():
    return pdfset.make_statement(SEED, "icbc", "reportlab", 1)


def edited(orig, changes) -> bytes:
    """`changes` typed into the content stream, then the file saved whole with the issuer's metadata."""
    targets = [pdfset.locate(orig, ch) for ch in changes]
    data = pf.stream_edit(orig.pdf, targets, orig.issued + timedelta(days=3))
    return pf.rewrite(data, orig.pdf, "pikepdf")


def raised_salary(orig, repair: bool):
    """The first salary credit the set's forgers would raise, as a plan of changes."""
    return next(pdfset.statement_plans(orig, random.Random(1), repair))


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("layout, producer", [("icbc", "reportlab"), ("cmb", "weasyprint"), ("ccb", "pymupdf")])
def test_genuine_statements_add_up(layout, producer):
    # CMB prints the newest row first; every layout prints totals under the rows.
    result = verify(pdfset.make_statement(SEED, layout, producer, 1).pdf)
    assert result.kind == "bank_statement"
    assert ("statement_arithmetic", "ran") in {(c.name, c.status) for c in result.checks}
    assert arithmetic(result) == []


def test_a_raised_amount_breaks_its_row_and_the_totals(icbc):
    plan = raised_salary(icbc, repair=False)
    (change,) = plan.changes
    found = arithmetic(verify(edited(icbc, plan.changes)))
    rows = [f for f in found if f.code == "BALANCE_ROW_BROKEN"]
    (row,) = rows
    assert (row.severity, row.page, row.units) == ("high", change.page, "pt")
    assert overlaps(row.bbox, change.region)
    raise_ = float(change.after.replace(",", "")) - float(change.before.replace(",", ""))
    assert float(row.evidence["difference"]) == pytest.approx(-raise_)
    assert row.evidence["suspect"] == "amount or balance"
    totals = {f.evidence["total"] for f in found if f.code == "BALANCE_TOTAL_MISMATCH"}
    assert totals == {"income_total"}


def test_a_changed_balance_is_reported_once_on_its_own_row(icbc):
    row = icbc.truth["transactions"][5]
    cell = row["cells"]["balance"]
    before = cell["lines"][0]
    after = before[:-4] + ("1" if before[-4] != "1" else "2") + before[-3:]  # one yuan digit changed
    change = pdfset.Change(row["page"], before, after, "balance", "right", region=tuple(cell["bbox"]))
    (found,) = arithmetic(verify(edited(icbc, [change])))
    assert (found.code, found.evidence["suspect"], found.evidence["broken_rows"]) == ("BALANCE_ROW_BROKEN",
                                                                                        "balance", 1)
    assert overlaps(found.bbox, cell["bbox"])
    assert found.evidence["printed"] == after.replace(",", "")


def test_a_repaired_statement_adds_up_and_is_left_to_the_file_checks(icbc):
    # Every later balance and the totals rewritten too: the arithmetic holds, so this check has nothing to say.
    plan = raised_salary(icbc, repair=True)
    assert len(plan.changes) > 2
    assert arithmetic(verify(edited(icbc, plan.changes))) == []


def _doc_with(rows: list[dict], fields: dict, ocr: str = ""):
    doc = open_document("statement.pdf", pdfset.make_statement(SEED, "icbc", "reportlab", 1).pdf)
    doc.kind = "bank_statement"
    doc.pages[0].ocr = ocr
    doc.extracted = {"fields": fields, "transactions": rows}
    return doc


def _row(date: str, credit: str | None, debit: str | None, balance: str | None, page: int = 1) -> dict:
    return {"date": date, "credit": credit, "debit": debit, "balance": balance, "page": page,
            "bbox": [10.0, 10.0, 100.0, 20.0]}


def test_rows_without_a_printed_balance_carry_the_running_figure():
    rows = [_row("2025-03-01", None, None, "100.00"), _row("2025-03-02", "50.00", None, None),
            _row("2025-03-02", None, "30.00", "120.00"), _row("2025-03-03", "1.00", None, "122.00")]
    found = statement_arithmetic.check(_doc_with(rows, {}))
    assert [(f.code, f.evidence["expected"], f.evidence["printed"]) for f in found] == [
        ("BALANCE_ROW_BROKEN", "121.00", "122.00")]


def test_a_row_read_without_its_amount_starts_the_walk_again():
    """On a scan two wrapped rows can merge and lose their figures: the chain is unknown there, not broken;
    a break after it is still found."""
    rows = [_row("2025-03-01", None, None, "100.00"), _row("2025-03-02", "50.00", None, "150.00"),
            _row("2025-03-03", None, None, "74.49"),  # the debit of 75.51 was not read
            _row("2025-03-04", None, None, None),  # a row merged into its neighbour: nothing read
            _row("2025-03-05", None, "10.00", "44.49"), _row("2025-03-06", None, "10.00", "30.00")]
    found = statement_arithmetic.check(_doc_with(rows, {}, ocr="rapidocr"))
    assert [(f.code, f.evidence["expected"], f.evidence["printed"]) for f in found] == [
        ("BALANCE_ROW_BROKEN", "34.49", "30.00")]
    # In a text layer a row without its amount is itself the trace (a covered figure under its retyping).
    found = statement_arithmetic.check(_doc_with(rows, {}))
    assert ("150.00", "74.49") in [(f.evidence["expected"], f.evidence["printed"]) for f in found]


def test_on_ocr_pages_a_broken_row_asks_for_review_only():
    rows = [_row("2025-03-01", None, None, "100.00"), _row("2025-03-02", "50.00", None, "160.00")]
    (found,) = statement_arithmetic.check(_doc_with(rows, {}, ocr="rapidocr"))
    assert found.severity == "medium"


def test_dates_out_of_order_and_outside_the_period():
    rows = [_row("2025-03-01", None, None, "100.00"), _row("2025-03-05", "1.00", None, "101.00"),
            _row("2025-03-04", "1.00", None, "102.00"), _row("2025-04-02", "1.00", None, "103.00")]
    period = {"period_start": {"value": "2025-03-01"}, "period_end": {"value": "2025-03-31"}}
    found = statement_arithmetic.check(_doc_with(rows, period))
    assert [(f.code, f.evidence["date"]) for f in found] == [("BALANCE_DATE_ORDER", "2025-03-04"),
                                                            ("BALANCE_DATE_OUTSIDE_PERIOD", "2025-04-02")]


def test_documents_other_than_statements_are_not_checked():
    doc = _doc_with([_row("2025-03-01", None, None, "1.00")] * 3, {})
    doc.kind = "employment_proof"
    assert not statement_arithmetic.applies(doc)
