import io
import json
from pathlib import Path

import pdfplumber
import pikepdf
import pytest
from PIL import Image, ImageDraw
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from checks.catalog import CATALOG
from checks.ingest import open_document
from checks.pdf_overlay import check
from tests.make import text_pdf

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
GENUINE = text_pdf(["中国工商银行借记账户历史明细（电子版）", "2024-01-15 代发工资 12,000.00 45,000.00"])
A4_HEIGHT = 841.89


def scan(data: bytes):
    doc = open_document("s.pdf", data)
    try:
        return check(doc), doc.pages
    finally:
        doc.close()


def codes(data: bytes) -> list[str]:
    return [f.code for f in scan(data)[0]]


def word_box(pages, text: str) -> tuple:
    (word,) = [w for p in pages for w in p.words if w.text == text]
    return word.bbox


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def drawn(paint) -> bytes:
    """A one-page A4 PDF painted by `paint(canvas)` in Helvetica 11, as a report engine writes one."""
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.setFont("Helvetica", 11)
    paint(c)
    c.showPage()
    c.save()
    return buf.getvalue()


def edited(data: bytes, ops: str, *, page: int = 0, images: dict | None = None) -> bytes:
    """What an editor saves: the page's content kept, `ops` appended as a content stream of its own, with an
    editor font /EdHelv and any images (name → PIL image) it refers to."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        target = pdf.pages[page]
        font = pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                  BaseFont=pikepdf.Name.Helvetica, Encoding=pikepdf.Name.WinAnsiEncoding)
        target.add_resource(pdf.make_indirect(font), pikepdf.Name.Font, pikepdf.Name("/EdHelv"))
        for name, image in (images or {}).items():
            target.add_resource(pdf.make_indirect(_image_xobject(pdf, image)), pikepdf.Name.XObject, pikepdf.Name(name))
        target.contents_add(pikepdf.Stream(pdf, ops.encode()), prepend=False)
        pdf.save(out)
    return out.getvalue()


def _image_xobject(pdf: pikepdf.Pdf, image: Image.Image) -> pikepdf.Stream:
    rgb = image.convert("RGB")
    stream = pikepdf.Stream(pdf, rgb.tobytes(), Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image,
                            Width=rgb.width, Height=rgb.height, ColorSpace=pikepdf.Name.DeviceRGB,
                            BitsPerComponent=8)
    if image.mode == "RGBA":
        stream.SMask = pikepdf.Stream(pdf, image.getchannel("A").tobytes(), Type=pikepdf.Name.XObject,
                                      Subtype=pikepdf.Name.Image, Width=image.width, Height=image.height,
                                      ColorSpace=pikepdf.Name.DeviceGray, BitsPerComponent=8)
    return stream


def white_box(box: tuple, *, pad: float = 1.0, height: float = A4_HEIGHT, fill: str = "1 1 1 rg") -> str:
    """A filled box over a top-left [x0, top, x1, bottom] box, in PDF operators."""
    x0, top, x1, bottom = box
    x, y, w, h = x0 - pad, height - bottom - pad, x1 - x0 + 2 * pad, bottom - top + 2 * pad
    return f"q {fill} {x:.2f} {y:.2f} {w:.2f} {h:.2f} re f Q\n"


def typed(text: str, x: float, baseline: float, size: float = 11, height: float = A4_HEIGHT) -> str:
    return f"BT /EdHelv {size:g} Tf 0 g {x:.2f} {height - baseline:.2f} Td ({text}) Tj ET\n"


def amount_line() -> tuple[tuple, float]:
    """Where GENUINE shows 12,000.00 (top-left box) and its baseline."""
    box = word_box(scan(GENUINE)[1], "12,000.00")
    return box, A4_HEIGHT - 780 + 18


# --- white box and retype -------------------------------------------------------------------------

def test_white_box_and_retype_is_high_with_both_texts_and_the_paint_order():
    box, baseline = amount_line()
    forged = edited(GENUINE, white_box(box) + typed("52,000.00", box[0], baseline))
    (f,) = scan(forged)[0]
    assert (f.code, f.severity, f.page) == ("PDF_TEXT_COVERED_RETYPED", "high", 1)
    assert f.evidence["covered_text"] == "12,000.00" and f.evidence["shown_text"] == "52,000.00"
    assert f.evidence["cover"] == "filled rectangle" and f.evidence["fill"] == "#FFFFFF"
    order = f.evidence["paint_order"]
    assert order["covered_text"] < order["cover"] < order["shown_text"]
    assert overlaps(f.bbox, box) and f.bbox[0] >= box[0] - 2 and f.bbox[2] <= box[2] + 30
    json.dumps(f.to_dict())


def test_box_without_new_text_is_medium():
    box, _ = amount_line()
    (f,) = scan(edited(GENUINE, white_box(box, fill="0 0 0 rg")))[0]
    assert (f.code, f.severity, f.evidence["fill"]) == ("PDF_TEXT_COVERED", "medium", "#000000")
    assert f.evidence["covered_text"] == "12,000.00"


def test_pasted_image_patch_over_text_is_a_cover():
    box, baseline = amount_line()
    x0, top, x1, bottom = box
    patch = f"q {x1 - x0 + 2:.2f} 0 0 {bottom - top + 2:.2f} {x0 - 1:.2f} {A4_HEIGHT - bottom - 1:.2f} cm /Patch Do Q\n"
    forged = edited(GENUINE, patch + typed("52,000.00", x0, baseline),
                    images={"/Patch": Image.new("RGB", (60, 12), (250, 250, 248))})
    (f,) = scan(forged)[0]
    assert (f.code, f.evidence["cover"]) == ("PDF_TEXT_COVERED_RETYPED", "image")
    assert (f.evidence["covered_text"], f.evidence["shown_text"]) == ("12,000.00", "52,000.00")


def test_a_seal_struck_across_text_is_not_a_cover():
    """A red seal is opaque where its ink is, even solid over whole glyphs, but it repaints no paper."""
    seal = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    pen = ImageDraw.Draw(seal)
    pen.ellipse((5, 5, 95, 95), outline=(220, 30, 30, 255), width=6)
    pen.ellipse((30, 30, 70, 70), fill=(220, 30, 30, 255))
    box, _ = amount_line()
    stamp = f"q 60 0 0 60 {box[0] - 10:.2f} {A4_HEIGHT - box[3] - 25:.2f} cm /Seal Do Q\n"
    assert codes(edited(GENUINE, stamp, images={"/Seal": seal})) == []


def test_cover_inside_a_form_xobject_is_placed_on_the_page():
    def paint(c):
        c.drawString(100, 700, "Salary 12,000.00 paid")
        c.beginForm("Edit")
        c.setFillColorRGB(1, 1, 1)
        c.rect(0, 0, 52, 14, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.drawString(1, 3, "52,000.00")
        c.endForm()
        c.saveState()
        c.translate(138, 697)
        c.doForm("Edit")
        c.restoreState()

    (f,) = scan(drawn(paint))[0]
    assert f.code == "PDF_TEXT_COVERED_RETYPED" and f.evidence["covered_text"] == "12,000.00"
    x0, top, x1, bottom = f.bbox  # the form's box at (138, 697) and the glyphs around it
    assert 130 < x0 <= 138 and 190 <= x1 < 196 and top == pytest.approx(A4_HEIGHT - 711, abs=0.5)
    assert bottom == pytest.approx(A4_HEIGHT - 697, abs=0.5)


@pytest.mark.parametrize("mediabox, rotate", [([-20, 30, 595.28, A4_HEIGHT], 90), ([5, -7, 600, 850], 270)])
def test_bbox_is_where_pdfplumber_puts_the_box_on_a_rotated_offset_page(mediabox, rotate):
    box, _ = amount_line()
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(edited(GENUINE, white_box(box, pad=0)))) as pdf:
        pdf.pages[0].obj.MediaBox = mediabox
        pdf.pages[0].obj.Rotate = rotate
        pdf.save(out)
    (f,) = scan(out.getvalue())[0]
    with pdfplumber.open(io.BytesIO(out.getvalue())) as plumber:
        (rect,) = plumber.pages[0].rects
    assert f.code == "PDF_TEXT_COVERED"
    assert f.bbox == pytest.approx([rect["x0"], rect["top"], rect["x1"], rect["bottom"]], abs=0.05)
    assert f.bbox[2] - f.bbox[0] < 20 < f.bbox[3] - f.bbox[1]  # the amount now runs down the page


# --- genuine paint order ----------------------------------------------------------------------------

def test_backgrounds_bands_and_rules_around_text_are_genuine():
    def paint(c):
        c.setFillColorRGB(0.1, 0.2, 0.5)
        c.rect(50, 760, 500, 20, stroke=0, fill=1)  # header band, white text on it
        c.setFillColorRGB(1, 1, 1)
        c.drawString(60, 765, "Date  Description  Amount  Balance")
        for row in range(12):
            y = 740 - 18 * row
            if row % 2:
                c.setFillColorRGB(0.93, 0.93, 0.93)  # zebra stripe
                c.rect(50, y - 5, 500, 18, stroke=0, fill=1)
            c.setFillColorRGB(1, 1, 1)
            c.rect(400, y - 4, 80, 16, stroke=0, fill=1)  # the amount cell's own background
            c.setFillColorRGB(0, 0, 0)
            c.drawString(60, y, f"2024-01-{row + 1:02d}  Salary")
            c.drawRightString(470, y, f"{12000 + row:,}.00")
            c.rect(50, y - 5.4, 500, 0.6, stroke=0, fill=1)  # a rule drawn after the row, as a thin fill
        # a frame around the table, filled with the even-odd rule: only the border is painted
        path = c.beginPath()
        path.rect(45, 500, 510, 290)
        path.rect(47, 502, 506, 286)
        c.drawPath(path, stroke=0, fill=1, fillMode=0)

    assert codes(drawn(paint)) == []


def test_a_control_background_clipping_part_of_a_label_is_not_a_cover():
    """A form control painted across the tail of a group label hides some of its letters, not the word."""
    def paint(c):
        c.drawString(84, 520, "RdoGrp1")
        c.setFillColorRGB(1, 1, 1)
        c.rect(108, 512, 290, 12, stroke=0, fill=1)
        c.setFillColorRGB(0, 0, 0)
        c.drawString(140, 514, "Option 1")

    assert codes(drawn(paint)) == []


def test_fake_bold_twice_the_same_text_is_not_flagged():
    def paint(c):
        for dx in (0, 0.3, 0.6):
            c.drawString(100 + dx, 700, "Closing balance 45,000.00")

    assert codes(drawn(paint)) == []


def test_different_text_drawn_over_text_is_high():
    def paint(c):
        c.drawString(100, 700, "Closing balance 45,000.00")
        c.drawString(100, 700, "Closing balance 95,000.00")

    (f,) = scan(drawn(paint))[0]
    assert (f.code, f.severity) == ("PDF_TEXT_OVERPRINTED", "high")
    assert f.evidence["under_text"] == "Closing balance 45,000.00"
    assert f.evidence["shown_text"] == "Closing balance 95,000.00" and f.evidence["hidden"] is False


def test_text_made_invisible_and_retyped_is_one_overprint():
    def paint(c):
        t = c.beginText(100, 700)
        t.setFont("Helvetica", 11)
        t.setTextRenderMode(3)
        t.textOut("45,000.00")
        t.setTextRenderMode(0)  # Tr outlives the text object: set it back as an editor's new text does
        t.setTextOrigin(100, 700)
        t.textOut("95,000.00")
        c.drawText(t)

    (f,) = scan(drawn(paint))[0]
    assert f.code == "PDF_TEXT_OVERPRINTED" and f.evidence["hidden"] is True
    assert (f.evidence["under_text"], f.evidence["shown_text"]) == ("45,000.00", "95,000.00")


def test_watermark_under_and_over_the_table_is_not_flagged():
    def paint(c):
        c.setFillColorRGB(0.85, 0.85, 0.85)
        c.drawString(100, 700, "FOR REFERENCE ONLY FOR REFERENCE ONLY")
        c.setFillColorRGB(0, 0, 0)
        c.drawString(100, 700, "2024-01-15 Salary 12,000.00")
        c.setFillColorRGB(1, 1, 1)
        c.rect(95, 640, 200, 40, stroke=0, fill=1)  # a cell painted over the watermark's second line
        c.setFillColorRGB(0.85, 0.85, 0.85)
        c.drawString(100, 660, "FOR REFERENCE ONLY")
        c.saveState()
        c.translate(300, 400)
        c.rotate(45)
        c.drawString(-300, 0, "ICBC ELECTRONIC STATEMENT " * 8)  # runs off the page
        c.restoreState()
        c.setFillColorRGB(0, 0, 0)
        c.drawString(100, 400, "2024-02-15 Salary 12,000.00")

    assert codes(drawn(paint)) == []


# --- hidden text ------------------------------------------------------------------------------------

def _scan_page(c, text_first: bool, visible: bool):
    paper = ImageReader(Image.effect_noise((200, 280), 12).convert("RGB"))

    def text():
        t = c.beginText(72, 700)
        t.setFont("Helvetica", 11)
        t.setTextRenderMode(0 if visible else 3)
        t.textLine("Statement of account 2024-01 closing balance 45,000.00")
        c.drawText(t)

    if text_first:
        text()
    c.drawImage(paper, 0, 0, 595.28, A4_HEIGHT)
    if not text_first:
        text()


@pytest.mark.parametrize("text_first, visible", [(False, False), (True, False), (True, True)],
                         ids=["ocr-layer-over-image", "ocr-layer-under-image", "text-under-page-image"])
def test_scanned_page_text_layer_is_not_flagged(text_first, visible):
    assert codes(drawn(lambda c: _scan_page(c, text_first, visible))) == []


def _invisible(c):
    t = c.beginText(72, 600)
    t.setFont("Helvetica", 11)
    t.setTextRenderMode(3)
    t.textOut("Net pay 9,000.00")
    c.drawText(t)


@pytest.mark.parametrize("paint, reason, severity", [
    (_invisible, "invisible text render mode", "medium"),
    (lambda c: (c.setFillColorRGB(1, 1, 1), c.drawString(72, 600, "Net pay 9,000.00")), "same colour as the background",
     "medium"),
    (lambda c: (c.setFont("Helvetica", 0.3), c.drawString(72, 600, "Net pay 9,000.00")), "text too small to see",
     "medium"),
    (lambda c: c.drawString(72, 900, "Net pay 9,000.00"), "outside the visible page area", "low"),
], ids=["render-mode-3", "white-on-white", "tiny", "off-page"])
def test_hidden_text_elsewhere_is_flagged(paint, reason, severity):
    def page(c):
        c.drawString(72, 700, "Monthly salary statement")
        paint(c)

    (f,) = scan(drawn(page))[0]
    assert (f.code, f.evidence["reason"], f.severity) == ("PDF_TEXT_HIDDEN", reason, severity)
    assert f.evidence["text"] == "Net pay 9,000.00" and f.page == 1
    if reason != "outside the visible page area":
        assert 71 <= f.bbox[0] < 200 and A4_HEIGHT - 610 < f.bbox[3] < A4_HEIGHT - 590


# --- editor traces ----------------------------------------------------------------------------------

def test_touchup_text_edit_mark_is_high_and_located():
    font = "/EdHelv 11 Tf"
    ops = (f"BT {font} 72 700 Td (Account holder Zhang San) Tj ET\n"
           f"/TouchUp_TextEdit MP\nBT {font} 72 680 Td (Salary 52,000.00) Tj ET\n"
           f"BT {font} 72 660 Td (Closing balance 45,000.00) Tj ET\n")
    data = edited(drawn(lambda c: None), ops)
    (f,) = scan(data)[0]
    assert (f.code, f.severity, f.evidence["marks"]) == ("PDF_TOUCHUP_EDIT", "high", 1)
    assert f.evidence["text"] == "Salary 52,000.00"
    assert A4_HEIGHT - 695 < f.bbox[1] < f.bbox[3] < A4_HEIGHT - 675


def test_unapplied_redaction_is_medium_and_names_the_text_under_it():
    box, _ = amount_line()
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(GENUINE)) as pdf:
        x0, top, x1, bottom = box
        redact = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Redact,
            Rect=[x0 - 1, A4_HEIGHT - bottom - 1, x1 + 1, A4_HEIGHT - top + 1]))
        pdf.pages[0].obj.Annots = pdf.make_indirect([redact])
        pdf.save(out)
    (f,) = scan(out.getvalue())[0]
    assert (f.code, f.severity, f.evidence["text"]) == ("PDF_REDACTION_PENDING", "medium", "12,000.00")
    assert overlaps(f.bbox, box)


# --- committed samples ------------------------------------------------------------------------------

def _truth(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))


def test_sample_overlay_is_found_where_the_truth_says():
    path = SAMPLES / "applicant_01" / "statement_overlay.pdf"
    (edit,) = _truth(path)["tampering"]
    (f,) = scan(path.read_bytes())[0]
    assert f.code == "PDF_TEXT_COVERED_RETYPED" and f.page == edit["page"]
    assert overlaps(f.bbox, edit["bbox"])
    assert (f.evidence["covered_text"], f.evidence["shown_text"]) == (edit["before"], edit["after"])


@pytest.mark.parametrize("path", [p for p in sorted(SAMPLES.glob("*/*.pdf")) if _truth(p)["genuine"]],
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_genuine_samples_have_no_overlay_findings(path):
    assert codes(path.read_bytes()) == []


def test_codes_are_documented():
    for code in ("PDF_TEXT_COVERED_RETYPED", "PDF_TEXT_COVERED", "PDF_TEXT_OVERPRINTED", "PDF_TEXT_HIDDEN",
                 "PDF_TOUCHUP_EDIT", "PDF_REDACTION_PENDING", "PDF_TEXT_OPERATOR_ODD", "PDF_PAGE_STREAMS_MIXED",
                 "PDF_PAGES_LIBRARY_WRITTEN"):
        entry = CATALOG[code]
        assert entry.severity in ("medium", "high") and entry.why and entry.genuine and entry.false_positives


def test_a_null_among_the_page_contents_is_passed_over():
    # fuzzing: a damaged file's /Contents array holding a null made the TouchUp scan raise
    with pikepdf.open(io.BytesIO(text_pdf(["中国工商银行借记账户历史明细", "余额 12,000.00"]))) as pdf:
        page = pdf.pages[0].obj
        page.Contents = pikepdf.Array([page.Contents, None])
        out = io.BytesIO()
        pdf.save(out)
    doc = open_document("nulls.pdf", out.getvalue())
    assert "余额" in doc.pages[0].text and check(doc) == []


# --- content-stream writing -------------------------------------------------------------------------

def figure_column(rows: int):
    """A right-aligned column of figures, one `Tj` each, as reportlab's canvas writes a table."""
    def paint(c):
        for i in range(rows):
            c.drawRightString(400, 700 - 16 * i, f"{10_000 + 731 * i:,}.{i:02d}")
    return paint


