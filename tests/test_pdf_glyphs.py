"""Text layer vs rendering: real PDFs drawn with reportlab in embedded subset fonts, their ToUnicode maps or glyph
codes edited with pikepdf the way a forger edits them, and the committed genuine samples."""
import io
import json
import random
import re
from pathlib import Path

import pikepdf
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from checks import pdf_glyphs
from checks.ingest import open_document

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
FONTS = {"dejavu": "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
         "zenhei": "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
         "mono": "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"}
SALARY = "12,340.67"  # one amount of the statement, drawn by itself in one text operator


def statement(font: str = "zenhei", *, size: float = 9, fake_bold: bool = False, underline: bool = False) -> bytes:
    """A one-page statement: 30 rows of date, amount and balance covering every digit, and the salary row."""
    if font not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(font, FONTS[font], subfontIndex=0))
    rng = random.Random(7)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.setFont("zenhei" if font == "zenhei" else font, 14)
    c.drawString(60, 800, "ACCOUNT STATEMENT 2024")
    for i in range(30):
        y = 770 - 20 * i
        amount = SALARY if i == 12 else f"{rng.randint(100, 99999):,}.{rng.randint(0, 99):02d}"
        cells = [f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", amount,
                 f"{rng.randint(1000, 999999):,}.{rng.randint(0, 99):02d}"]
        for x, text in zip((60, 200, 330), cells):
            line = c.beginText(x, y)
            line.setFont(font, size)
            if fake_bold:  # fill and stroke, the way word processors embolden a font that has no bold
                line.setTextRenderMode(2)
                c.setLineWidth(size * 0.04)
            line.textOut(text)
            c.drawText(line)
            if underline:
                c.setLineWidth(0.5)
                c.line(x, y - 1.5, x + pdfmetrics.stringWidth(text, font, size), y - 1.5)
    c.save()
    return buf.getvalue()


def _cmap_edited(cmap: bytes, changes: dict[str, str]) -> bytes:
    """`cmap` with every single-byte code that reads as a key of `changes` reading as its value instead."""
    def entry(m):
        text = bytes.fromhex(m[2].decode()).decode("utf-16-be")
        return b"<%s> <%s>" % (m[1], changes.get(text, text).encode("utf-16-be").hex().upper().encode())
    return re.sub(rb"<([0-9A-Fa-f]{2})> <([0-9A-Fa-f]{4})>", entry, cmap)


def remapped(data: bytes, changes: dict[str, str]) -> bytes:
    """Every font's ToUnicode map edited: each digit of `changes` reads as its value, wherever it is drawn."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        for font in pdf.pages[0].Resources.Font.values():
            if "/ToUnicode" in font:
                font.ToUnicode = pdf.make_stream(_cmap_edited(font.ToUnicode.read_bytes(), changes))
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def one_operator(data: bytes, text: str, changes: dict[str, str], drawn: str | None = None) -> bytes:
    """The text operator that shows `text` switched to a copy of its font whose ToUnicode map applies `changes`,
    the rest of the page untouched. With `drawn`, the operator's glyph codes are first replaced by those of
    `drawn`: the page then shows `drawn` while the copy's map makes the text layer read what `changes` says."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        content = page.Contents.read_bytes()
        shown = re.search(rb"(/\S+) (\S+) Tf (\S+ TL )?\(" + re.escape(text.encode()) + rb"\) Tj", content)
        font = page.Resources.Font[shown[1].decode()]
        copy = pdf.make_indirect(pikepdf.Dictionary({k: v for k, v in font.items()}))
        copy.ToUnicode = pdf.make_stream(_cmap_edited(font.ToUnicode.read_bytes(), changes))
        page.Resources.Font["/Copy"] = copy
        operator = b"/Copy %s Tf (%s) Tj" % (shown[2], (drawn or text).encode())
        page.Contents = pdf.make_stream(content[:shown.start()] + operator + content[shown.end():])
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def findings(data: bytes):
    doc = open_document("statement.pdf", data)
    try:
        return pdf_glyphs.check(doc), doc.pages[0].words
    finally:
        doc.close()


def word_box(words, text: str) -> tuple:
    (word,) = [w for w in words if w.text == text]
    return word.bbox


@pytest.mark.parametrize("font", ["zenhei", "dejavu"])
def test_genuine_statement_has_no_finding(font):
    assert findings(statement(font))[0] == []


