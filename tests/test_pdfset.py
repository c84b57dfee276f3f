"""The PDF forensics evaluation set (fixtures/pdfset.py): a small set is generated and every label is checked
against the files themselves, so that a detector is measured against what really happened to each file."""
import asyncio
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pdfplumber
import pikepdf
import pypdfium2
import pytest

GENERATOR = Path(__file__).resolve().parent.parent / "fixtures" / "generate.py"
METHODS = {"stream_edit_incremental", "stream_edit_rewrite", "overlay_same_font", "overlay_near_font",
           "redact_retype", "full_rewrite", "balance_repaired", "tounicode_remap"}
HARD_CASES = {"signed", "form_filled", "linearized", "metadata_update", "issuer_resave"}
INFO_KEYS = ("/Producer", "/Creator", "/CreationDate", "/ModDate")


@pytest.fixture(scope="module")
def pdfset(tmp_path_factory):
    root = tmp_path_factory.mktemp("pdfset")
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(root), "--set", "pdf", "--per-type", "1"],
                   check=True, capture_output=True, env=env, timeout=300)
    index = json.loads((root / "index.json").read_text(encoding="utf-8"))["documents"]
    return root, index


def truth(root: Path, rel: str) -> dict:
    return json.loads((root / (rel + ".truth.json")).read_text(encoding="utf-8"))


def text_in(data: bytes, page: int, bbox) -> str:
    """What pdfplumber reads inside bbox: glyphs whose centre lies in it, in drawing order, without spaces."""
    with pdfplumber.open(io.BytesIO(data)) as doc:
        chars = doc.pages[page - 1].chars
    x0, top, x1, bottom = bbox
    return "".join(c["text"] for c in chars if not c["text"].isspace()
                   and x0 <= (c["x0"] + c["x1"]) / 2 <= x1 and top <= (c["top"] + c["bottom"]) / 2 <= bottom)


def pixels(data: bytes, page: int, bbox) -> bytes:
    """The rendered bbox (2 px per point, 2 pt margin) as raw RGB bytes."""
    doc = pypdfium2.PdfDocument(data)
    try:
        image = doc[page - 1].render(scale=2).to_pil().convert("RGB")
    finally:
        doc.close()
    x0, top, x1, bottom = (round(2 * v) for v in bbox)
    return image.crop((x0 - 4, top - 4, x1 + 4, bottom + 4)).tobytes()


def info(data: bytes) -> dict:
    with pikepdf.open(io.BytesIO(data)) as doc:
        values = {k: bytes(doc.docinfo[k]) for k in INFO_KEYS if k in doc.docinfo}
        ids = [bytes(v) for v in doc.trailer.ID] if "/ID" in doc.trailer else None
    return values | {"ID": ids}


def page_contents(data: bytes) -> list[bytes]:
    with pikepdf.open(io.BytesIO(data)) as doc:
        return [page.obj.Contents.read_bytes() if isinstance(page.obj.Contents, pikepdf.Stream)
                else b"".join(s.read_bytes() for s in page.obj.Contents) for page in doc.pages]


def test_the_set_has_every_producer_method_and_hard_case(pdfset):
    root, index = pdfset
    genuine = [d for d in index if d["genuine"] and not d.get("hard_case")]
    assert {d["producer"] for d in genuine} == {"reportlab", "fpdf2", "weasyprint", "pymupdf"}
    assert {d["kind"] for d in genuine} == {"bank_statement", "employment_proof", "social_insurance"}
    assert {d["method"] for d in index if not d["genuine"]} == METHODS
    assert {d["hard_case"] for d in index if d.get("hard_case")} == HARD_CASES
    for d in index:
        t = truth(root, d["file"])
        assert t["format"] == "pdf" and t["genuine"] == d["genuine"] and t["producer"] == d["producer"]
        assert (root / d["file"]).read_bytes().startswith(b"%PDF-")