def retyped(data: bytes, old: str, array: list) -> bytes:
    """The page's content written back by pikepdf with the operator showing `old` replaced by a TJ of
    `array`, as an editor retyping the figure in the page's own font writes it."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        instructions = []
        for ins in pikepdf.parse_content_stream(page):
            if str(ins.operator) == "Tj" and bytes(ins.operands[0]) == old.encode():
                ins = pikepdf.ContentStreamInstruction([pikepdf.Array(array)], pikepdf.Operator("TJ"))
            instructions.append(ins)
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
        pdf.save(out)
    return out.getvalue()


@pytest.mark.parametrize("array, form", [
    ([pikepdf.String("19,655.05")], "a TJ array without offsets"),
    ([-278, pikepdf.String("119,655.05")], "a TJ array opening with an offset"),
])
def test_figure_retyped_with_another_operator_form_is_located(array, form):
    data = retyped(drawn(figure_column(12)), "13,655.05", array)
    (f,) = scan(data)[0]
    assert (f.code, f.severity, f.page) == ("PDF_TEXT_OPERATOR_ODD", "medium", 1)
    assert (f.evidence["form"], f.evidence["usual"], f.evidence["peers"]) == (form, "Tj", 11)
    shown = "".join(str(v) for v in array if isinstance(v, pikepdf.String))
    assert f.evidence["text"] == shown
    assert overlaps(f.bbox, word_box(scan(data)[1], shown))


def test_kerned_figure_among_plain_strings_passes():
    """Engines that kern write an array with an offset inside it where a pair such as 11 occurs."""
    data = retyped(drawn(figure_column(12)), "13,655.05", [pikepdf.String("1"), 40, pikepdf.String("1,655.05")])
    assert codes(data) == []


def test_odd_form_needs_enough_peers():
    data = retyped(drawn(figure_column(6)), "13,655.05", [pikepdf.String("19,655.05")])
    assert codes(data) == []


def test_page_written_again_in_another_style_is_reported():
    """Page 2 written back by pikepdf (one operator a line) while page 1 keeps reportlab's lines of
    operators: the two pages share their font objects, so one engine made both."""
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(text_pdf(["代发工资 12,000.00 45,000.00", "转账 300.00 44,700.00"] * 4,
                                          pages=2))) as pdf:
        page = pdf.pages[1]
        page.obj.Contents = pdf.make_stream(pikepdf.unparse_content_stream(pikepdf.parse_content_stream(page)))
        pdf.save(out)
    (f,) = scan(out.getvalue())[0]
    assert (f.code, f.severity, f.page, f.bbox) == ("PDF_PAGE_STREAMS_MIXED", "medium", None, None)
    assert (f.evidence["styles"], f.evidence["pages"]) == (2, "1; 2")
    assert "page 1" in f.evidence["difference"] and "page 2" in f.evidence["difference"]


def test_merged_document_of_two_engines_passes():
    """A reportlab page and a PyMuPDF page in one file: each with fonts of its own, a merge, not an edit."""
    import pymupdf
    other = pymupdf.open()
    other.new_page().insert_text((72, 72), "Closing balance 45,000.00 on 2024-01-31", fontname="helv")
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(GENUINE)) as pdf, pikepdf.open(io.BytesIO(other.tobytes())) as extra:
        pdf.pages.extend(extra.pages)
        pdf.save(out)
    assert codes(out.getvalue()) == []


def mupdf_statement(pages: int) -> bytes:
    """A PyMuPDF export: every line a `TJ` array of hex glyph codes, brackets unspaced."""
    import pymupdf
    doc = pymupdf.open()
    for n in range(pages):
        page = doc.new_page()
        for i in range(12):
            page.insert_text((72, 72 + 18 * i), f"2024-0{n + 1}-{10 + i} 代发工资 {12_000 + 37 * i:,}.00",
                             fontname="china-s")
    doc.set_metadata({"producer": "PyMuPDF 1.28.2"})
    return doc.tobytes()


def rewritten_pages(data: bytes, library: str, producer: str | None = None) -> bytes:
    """Every page's content parsed and written back by `library`, the file saved whole: what editing a
    figure in code leaves once every page is touched, minus the edit."""
    out = io.BytesIO()
    if library == "pikepdf":
        with pikepdf.open(io.BytesIO(data)) as pdf:
            for page in pdf.pages:
                page.obj.Contents = pdf.make_stream(
                    pikepdf.unparse_content_stream(pikepdf.parse_content_stream(page)))
            if producer:
                pdf.docinfo["/Producer"] = producer
            pdf.save(out)
    else:
        import pypdf
        writer = pypdf.PdfWriter(clone_from=io.BytesIO(data))
        for page in writer.pages:
            content = pypdf.generic.ContentStream(page.get_contents(), writer)
            content.operations = content.operations  # parsed, so written back from the operations
            page.replace_contents(content)
        writer.add_metadata({"/Producer": producer or "PyMuPDF 1.28.2"})
        writer.write(out)
    return out.getvalue()


@pytest.mark.parametrize("library", ["pikepdf", "pypdf"])
def test_every_page_written_back_by_a_library_is_reported(library):
    data = rewritten_pages(mupdf_statement(2), library)
    assert codes(mupdf_statement(2)) == []
    (f,) = scan(data)[0]
    assert (f.code, f.severity, f.page, f.bbox) == ("PDF_PAGES_LIBRARY_WRITTEN", "medium", None, None)
    assert (f.evidence["pages"], f.evidence["of"], f.evidence["producer"]) == ("1, 2", 2, "PyMuPDF 1.28.2")


def test_a_file_the_library_says_it_made_is_not_reported():
    assert codes(rewritten_pages(mupdf_statement(2), "pikepdf", producer="pikepdf 10.18.0")) == []


# --- balance-repaired forgeries of the evaluation set ----------------------------------------------

@pytest.fixture(scope="module")
def repaired(tmp_path_factory):
    """Forgeries of fixtures/pdfset.py's `balance_repaired` method, made as the set makes them (default seed):
    a salary credit raised in the content stream, every later balance and the totals rewritten to match, the
    file saved whole with the issuer's metadata; with their genuine originals and genuine re-saves of them."""
    from fixtures import pdfset  # puts fixtures/ on the path its modules import each other by
    DEFAULT_SEED, pdf_forgery = pdfset.DEFAULT_SEED, pdfset.pf
    root = tmp_path_factory.mktemp("repaired")
    w = pdfset.SetWriter(root)
    cases = {}
    for j, layout, producer in ((2, "abc", "reportlab"), (7, "boc", "fpdf2"), (9, "abc", "pymupdf")):
        orig = pdfset.make_statement(DEFAULT_SEED, layout, producer, 1)
        assert pdfset.make_forgery(w, DEFAULT_SEED, "balance_repaired", j, orig)
        path = root / w.index[-1]["file"]
        truth = json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))
        genuine = {"original": orig.pdf, "qpdf re-save": pdf_forgery.issuer_resave(orig.pdf, "pikepdf"),
                   "MuPDF re-save": pdf_forgery.issuer_resave(orig.pdf, "pymupdf")}
        cases[producer] = (path.read_bytes(), truth, genuine)
    return cases


