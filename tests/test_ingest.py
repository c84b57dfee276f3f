import io
import json
import sys
import zlib
from datetime import datetime
from pathlib import Path

import numpy as np
import pdfplumber
import pikepdf
import pytest
from PIL import Image
from pypdf.actions import JavaScript

from checks.ingest import Limits, open_document, read_pdf_pages, sniff
from checks.model import InputError
from tests.make import bomb_png, encrypted, image_bytes, rewrite, text_pdf, with_pypdf

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
from seal import seal_image  # noqa: E402
from tabledoc import Col, TableDoc, Watermark, render  # noqa: E402


def _error(data: bytes, limits: Limits = Limits()) -> InputError:
    with pytest.raises(InputError) as exc:
        open_document("upload.pdf", data, limits)
    return exc.value


def test_text_pdf_opens_with_pages_and_text():
    doc = open_document("s.pdf", text_pdf(["中国工商银行借记账户历史明细", "户名：张三"], pages=2))
    assert doc.format == "pdf" and len(doc.pages) == 2
    assert "户名：张三" in doc.pages[1].text
    assert doc.pages[0].units == "pt" and round(doc.pages[0].width) == 595
    doc.close()


@pytest.mark.parametrize("fmt, kind", [("JPEG", "jpeg"), ("PNG", "png"), ("TIFF", "tiff"), ("WEBP", "webp"),
                                       ("BMP", "bmp")])
def test_images_are_sniffed_by_their_bytes(fmt, kind):
    data = image_bytes(fmt)
    assert sniff(data) == kind
    doc = open_document("named-like-a.pdf", data)  # the extension does not matter
    assert doc.format == "image" and doc.pages[0].width == 64 and doc.pages[0].units == "px"


def test_exif_orientation_is_applied():
    img = Image.new("RGB", (80, 40), "white")
    exif = img.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    doc = open_document("photo.jpg", buf.getvalue())
    assert (doc.pages[0].width, doc.pages[0].height) == (40, 80)


def test_empty_unsupported_oversized():
    assert _error(b"").code == "INPUT_EMPTY"
    assert _error(b"PK\x03\x04 a docx").code == "INPUT_UNSUPPORTED"
    assert "zip/office" in _error(b"PK\x03\x04 a docx").message
    assert _error(b"hello").code == "INPUT_UNSUPPORTED"
    assert "(avif)" in _error(b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00").message  # no AV1 decoder here
    assert _error(text_pdf(["x"]), Limits(max_file_bytes=100)).code == "INPUT_TOO_LARGE"
    assert _error(text_pdf(["x"], pages=3), Limits(max_pages=2)).code == "INPUT_TOO_MANY_PAGES"


def test_encrypted_pdf():
    assert _error(encrypted(text_pdf(["x"]))).code == "INPUT_ENCRYPTED"


def _launch_link() -> bytes:
    with pikepdf.open(io.BytesIO(text_pdf(["x"]))) as pdf:
        action = pikepdf.Dictionary(S=pikepdf.Name.Launch, F=pikepdf.String("calc.exe"))
        link = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link,
                                                    Rect=[0, 0, 100, 100], A=action))
        pdf.pages[0].Annots = pdf.make_indirect(pikepdf.Array([link]))
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


@pytest.mark.parametrize("make, content", [
    (lambda: with_pypdf(lambda w: w.add_open_action(JavaScript("app.alert('hi');"))), "JavaScript"),
    (lambda: with_pypdf(lambda w: w.add_attachment("real_statement.pdf", b"%PDF-1.4 other")), "embedded files"),
    (_launch_link, "a launch action"),
], ids=["javascript", "attachment", "launch"])
def test_active_content_is_refused_by_name(make, content):
    error = _error(make())
    assert error.code == "INPUT_ACTIVE_CONTENT" and content in str(error)


