"""Font and layout consistency: real PDFs drawn with reportlab, edited in their content streams the way PDF
editors edit them, and the committed samples."""
import io
import json
import re
from pathlib import Path

import pikepdf
import pytest
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from checks.ingest import open_document
from checks.pdf_fonts import check
from tests.make import FONT

SAMPLES = Path(__file__).resolve().parent.parent / "fixtures" / "samples"
H = 841.89  # A4 height: pdfplumber's `top` is H minus the PDF y
CREDIT_X, BALANCE_X, OTHER_X = 260.0, 360.0, 366.0  # a tight counterparty column after the balance
ROWS = [("2025-03-02", "转账", "2,900.00", "11,748.81", "赵浩军"),
        ("2025-03-03", "消费", "707.47", "11,041.34", "支付宝（中国）网络技术有限公司"),
        ("2025-03-06", "还款", "2,710.40", "8,330.94", "中国工商银行信用卡中心"),
        ("2025-03-10", "代发工资", "10,114.10", "18,445.04", "上海云帆科技有限公司"),
        ("2025-03-18", "消费", "337.36", "18,107.68", "财付通支付科技有限公司"),
        ("2025-03-24", "报销", "1,107.43", "19,224.16", "上海云帆科技有限公司"),
        ("2025-04-10", "代发工资", "10,014.20", "29,238.36", "上海云帆科技有限公司"),
        ("2025-04-19", "代扣", "163.10", "29,075.26", "国网上海市电力公司")]
ROW_Y = [700 - 18 * i for i in range(len(ROWS))]


def register(name: str, path: str) -> str:
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
    return name


def statement(extra_glyphs: str = "") -> bytes:
    """A one-page statement as an issuer's engine writes it: title, fields, a table with right-aligned amount
    columns, a bold totals row and a footer in other fonts and sizes."""
    register("zenhei", FONT)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1, pageCompression=0)
    c.setFont("zenhei", 15)
    c.drawCentredString(297, 790, "中国工商银行借记账户历史明细（电子版）")
    c.setFont("zenhei", 9)
    c.drawString(40, 760, "户名：曾婷梅")
    c.drawString(300, 760, "账号：6222026781961025359")
    c.setFont("zenhei", 8)
    for x, name in ((40, "交易日期"), (110, "摘要"), (240, "收入"), (330, "余额"), (OTHER_X, "对方户名")):
        c.drawString(x, 725, name)
    for y, (day, what, credit, balance, other) in zip(ROW_Y, ROWS):
        c.drawString(40, y, day)
        c.drawString(110, y, what)
        c.drawRightString(CREDIT_X, y, credit)
        c.drawRightString(BALANCE_X, y, balance)
        c.drawString(OTHER_X, y, other)
    y = ROW_Y[-1] - 18
    c.drawString(40, y, "合计")
    c.setFont("Helvetica-Bold", 8)
    c.drawRightString(CREDIT_X, y, "27,053.66")
    c.setFont("Helvetica", 7)
    c.drawCentredString(297, 40, "Page 1 of 1")
    if extra_glyphs:
        c.setFont("zenhei", 8)
        for i in range(0, len(extra_glyphs), 60):
            c.drawString(40, 300 - i // 60 * 12, extra_glyphs[i:i + 60])
    c.showPage()
    c.save()
    return buf.getvalue()


GENUINE = statement()


def edit_cell(data: bytes, text: str, edit, tag: str = "QWERTY+") -> bytes:
    """Rewrite the one text object that draws `text`: `edit(x, y, font_ops, shown)` returns its new operators."""
    with pikepdf.open(io.BytesIO(data)) as pdf:
        page = pdf.pages[0]
        stream = page.obj.Contents.read_bytes()
        block = re.compile(rb"BT 1 0 0 1 (\S+) (\S+) Tm (/\S+ \S+ Tf) \S+ TL \((" + re.escape(text.encode())
                           + rb")\) Tj T\* ET")
        (m,) = list(block.finditer(stream))
        new = edit(float(m[1]), float(m[2]), m[3].decode(), m[4].decode()).encode()
        page.obj.Contents.write(stream[:m.start()] + new + stream[m.end():])
        edit_fonts(pdf, page, tag)
        out = io.BytesIO()
        pdf.save(out)
        return out.getvalue()


def edit_fonts(pdf, page, tag: str = "QWERTY+") -> None:
    """What an editor adds to the page's fonts: Helvetica, and the issuer's font embedded a second time."""
    fonts = page.obj.Resources.Font
    fonts.EdHelv = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                        BaseFont=pikepdf.Name.Helvetica,
                                                        Encoding=pikepdf.Name.WinAnsiEncoding))
    issuer = next(f for f in fonts.values() if "WenQuanYi" in str(f.get("/BaseFont", "")))
    name = pikepdf.Name("/" + tag + str(issuer.BaseFont)[1:].split("+", 1)[-1])
    descriptor = pikepdf.Dictionary({**issuer.FontDescriptor, "/FontName": name})
    again = pikepdf.Dictionary({**issuer, "/BaseFont": name, "/FontDescriptor": pdf.make_indirect(descriptor)})
    fonts.EdSub = pdf.make_indirect(again)


