from datetime import datetime, timedelta, timezone

import pytest

from checks.ingest import open_document
from checks.pdf_structure import check, editor_in, parse_pdf_date, revision_ends
from tests.make import incremental, rewrite, text_pdf

GENUINE = text_pdf(["中国工商银行借记账户历史明细（电子版）", "2024-01-15 代发工资 12,000.00 45,000.00"], pages=2)


def codes(data: bytes) -> list[str]:
    doc = open_document("s.pdf", data)
    try:
        return [f.code for f in check(doc)]
    finally:
        doc.close()


def _retype(writer):
    page = writer.pages[0]
    contents = page.get_contents()
    contents.set_data(contents.get_data().replace(b"12,000.00", b"52,000.00"))
    page.replace_contents(contents)


def test_genuine_export_has_no_findings():
    assert codes(GENUINE) == []


def test_incremental_content_edit_is_high_and_names_the_page():
    edited = incremental(GENUINE, _retype)
    doc = open_document("s.pdf", edited)
    (f,) = [f for f in check(doc) if f.code == "PDF_REVISION_CONTENT_CHANGED"]
    assert f.severity == "high" and f.page == 1
    assert f.evidence["revision"] == 2 and f.evidence["revisions"] == 2
    assert f.evidence["offset"] == len(GENUINE.rstrip(b"\n"))


def test_metadata_only_update_is_benign():
    updated = incremental(GENUINE, lambda w: w.add_metadata({"/Title": "流水"}))
    assert codes(updated) == ["PDF_REVISION_BENIGN"]


def test_annotation_update_is_benign():
    from pypdf.annotations import FreeText

    def annotate(writer):
        writer.add_annotation(0, FreeText(text="checked", rect=(50, 550, 200, 650)))

    found = codes(incremental(GENUINE, annotate))
    assert "PDF_REVISION_BENIGN" in found and "PDF_REVISION_CONTENT_CHANGED" not in found


def test_linearization_is_not_a_revision():
    linear = rewrite(GENUINE, linearize=True)
    assert linear.count(b"%%EOF") == 2
    assert len(revision_ends(linear)) == 1
    assert codes(linear) == []


def test_editor_producer_is_medium_review_material():
    edited = rewrite(GENUINE, info={"/Producer": "Foxit PDF Editor 12.1.2", "/Creator": "WPS 文字"})
    doc = open_document("s.pdf", edited)
    found = check(doc)
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