@pytest.mark.parametrize("producer", ["reportlab", "fpdf2"])
def test_repaired_balances_are_located_where_the_truth_says(repaired, producer):
    data, truth, _ = repaired[producer]
    odd = [f for f in scan(data)[0] if f.code == "PDF_TEXT_OPERATOR_ODD"]
    edits = truth["tampering"]
    assert odd and all(any(e["page"] == f.page and overlaps(f.bbox, e["bbox"]) for e in edits) for f in odd)
    hit = {(e["page"], e["after"]) for e in edits for f in odd if e["page"] == f.page and overlaps(f.bbox, e["bbox"])}
    assert len(hit) >= 3  # the raised credit or its balances, each at its own cell
    assert {f.evidence["text"] for f in odd} <= {e["after"] for e in edits}


def test_repaired_pymupdf_statement_shows_its_rewritten_pages(repaired):
    """PyMuPDF's own figures were retyped code for code, so no operator differs; the edited pages are written
    in the editor's style (pypdf's), the untouched first page in PyMuPDF's."""
    data, truth, _ = repaired["pymupdf"]
    (f,) = [f for f in scan(data)[0] if f.code == "PDF_PAGE_STREAMS_MIXED"]
    edited_pages = {e["page"] for e in truth["tampering"]}
    groups = [set(map(int, g.split(", "))) for g in f.evidence["pages"].split("; ")]
    assert edited_pages in groups and 1 not in edited_pages
    (lib,) = [f for f in scan(data)[0] if f.code == "PDF_PAGES_LIBRARY_WRITTEN"]
    assert set(map(int, lib.evidence["pages"].split(", "))) == edited_pages  # the editor's style named


@pytest.mark.parametrize("producer", ["reportlab", "fpdf2", "pymupdf"])
def test_originals_and_their_resaves_have_no_writing_findings(repaired, producer):
    for name, data in repaired[producer][2].items():
        writing = ("PDF_TEXT_OPERATOR_ODD", "PDF_PAGE_STREAMS_MIXED", "PDF_PAGES_LIBRARY_WRITTEN")
        assert not [f.code for f in scan(data)[0] if f.code in writing], name