@pytest.mark.parametrize("font", ["zenhei", "dejavu"])
def test_a_digit_remapped_everywhere_is_found_on_the_words_that_draw_it(font):
    data = statement(font)
    drawing_5 = [w for w in findings(data)[1] if "5" in w.text]
    found, words = findings(remapped(data, {"5": "9"}))
    assert len(found) == min(len(drawing_5), pdf_glyphs.MAX_FINDINGS)
    for f in found:
        assert (f.code, f.severity, f.page, f.units) == ("PDF_GLYPH_MISMATCH", "high", 1, "pt")
        # The text layer says 9 exactly where a 5 is drawn, and nothing else differs.
        assert {(t, s) for t, s in zip(f.evidence["text"], f.evidence["shown"]) if t != s} == {("9", "5")}
        assert f.bbox in {w.bbox for w in drawing_5 if w.text == f.evidence["shown"]}
        assert {g["char"]: g["shown"] for g in f.evidence["glyphs"]} == {"9": "5"}
        assert f.evidence["affected_words"] == len(drawing_5)


def test_two_digits_swapped_everywhere_are_read_from_the_reference_digits():
    # Every 5 reads as 9 and every 9 as 5: the font itself agrees with its text layer throughout, only the
    # reference digits can tell.
    found, _ = findings(remapped(statement("dejavu"), {"5": "9", "9": "5"}))
    assert found
    glyphs = {(g["char"], g["shown"], g["basis"]) for f in found for g in f.evidence["glyphs"]}
    assert glyphs == {("5", "9", "reference digits"), ("9", "5", "reference digits")}


@pytest.mark.parametrize("font, underline", [("zenhei", False), ("dejavu", False), ("dejavu", True)])
def test_one_glyph_code_remapped_in_one_amount_is_found_on_that_amount_only(font, underline):
    # A copy of the font in which the drawn 1 reads as 7, used for the salary alone: the page is unchanged.
    data = statement(font, underline=underline)
    (f,) = findings(one_operator(data, SALARY, {"1": "7"}))[0]
    assert (f.evidence["text"], f.evidence["shown"]) == ("72,340.67", SALARY)
    assert f.bbox == word_box(findings(data)[1], SALARY)
    (glyph,) = f.evidence["glyphs"]
    assert (glyph["char"], glyph["shown"], glyph["basis"]) == ("7", "1", "same font")
    assert glyph["distance_shown"] < pdf_glyphs.GOOD < glyph["distance_text"]


def test_glyph_codes_swapped_so_the_page_shows_another_amount_than_the_text_layer():
    # The page shows 52,340.67 (codes of 5 drawn) while the copied font's map reads those codes as 1: every
    # reader of the text still gets 12,340.67.
    found, words = findings(one_operator(statement("zenhei"), SALARY, {"5": "1"}, drawn="52,340.67"))
    (f,) = found
    assert (f.evidence["text"], f.evidence["shown"]) == (SALARY, "52,340.67")
    assert f.bbox == word_box(words, SALARY)
    assert "“12,340.67”" in f.message and "“52,340.67”" in f.message


@pytest.mark.parametrize("kind", ["fake_bold", "underline", "small"])
def test_hard_genuine_cases_have_no_finding(kind):
    # Emboldened 6-pt monospace digits (whose dotted zero the reference digits read as an 8: the font's own 8
    # tells them otherwise), underlined amounts, and 6-pt text (17 raster pixels per em).
    data = {"fake_bold": lambda: statement("mono", size=6, fake_bold=True),
            "underline": lambda: statement("dejavu", underline=True),
            "small": lambda: statement("zenhei", size=6)}[kind]()
    assert findings(data)[0] == []


def test_emboldened_digits_are_still_compared():
    found, _ = findings(remapped(statement("mono", size=6, fake_bold=True), {"4": "7"}))
    assert found and all(f.evidence["shown"].count("4") for f in found)


def _genuine_samples():
    for path in sorted(SAMPLES.glob("*/*.pdf")):
        if json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))["genuine"]:
            yield path


@pytest.mark.parametrize("path", list(_genuine_samples()), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_genuine_samples_have_no_finding(path):
    doc = open_document(path.name, path.read_bytes())
    try:
        assert pdf_glyphs.applies(doc)
        assert pdf_glyphs.check(doc) == []
    finally:
        doc.close()


def test_images_are_not_examined():
    image = next(SAMPLES.glob("*/*.jpg"))
    doc = open_document(image.name, image.read_bytes())
    try:
        assert not pdf_glyphs.applies(doc)
    finally:
        doc.close()