def test_owner_password_only_still_opens():
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(text_pdf(["中国建设银行个人活期账户全部交易明细"]))) as pdf:
        pdf.save(out, encryption=pikepdf.Encryption(user="", owner="owner"))
    assert "交易明细" in open_document("s.pdf", out.getvalue()).pages[0].text


@pytest.mark.parametrize("cut", [200, 0.5])
def test_truncated_pdf_is_corrupt_or_repaired_never_a_crash(cut):
    data = text_pdf(["第一行", "第二行"])
    data = data[: int(cut if cut > 1 else len(data) * cut)]
    try:
        doc = open_document("t.pdf", data)
    except InputError as exc:
        assert exc.code == "INPUT_CORRUPT" and "BytesIO" not in exc.message
    else:
        assert doc.pages  # qpdf recovered what was there


def test_truncated_and_garbage_images():
    jpeg = image_bytes("JPEG", size=(400, 300))
    assert _error(jpeg[:200]).code == "INPUT_CORRUPT"
    assert _error(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).code == "INPUT_CORRUPT"


def test_decompression_bomb_is_refused_before_decoding():
    png = bomb_png()
    assert len(png) < 100_000
    err = _error(png)
    assert err.code == "INPUT_TOO_MANY_PIXELS" and "400000000" in err.message


def test_pdf_header_after_junk_is_still_a_pdf():
    assert sniff(b"\r\n\r\n%PDF-1.4 ...") == "pdf"


def test_rewritten_pdf_still_opens():
    doc = open_document("r.pdf", rewrite(text_pdf(["收入证明"]), linearize=True))
    assert "收入证明" in doc.pages[0].text


def test_pdf_pages_keep_rectangles_and_images():
    samples = Path(__file__).resolve().parent.parent / "fixtures" / "samples" / "applicant_01"
    overlay = samples / "statement_overlay.pdf"
    edit = json.loads((samples / "statement_overlay.pdf.truth.json").read_text())["tampering"][0]
    doc = open_document(overlay.name, overlay.read_bytes())
    page = doc.pages[edit["page"] - 1]
    white = [r for r in page.rects if r["fill"] == (1.0, 1.0, 1.0)]
    x0, top, x1, bottom = edit["bbox"]
    assert any(r["bbox"][0] < x1 and x0 < r["bbox"][2] and r["bbox"][1] < bottom and top < r["bbox"][3] for r in white)
    proof = open_document("proof.pdf", (samples / "proof.pdf").read_bytes())
    (seal,) = proof.pages[0].images
    assert seal["size"] == [414, 414]


# --- the text layer, read from pdfminer's layout objects, against pdfplumber's own object dicts ---------------

@pytest.fixture(scope="module")
def producer_pdfs() -> dict[str, bytes]:
    """One small statement page per producer: ruled table, header fill, rotated light watermark, seal image."""
    columns = [Col("date", "交易日期", 1.0), Col("description", "摘要", 1.2), Col("credit", "收入", 1.0, "right"),
               Col("balance", "余额", 1.0, "right"), Col("counterparty", "对方户名", 1.6)]
    rows = [{"date": f"2025-03-{d:02d}\n10:1{d}:00", "description": "工资" if d % 3 else "转账 ATM",
             "credit": f"{d * 1234.5:,.2f}", "balance": f"{d * 4321.25:,.2f}", "counterparty": "上海某某科技有限公司"}
            for d in range(1, 9)]
    doc = TableDoc(title="中国工商银行借记账户历史明细", columns=columns, rows=rows,
                   header=[["户名：张三", "账号：6222 0000 1111 2222"]], watermark=Watermark("电子流水 仅供参考"),
                   seal=("中国工商银行上海分行", "电子银行业务专用章", 90), created=datetime(2025, 4, 1, 9, 30))
    doc.seal_image = seal_image(90, doc.seal[0], doc.seal[1], np.random.default_rng(1))
    pdfs = {producer: render(doc, producer).pdf for producer in ("reportlab", "fpdf2", "weasyprint", "pymupdf")}
    pdfs["form, shifted MediaBox"] = _in_form_xobject(pdfs["reportlab"])
    return pdfs


