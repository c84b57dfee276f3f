from datetime import datetime, timedelta, timezone

import pytest

from checks.ingest import open_document
from checks.pdf_metadata import check, editor_in, last_writer, parse_pdf_date
from tests.make import rewrite, text_pdf

GENUINE = text_pdf(["中国工商银行借记账户历史明细（电子版）", "2024-01-15 代发工资 12,000.00 45,000.00"], pages=2)


def codes(data: bytes) -> list[str]:
    doc = open_document("s.pdf", data)
    try:
        return [f.code for f in check(doc) if f.code != "PDF_REWRITTEN"]
    finally:
        doc.close()


def test_editor_producer_is_medium_review_material():
    edited = rewrite(GENUINE, info={"/Producer": "Foxit PDF Editor 12.1.2", "/Creator": "WPS 文字"})
    doc = open_document("s.pdf", edited)
    found = [f for f in check(doc) if f.code != "PDF_REWRITTEN"]
    assert [(f.code, f.evidence["field"]) for f in found] == [("PDF_EDITOR_SOFTWARE", "Producer")]
    assert found[0].severity == "medium"


@pytest.mark.parametrize("value, editor", [
    ("Adobe Acrobat Pro DC 23.1", "Adobe Acrobat Pro"),
    ("Wondershare PDFelement", "PDFelement"),
    ("iLovePDF", "iLovePDF"),
    ("Adobe Photoshop 25.0 (Windows)", "Photoshop"),
    ("ReportLab PDF Library - www.reportlab.com", None),
    ("Acrobat Distiller 21.0 (Windows)", None),
    ("LibreOffice 7.5", None),
    ("WPS 文字", None),
])
def test_editor_list(value, editor):
    assert editor_in(value) == editor


def test_late_modification_and_malformed_dates():
    late = rewrite(GENUINE, info={"/CreationDate": "D:20240301090000+08'00'", "/ModDate": "D:20240915120000+08'00'"})
    assert codes(late) == ["PDF_MODIFIED_AFTER_CREATION"]
    prompt = rewrite(GENUINE, info={"/CreationDate": "D:20240301090000+08'00'", "/ModDate": "D:20240301090004+08'00'"})
    assert codes(prompt) == []
    broken = rewrite(GENUINE, info={"/CreationDate": "yesterday"})
    assert codes(broken) == ["PDF_METADATA_MALFORMED"]


def test_info_and_xmp_disagree():
    mixed = rewrite(GENUINE, info={"/Producer": "ICBC Statement Engine"}, xmp_producer="Adobe Acrobat Pro DC")
    assert "PDF_METADATA_MISMATCH" in codes(mixed)


def test_info_and_xmp_dates_disagree():
    base = rewrite(GENUINE, info={"/ModDate": "D:20240301090000+08'00'"})
    mixed = rewrite(base, xmp_dates={"xmp:ModifyDate": "2024-09-15T12:00:00+08:00"})
    doc = open_document("s.pdf", mixed)
    (f,) = [f for f in check(doc) if f.code == "PDF_METADATA_MISMATCH"]
    assert f.evidence["field"] == "ModDate" and f.evidence["xmp"].startswith("2024-09-15T12:00")
    same = rewrite(base, xmp_dates={"xmp:ModifyDate": "2024-03-01T09:00:00+08:00"})
    assert "PDF_METADATA_MISMATCH" not in codes(same)


def test_stripped_metadata():
    stripped = rewrite(GENUINE, info={"/Producer": "", "/Creator": "", "/CreationDate": ""})
    assert "PDF_METADATA_MISSING" in codes(stripped)


@pytest.mark.parametrize("text, expected", [
    ("D:20240301090000+08'00'", datetime(2024, 3, 1, 9, tzinfo=timezone(timedelta(hours=8)))),
    ("D:20240301090000Z", datetime(2024, 3, 1, 9, tzinfo=timezone.utc)),
    ("D:2024", datetime(2024, 1, 1, tzinfo=timezone.utc)),
    ("D:20241301", None),
    ("2024-03-01", None),
])
def test_pdf_dates(text, expected):
    assert parse_pdf_date(text) == expected


def test_a_rewrite_by_a_general_tool_is_found_by_its_header():
    assert last_writer(GENUINE)["name"] == "ReportLab"
    rewritten = rewrite(GENUINE)
    assert last_writer(rewritten)["name"] == "qpdf / pikepdf"
    doc = open_document("s.pdf", rewritten)
    (f,) = check(doc)
    assert (f.code, f.severity) == ("PDF_REWRITTEN", "low")
    assert f.evidence["producer"].startswith("ReportLab") and f.evidence["ids_differ"]


def test_a_file_written_by_the_tool_its_producer_names_is_not_rewritten():
    doc = open_document("s.pdf", rewrite(GENUINE, info={"/Producer": "pikepdf 10.18.0"}))
    assert check(doc) == []


def test_edit_history_in_xmp():
    history = rewrite(GENUINE, xmp_history=["Adobe Acrobat Pro DC 23.1", "ReportLab"])
    doc = open_document("s.pdf", history)
    (f,) = [f for f in check(doc) if f.code == "PDF_EDIT_HISTORY"]
    assert f.evidence["agents"] == "Adobe Acrobat Pro DC 23.1" and f.evidence["entries"] == 2


def test_a_signing_update_that_restamps_info_is_not_a_metadata_mismatch():
    from tests.make import signed

    with_xmp = rewrite(GENUINE, info={"/Producer": "pikepdf"}, xmp_producer="pikepdf")
    doc = open_document("s.pdf", signed(with_xmp))
    assert "pyHanko" in str(doc.pdf.docinfo["/Producer"])
    assert "PDF_METADATA_MISMATCH" not in [f.code for f in check(doc)]