def findings(data: bytes):
    doc = open_document("s.pdf", data)
    try:
        return check(doc)
    finally:
        doc.close()


def cell_box(text: str, y: float, right: float = CREDIT_X) -> tuple[float, float, float, float]:
    width = pdfmetrics.stringWidth(text, "zenhei", 8)
    return (right - width, H - y - 8, right, H - y + 2)


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def only(found, code: str):
    assert [f.code for f in found] == [code], [(f.code, f.message) for f in found]
    return found[0]


def test_genuine_statement_with_title_totals_and_footer_fonts_is_clean():
    assert findings(GENUINE) == []


def test_amount_retyped_in_helvetica_is_a_high_font_mismatch():
    def retype(x, y, font, shown):
        right = x + pdfmetrics.stringWidth(shown, "zenhei", 8)
        new_x = right - pdfmetrics.stringWidth("13,114.10", "Helvetica", 8)
        return f"BT 1 0 0 1 {new_x:.3f} {y} Tm /EdHelv 8 Tf (13,114.10) Tj ET"

    f = only(findings(edit_cell(GENUINE, "10,114.10", retype)), "PDF_FONT_MISMATCH")
    assert f.severity == "high" and f.page == 1 and f.units == "pt"
    assert overlaps(f.bbox, cell_box("10,114.10", ROW_Y[3]))
    assert f.evidence["text"] == "13,114.10" and f.evidence["font"] == "Helvetica"
    assert "WenQuanYi" in f.evidence["peer_font"] and f.evidence["peers"] == 7


def test_white_box_overlay_in_helvetica_is_found_over_the_old_text():
    with pikepdf.open(io.BytesIO(GENUINE)) as pdf:
        page = pdf.pages[0]
        edit_fonts(pdf, page)
        x0, top, x1, bottom = cell_box("2,710.40", ROW_Y[2])
        new_x = x1 - pdfmetrics.stringWidth("5,710.40", "Helvetica", 8)
        ops = (f"q 1 1 1 rg {x0 - 1:.2f} {H - bottom - 1:.2f} {x1 - x0 + 2:.2f} {bottom - top + 2:.2f} re f Q\n"
               f"BT /EdHelv 8 Tf 1 0 0 1 {new_x:.2f} {ROW_Y[2]} Tm (5,710.40) Tj ET\n")
        page.contents_add(pdf.make_stream(ops.encode()))
        out = io.BytesIO()
        pdf.save(out)
    f = only(findings(out.getvalue()), "PDF_FONT_MISMATCH")
    assert f.severity == "high" and overlaps(f.bbox, (x0, top, x1, bottom))