def _in_form_xobject(data: bytes) -> bytes:
    """The page's content drawn through one form XObject, on a MediaBox whose origin is not (0, 0)."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        x0, y0, x1, y1 = (float(v) for v in page.MediaBox)
        page.Resources.XObject.Body = pdf.make_stream(page.obj.Contents.read_bytes(), Type=pikepdf.Name.XObject,
                                                      Subtype=pikepdf.Name.Form, BBox=[x0, y0, x1, y1],
                                                      Resources=page.Resources)
        page.obj.Contents = pdf.make_stream(b"q /Body Do Q")
        page.MediaBox = [x0 - 30, y0 - 40, x1 + 30, y1 + 40]
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


@pytest.mark.parametrize("producer", ["reportlab", "fpdf2", "weasyprint", "pymupdf", "form, shifted MediaBox"])
def test_text_layer_is_what_pdfplumber_reads(producer_pdfs, producer):
    data = producer_pdfs[producer]
    (page,) = read_pdf_pages(data)
    assert page.words and page.watermark and page.images and not page.scanned
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        plumber = pdf.pages[0]
        height = float(plumber.height)
        want = sorted((c["text"], c["x0"], c["top"], c["x1"], c["bottom"], c["fontname"], c["size"],
                       round(height - c["matrix"][5], 3), c["non_stroking_color"])
                      for c in plumber.chars if c["text"].strip())
        got = sorted((c.text, c.x0, c.top, c.x1, c.bottom, c.font, c.size, c.baseline, c.color)
                     for c in [c for w in page.words for c in w.chars] + page.watermark if c.text.strip())
        assert got == want

        marks = {(c.text, c.x0, c.top) for c in page.watermark}
        reading = plumber.filter(lambda o: o["object_type"] != "char" or (o["text"], o["x0"], o["top"]) not in marks)
        assert [(w.text, w.x0, w.top, w.x1, w.bottom, w.font, w.size) for w in page.words] == [
            (w["text"], w["x0"], w["top"], w["x1"], w["bottom"], w["fontname"], w["size"])
            for w in reading.extract_words(extra_attrs=["fontname", "size"])]

        def box(o):
            return [round(o[k], 2) for k in ("x0", "top", "x1", "bottom")]

        assert page.rects == [{"bbox": box(r), "fill": r["non_stroking_color"] if r["fill"] else None,
                               "stroke": r["stroking_color"] if r["stroke"] else None} for r in plumber.rects]
        assert page.images == [{"bbox": box(i), "name": str(i["name"]), "size": list(i["srcsize"])}
                               for i in plumber.images]


# --- limits on what a document makes the checks render and decode, and HEIC photos ------------------------------

def _pdf_with(edit) -> bytes:
    with pikepdf.open(io.BytesIO(text_pdf(["中国工商银行借记账户历史明细"]))) as pdf:
        edit(pdf)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def test_a_poster_sized_page_is_refused_before_rendering():
    # 200 × 200 inches, the largest page PDF allows: 1.6 gigapixels at 200 dpi, from a 2 KB file.
    huge = _pdf_with(lambda pdf: setattr(pdf.pages[0], "MediaBox", [0, 0, 14400, 14400]))
    err = _error(huge)
    assert err.code == "INPUT_TOO_MANY_RENDERED_PIXELS" and "1600000000 pixels" in err.message and "200 dpi" in err.message
    # the total counts every page: three A4 pages (3 × 1654 × 2339 pixels) against a limit between two and three
    three = text_pdf(["x"], pages=3)
    assert open_document("three.pdf", three, Limits(max_total_pixels=3 * 1654 * 2339)).pages
    assert _error(three, Limits(max_total_pixels=3 * 1654 * 2339 - 1)).code == "INPUT_TOO_MANY_RENDERED_PIXELS"


def test_an_image_inside_a_pdf_is_held_to_the_pixel_limit():
    def add_image(pdf):
        image = pdf.make_stream(zlib.compress(b"\0" * 100), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                                Width=20000, Height=20000, BitsPerComponent=1, ColorSpace=pikepdf.Name.DeviceGray,
                                Filter=pikepdf.Name.FlateDecode)
        page = pdf.pages[0]
        page.Resources.XObject = pikepdf.Dictionary(Bomb=image)
        page.contents_add(pdf.make_stream(b"q 100 0 0 100 50 50 cm /Bomb Do Q"))

    err = _error(_pdf_with(add_image))
    assert err.code == "INPUT_TOO_MANY_PIXELS" and "400000000" in err.message


def test_parser_messages_do_not_carry_the_stream_repr():
    png = bytearray(image_bytes("PNG", size=(300, 200)))
    png[12:16] = b"JUNK"  # the IHDR chunk's type
    err = _error(bytes(png))
    assert err.code == "INPUT_CORRUPT" and "BytesIO" not in err.message and "0x" not in err.message


def test_heic_photo_is_checked_as_an_image():
    # checks.ingest registered pillow-heif with Pillow, for saving as for opening
    img = Image.new("RGB", (320, 200), (245, 245, 240))
    exif = img.getexif()
    exif[0x0131] = "Adobe Photoshop 25.0 (Macintosh)"  # Software
    buf = io.BytesIO()
    img.save(buf, "HEIF", quality=90, exif=exif)
    data = buf.getvalue()
    assert data[4:12] == b"ftypheic" and sniff(data) == "heic"
    doc = open_document("IMG_0001.HEIC", data)
    assert doc.format == "image" and (doc.pages[0].width, doc.pages[0].height) == (320, 200)
    from checks import image_provenance
    assert "IMG_EDITOR_SOFTWARE" in [f.code for f in image_provenance.check(doc)]
    doc.close()
    # a HEIF box with its payload cut off is damaged, not a crash
    assert _error(data[:200]).code == "INPUT_CORRUPT"


def test_limits_come_from_the_config_file_and_the_environment(tmp_path):
    from worker import config

    toml = tmp_path / "docverify.toml"
    toml.write_text("[limits]\nmax_pages = 5\nmax_total_pixels = 123456789\n")
    limits = config.load({"DOCVERIFY_CONFIG": str(toml)}).limits
    assert (limits.max_pages, limits.max_total_pixels, limits.max_pixels) == (5, 123456789, Limits().max_pixels)
    limits = config.load({"DOCVERIFY_CONFIG": str(toml), "DOCVERIFY_MAX_TOTAL_PIXELS": "1000",
                          "DOCVERIFY_MAX_FILE_BYTES": "2048"}).limits
    assert (limits.max_pages, limits.max_total_pixels, limits.max_file_bytes) == (5, 1000, 2048)
    with pytest.raises(SystemExit, match="max_pixel"):
        config.load({"DOCVERIFY_MAX_PIXELS": "lots"})
    toml.write_text("[limits]\nmax_page = 5\n")
    with pytest.raises(SystemExit, match="unknown key.*max_page"):
        config.load({"DOCVERIFY_CONFIG": str(toml)})


@pytest.mark.parametrize("name", ["ebc1806c05f90697.pdf", "415d4aa19b69ff6a.pdf"])
def test_a_pdf_whose_readers_count_other_pages_is_refused(name):
    # fuzzing found these: qpdf and PDFium (or pdfminer) read the damaged page tree differently, and the checks,
    # which pair the readers' pages by index, failed on them
    err = _error((Path(__file__).resolve().parent / "fuzz_corpus" / name).read_bytes())
    assert err.code == "INPUT_CORRUPT" and "disagree on the number of pages" in err.message