def test_each_forgery_really_made_the_edit_its_truth_claims(pdfset):
    root, index = pdfset
    for d in (d for d in index if not d["genuine"]):
        t = truth(root, d["file"])
        data, source = (root / d["file"]).read_bytes(), (root / t["source"]).read_bytes()
        assert t["tampering"], d["file"]
        for e in t["tampering"]:
            where = f"{d['file']} page {e['page']} {e['bbox']}"
            assert e["type"] == "pdf_edit" and e["method"] == d["method"] and e["units"] == "pt"
            assert e["before"] != e["after"]
            assert e["before"] in text_in(source, e["page"], e["bbox"]), where
            now = text_in(data, e["page"], e["bbox"])
            assert e["after"] in now, where
            edit = e.get("edit", d["method"])
            if e.get("layer") == "text":  # the text layer changed, the page as drawn did not
                assert e["before"] not in now, where
                assert pixels(data, e["page"], e["bbox"]) == pixels(source, e["page"], e["bbox"]), where
            elif "overlay" in edit:  # the old figure is still under the white box, the new one drawn after it
                assert now.endswith(e["after"]) or now.index(e["after"]) > now.index(e["before"]), where
            else:  # retyped in the stream or redacted: the old text is gone
                assert e["before"] not in now, where
        if t["tampering"][0]["saved"] == "incremental":
            assert data.count(b"%%EOF") > source.count(b"%%EOF"), d["file"]
            assert t["pdf"]["revisions"] == 2
        else:
            assert data.count(b"%%EOF") == 1 and data.count(b"startxref") == 1, d["file"]
            issuer = info(source)
            if issuer["ID"] is None:  # qpdf always writes an /ID, even for a WeasyPrint original without one
                del issuer["ID"]
            assert info(data).items() >= issuer.items(), d["file"]
            assert t["pdf"]["revisions"] == 1


def test_balance_repairs_keep_the_arithmetic(pdfset):
    root, index = pdfset
    repaired = [truth(root, d["file"]) for d in index if d.get("method") == "balance_repaired"]
    assert repaired
    for t in repaired:
        assert t["consistency"] == {"balances_reconcile": True, "totals_match": True}
        assert len(t["tampering"]) > 2 and {e["field"] for e in t["tampering"]} >= {"balance"}


def validate_signature(data: bytes):
    """pyHanko's verdict with the signer's own self-signed certificate as the trust root, at signing time."""
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import async_validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext
    embedded = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    context = ValidationContext(trust_roots=[embedded.signer_cert], moment=embedded.self_reported_timestamp)
    status = asyncio.run(async_validate_pdf_signature(embedded, context))
    return status, [int(v) for v in embedded.sig_object["/ByteRange"]]


def test_genuine_hard_cases_are_what_they_claim(pdfset):
    root, index = pdfset
    for d in (d for d in index if d.get("hard_case")):
        t = truth(root, d["file"])
        data, source = (root / d["file"]).read_bytes(), (root / t["source"]).read_bytes()
        case = t["hard_case"]
        assert t["genuine"] and not t["tampering"] and case["type"] == d["hard_case"]
        if case["type"] == "signed":
            status, byte_range = validate_signature(data)
            assert status.intact and status.valid and status.trusted, d["file"]
            start, first, second, rest = byte_range
            assert start == 0 and second + rest == len(data)  # every byte but the signature's /Contents
            assert data[first:first + 1] == b"<" and data[second - 1:second] == b">"
            assert data.startswith(source) and data.count(b"%%EOF") == source.count(b"%%EOF") + 1
        elif case["type"] == "form_filled":
            with pikepdf.open(io.BytesIO(data)) as doc:
                values = {str(f.T): str(f.get("/V", "")) for f in doc.Root.AcroForm.Fields}
            assert values == {case["field"]: case["value"]}
            assert data.count(b"%%EOF") == 2 and t["pdf"]["revisions"] == 2
        elif case["type"] == "linearized":
            with pikepdf.open(io.BytesIO(data)) as doc:
                assert doc.is_linearized
        elif case["type"] == "metadata_update":
            assert data.startswith(source) and data.count(b"%%EOF") == source.count(b"%%EOF") + 1
            with pikepdf.open(io.BytesIO(data)) as doc:
                assert str(doc.docinfo["/Keywords"]) == case["entries"]["Keywords"]
        else:
            assert data.count(b"%%EOF") == 1 and info(data)["/Producer"] == info(source)["/Producer"]
        if case["type"] != "form_filled":  # the form's appearance is an annotation, not page content
            assert page_contents(data) == page_contents(source), d["file"]