@pytest.mark.parametrize("tag", ["QWERTY+", ""], ids=["second subset", "whole font"])
def test_issuers_font_embedded_again_for_one_cell_is_found(tag):
    def resubset(x, y, font, shown):
        return f"BT 1 0 0 1 {x} {y} Tm /EdSub 8 Tf 9.6 TL ({shown}) Tj T* ET"

    f = only(findings(edit_cell(GENUINE, "18,107.68", resubset, tag)), "PDF_FONT_SUBSET_MIXED")
    assert f.severity == "high" and overlaps(f.bbox, cell_box("18,107.68", ROW_Y[4], BALANCE_X))
    assert f.evidence["font"] == tag + "WenQuanYiZenHei-0" and f.evidence["peer_font"].startswith("AAAAAA+")
    assert f.evidence["text"] == "18,107.68"
    assert set(f.evidence["shared"]) >= set("0178,.")


def test_reportlab_overflow_subsets_share_no_glyph_and_are_not_flagged():
    many = "".join(chr(0x4E00 + i) for i in range(300))  # more glyphs than one reportlab subset holds
    data = statement(many)
    with pikepdf.open(io.BytesIO(data)) as pdf:  # the page really carries two subsets of one font
        names = {str(f.BaseFont) for f in pdf.pages[0].obj.Resources.Font.values()}
    assert {"/AAAAAA+WenQuanYiZenHei-0", "/AAAAAB+WenQuanYiZenHei-0"} <= names
    assert findings(data) == []


@pytest.mark.parametrize("lift", [
    lambda x, y, font, shown: f"BT 1 0 0 1 {x} {y + 1} Tm {font} 9.6 TL ({shown}) Tj T* ET",
    lambda x, y, font, shown: f"BT 1 0 0 1 {x} {y} Tm {font} 1 Ts 9.6 TL ({shown}) Tj T* 0 Ts ET",
], ids=["text matrix", "text rise"])
def test_baseline_shifted_by_one_point_is_found(lift):
    f = only(findings(edit_cell(GENUINE, "1,107.43", lift)), "PDF_BASELINE_SHIFT")
    assert f.severity == "medium" and overlaps(f.bbox, cell_box("1,107.43", ROW_Y[5]))
    assert f.evidence["offset"] == pytest.approx(-1.0, abs=0.01) and f.evidence["peers"] >= 2


@pytest.mark.parametrize("amount, row, right", [("707.47", 1, CREDIT_X), ("18,107.68", 4, BALANCE_X)],
                         ids=["free standing", "running into the next cell"])
def test_amount_off_the_right_edge_of_its_column_is_found(amount, row, right):
    def nudge(x, y, font, shown):  # an editor keeps the left end: one more digit overhangs the column
        return f"BT 1 0 0 1 {x} {y} Tm {font} 9.6 TL (1{shown}) Tj T* ET"

    f = only(findings(edit_cell(GENUINE, amount, nudge)), "PDF_ALIGNMENT_BROKEN")
    assert f.evidence["text"] == "1" + amount and f.evidence["peer_right"] == pytest.approx(right, abs=0.01)
    assert f.evidence["offset"] == pytest.approx(pdfmetrics.stringWidth("1", "zenhei", 8), abs=0.01)
    assert overlaps(f.bbox, cell_box(amount, ROW_Y[row], right))


def test_other_size_in_an_amount_column_is_found():
    def grow(x, y, font, shown):
        return f"BT 1 0 0 1 {x - 2.4} {y} Tm {font.replace(' 8 ', ' 8.5 ')} 9.6 TL ({shown}) Tj T* ET"

    f = only(findings(edit_cell(GENUINE, "29,238.36", grow)), "PDF_SIZE_MISMATCH")
    assert (f.evidence["size"], f.evidence["peer_size"]) == (8.5, 8.0)


def test_character_spacing_in_one_amount_is_found():
    def spread(x, y, font, shown):
        return f"BT 1 0 0 1 {x - 3.2} {y} Tm {font} 0.4 Tc 9.6 TL ({shown}) Tj T* 0 Tc ET"

    f = only(findings(edit_cell(GENUINE, "11,041.34", spread)), "PDF_SPACING_MISMATCH")
    assert f.evidence["offset"] == pytest.approx(0.4, abs=0.05)


