import re

from checks import pdf_metadata
from checks.ingest import open_document
from checks.pdf_revisions import check, revision_ends
from tests.make import incremental, rewrite, signed, text_pdf

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


def test_incremental_text_edit_says_what_changed_and_where():
    edited = incremental(GENUINE, _retype)
    doc = open_document("s.pdf", edited)
    (f,) = check(doc)
    assert (f.code, f.severity, f.page) == ("PDF_REVISION_TEXT_CHANGED", "high", 1)
    assert (f.evidence["before"], f.evidence["after"]) == ("12,000.00", "52,000.00")
    (amount,) = [w for w in doc.pages[0].words if w.text == "52,000.00"]
    assert f.bbox == amount.bbox and f.units == "pt"
    assert f.evidence["revision"] == 2 and f.evidence["revisions"] == 2
    assert f.evidence["offset"] == len(GENUINE.rstrip(b"\n"))


def test_content_change_without_text_change_is_still_high():
    def redraw(writer):
        page = writer.pages[0]
        contents = page.get_contents()
        contents.set_data(contents.get_data() + b"\nq 0 0 1 rg 10 10 5 5 re f Q\n")
        page.replace_contents(contents)

    doc = open_document("s.pdf", incremental(GENUINE, redraw))
    (f,) = check(doc)
    assert (f.code, f.severity, f.page) == ("PDF_REVISION_CONTENT_CHANGED", "high", 1)


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
    doc = open_document("s.pdf", linear)
    assert [(f.code, f.severity) for f in pdf_metadata.check(doc)] == [("PDF_REWRITTEN", "low")]




SIGNED = signed(GENUINE)


def test_a_signature_update_is_benign_and_its_range_covers_the_file():
    doc = open_document("s.pdf", SIGNED)
    (f,) = check(doc)
    assert (f.code, f.severity) == ("PDF_REVISION_BENIGN", "low") and "signature" in f.evidence["changed"]


def test_content_changed_after_signing_defeats_the_signature():
    doc = open_document("s.pdf", incremental(SIGNED, _retype))
    found = {f.code: f for f in check(doc)}
    after = found["PDF_CHANGED_AFTER_SIGNING"]
    assert after.severity == "high" and after.page == 1 and after.evidence["field"] == "Signature1"
    assert after.evidence["covered"] < after.evidence["size"]
    assert found["PDF_REVISION_TEXT_CHANGED"].evidence["after"] == "52,000.00"


def test_a_byte_range_with_a_hole_is_invalid():
    m = re.search(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)", SIGNED)
    shorter = str(int(m[4]) - 100).encode().rjust(len(m[4]))  # leaves the file's last 100 bytes unsigned
    broken = SIGNED[:m.start(4)] + shorter + SIGNED[m.end(4):]
    doc = open_document("s.pdf", broken)
    (f,) = [f for f in check(doc) if f.code == "PDF_SIGNATURE_BYTERANGE_INVALID"]
    assert f.severity == "high" and "revision" in f.evidence["problem"]


def test_a_damaged_form_is_walked_once_and_without_error():
    # fuzzing: a null among the fields raised; a field listed among its own kids would loop forever
    import io

    import pikepdf

    with pikepdf.open(io.BytesIO(text_pdf(["中国工商银行借记账户历史明细"]))) as pdf:
        field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("Signature1")))
        field.Kids = pikepdf.Array([field, None, 7])
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field, None]))
        out = io.BytesIO()
        pdf.save(out)
    assert check(open_document("form.pdf", out.getvalue())) == []