def test_one_digit_retyped_in_another_font_inside_a_number():
    def patch(x, y, font, shown):
        return f"BT 1 0 0 1 {x} {y} Tm {font} (2,) Tj /EdHelv 8 Tf (9) Tj {font} (00.00) Tj ET"

    f = only(findings(edit_cell(GENUINE, "2,900.00", patch)), "PDF_FONT_MISMATCH")
    assert f.evidence["text"] == "9" and f.evidence["scope"] == "digits of the same number"


def letter(name_font: str | None = None, income_font: str | None = None, digit_font: str | None = None) -> bytes:
    """An income proof: body in a Ming face, title and labels in a bold-looking Hei face, figures optionally in
    a Latin face (as HTML engines set them), the name and the income optionally in other fonts."""
    body = register("uming", "/usr/share/fonts/truetype/arphic/uming.ttc")
    label = register("zenhei", FONT)
    digits = digit_font or body
    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    c.setFont(label, 22)
    c.drawCentredString(297, 760, "收入证明")
    lines = [[(body, "兹证明"), (name_font or body, "张晓明"), (body, "（身份证号："), (digits, "110101199003071234"),
              (body, "）系我单位员工，")],
             [(body, "于"), (digits, "2022"), (body, "年"), (digits, "4"), (body, "月"), (digits, "30"),
              (body, "日入职，现任软件工程师职务。")],
             [(body, "该员工"), (digits, "2024"), (body, "年月均收入（税前）为人民币"), (income_font or digits, "12,000.00"),
              (body, "元。")],
             [(label, "联系人："), (body, "王芳"), (label, "，联系电话："), (digits, "021-55556666")],
             [(digits, "2025"), (body, "年"), (digits, "3"), (body, "月"), (digits, "1"), (body, "日")]]
    for i, pieces in enumerate(lines):
        text = c.beginText(72, 700 - 30 * i)
        for font, piece in pieces:
            text.setFont(font, 13)
            text.textOut(piece)
        c.drawText(text)
    c.showPage()
    c.save()
    return buf.getvalue()


@pytest.mark.parametrize("digit_font, income_font", [(None, None), ("Helvetica", None),
                                                     ("Helvetica", "Helvetica-Bold")],
                         ids=["one face", "figures in a Latin face", "income in bold"])
def test_genuine_letters_with_labels_figures_and_emphasis_in_other_faces_are_clean(digit_font, income_font):
    assert findings(letter(digit_font=digit_font, income_font=income_font)) == []


def test_name_retyped_in_another_chinese_font_inside_its_sentence():
    edited = letter(name_font=register("microhei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"))
    f = only(findings(edited), "PDF_FONT_MISMATCH")
    assert f.severity == "high" and f.evidence["text"] == "张晓明"
    assert "MicroHei" in f.evidence["font"] and "UMing" in f.evidence["peer_font"]


def test_income_retyped_in_helvetica_differs_from_the_pages_numbers():
    f = only(findings(letter(income_font="Helvetica")), "PDF_FONT_MISMATCH")
    assert f.severity == "medium" and f.evidence["text"] == "12,000.00"
    assert f.evidence["scope"] == "digits of the page at this size" and f.evidence["peers"] >= 12


def _truth(path: Path) -> dict:
    return json.loads(path.with_name(path.name + ".truth.json").read_text(encoding="utf-8"))


GENUINE_SAMPLES = [p for p in sorted(SAMPLES.glob("*/*.pdf")) if _truth(p)["genuine"]]


@pytest.mark.parametrize("path", GENUINE_SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_genuine_samples_are_clean(path):
    assert findings(path.read_bytes()) == []


def test_overlay_sample_is_found_where_its_truth_says():
    path = SAMPLES / "applicant_01" / "statement_overlay.pdf"
    (edit,) = _truth(path)["tampering"]
    found = [f for f in findings(path.read_bytes()) if f.code == "PDF_FONT_MISMATCH"]
    assert [f.page for f in found] == [edit["page"]] and found[0].severity == "high"
    assert overlaps(found[0].bbox, edit["bbox"]) and found[0].evidence["text"] == edit["after"]
