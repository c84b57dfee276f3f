"""Text-anchored consistency: statement pages drawn with Pillow in a CJK font, captured the ways applicants deliver
them (an export saved as JPEG, a flatbed scan, a phone photo), with an amount retyped the way forgers do it.

The helpers here make the pages for the other image checks' tests too. Words come with the boxes an OCR engine
gives (padded around the ink), so the checks run without OCR."""
from __future__ import annotations

import io
import random

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from checks import image_text
from checks.ingest import open_document
from checks.model import Word
from checks.table import lines_of

ZENHEI = "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"
MICROHEI = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
SIZE = (1240, 1754)  # A4 at 150 dpi: 2.2 megapixels
EM = 19  # px, 9-pt text at 150 dpi
ROWS = 30
PAPER, INK = np.array([236, 233, 226], np.float32), np.array([34, 34, 40], np.float32)


def statement(seed: int = 1) -> tuple[Image.Image, list[dict]]:
    """A white page with a title, a header and ROWS table rows (date, summary, credit or debit, balance,
    counterparty) between grey rules. Returns the page and its words: text, box, anchor point and alignment."""
    rng = random.Random(seed)
    page = Image.new("RGB", SIZE, "white")
    draw = ImageDraw.Draw(page)
    font = ImageFont.truetype(ZENHEI, EM)
    draw.text((320, 60), "中国工商银行借记账户历史明细（电子版）", font=ImageFont.truetype(ZENHEI, 30), fill="black")
    draw.text((70, 130), "户名：曾婷梅", font=font, fill="black")
    for text, x in (("交易日期", 80), ("摘要", 260), ("收入", 520), ("支出", 700), ("余额", 860), ("对方户名", 960)):
        draw.text((x, 220), text, font=font, fill="black")
    words, balance = [], 10000.0
    for row in range(ROWS):
        y = 270 + 46 * row
        draw.line((60, y - 8, 1180, y - 8), fill=(90, 90, 90), width=1)
        amount = rng.randint(500, 2000000) / 100
        credit = rng.random() < 0.5
        balance += amount if credit else -amount
        cells = ((f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}", 80, "ls"),
                 (rng.choice(("代发工资", "消费", "转账", "还款", "结息")), 260, "ls"),
                 (f"{amount:,.2f}", 620 if credit else 800, "rs"), (f"{abs(balance):,.2f}", 940, "rs"),
                 (rng.choice(("上海云帆科技有限公司", "财付通支付科技有限公司", "赵浩军")), 960, "ls"))
        for text, x, anchor in cells:
            draw.text((x, y + EM), text, font=font, fill="black", anchor=anchor)
            words.append({"text": text, "box": draw.textbbox((x, y + EM), text, font=font, anchor=anchor),
                          "at": (x, y + EM), "anchor": anchor})
    return page, words


def amounts(words: list[dict]) -> list[dict]:
    return [w for w in words if w["anchor"] == "rs"]


def retype(page: Image.Image, word: dict, text: str, font: str = MICROHEI) -> tuple[Image.Image, list[int]]:
    """Fill the word with the paper colour around it and type `text` in its place, right-aligned, in the ink
    colour picked from its darkest pixels, softened as an editor's type tool smooths it: what a forger does."""
    pixels = np.asarray(page.convert("RGB")).copy()
    x0, y0, x1, y1 = (int(v) for v in word["box"])
    x0, y0, x1, y1 = x0 - 3, y0 - 3, x1 + 3, y1 + 3
    ring = np.concatenate([pixels[y0 - 5:y0, x0:x1].reshape(-1, 3), pixels[y1:y1 + 5, x0:x1].reshape(-1, 3)])
    inside = pixels[y0:y1, x0:x1].reshape(-1, 3)
    ink = np.median(inside[inside.mean(axis=1) <= np.percentile(inside.mean(axis=1), 3)], axis=0)
    pixels[y0:y1, x0:x1] = np.median(ring, axis=0).astype(np.uint8)
    edited = Image.fromarray(pixels)
    draw = ImageDraw.Draw(edited)
    typeface = ImageFont.truetype(font, EM)
    draw.text(word["at"], text, font=typeface, fill=tuple(int(v) for v in ink), anchor=word["anchor"])
    new = draw.textbbox(word["at"], text, font=typeface, anchor=word["anchor"])
    box = [min(x0, new[0]), min(y0, new[1]), max(x1, new[2]), max(y1, new[3])]
    edited.paste(edited.crop(box).filter(ImageFilter.GaussianBlur(0.6)), box[:2])
    return edited, box


def jpeg(page: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    page.save(out, "JPEG", quality=quality)
    return out.getvalue()


def reopened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def scanned(page: Image.Image, seed: int = 1) -> Image.Image:
    """A flatbed scan: greyish paper, dark grey ink, soft optics, sensor noise."""
    rng = np.random.default_rng(seed)
    pixels = INK + np.asarray(page.convert("RGB"), np.float32) / 255 * (PAPER - INK)
    pixels = cv2.GaussianBlur(pixels, (0, 0), 0.6) + rng.normal(0, 1.6, pixels.shape[:2] + (1,))
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def photographed(page: Image.Image, seed: int = 1) -> tuple[Image.Image, np.ndarray]:
    """A phone photo: the page in perspective on a desk, uneven light, defocus, noise. Returns the photo and the
    homography from page pixels to photo pixels."""
    rng = np.random.default_rng(seed)
    pixels = np.asarray(page.convert("RGB"), np.float32)
    h, w = pixels.shape[:2]
    corners = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    moved = corners + rng.uniform(-40, 40, (4, 2)).astype(np.float32)
    moved -= moved.min(axis=0)
    matrix = cv2.getPerspectiveTransform(corners, moved)
    size = (int(moved[:, 0].max()), int(moved[:, 1].max()))
    pixels = cv2.warpPerspective(pixels, matrix, size, borderValue=(120, 110, 100))
    ys, xs = np.mgrid[0:size[1], 0:size[0]]
    light = 0.8 + 0.2 * np.cos((xs / size[0] - 0.3) * 2) * np.cos((ys / size[1] - 0.6) * 2)
    pixels = cv2.GaussianBlur(pixels * light[..., None] * 0.92, (0, 0), 1.0) + rng.normal(0, 3, pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)), matrix


def mapped(box, matrix: np.ndarray | None) -> list[float]:
    """A page box through a capture's homography (axis-aligned around the moved corners)."""
    if matrix is None:
        return list(box)
    x0, y0, x1, y1 = box
    corners = np.float32([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]).reshape(-1, 1, 2)
    moved = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
    return [float(moved[:, 0].min()), float(moved[:, 1].min()), float(moved[:, 0].max()), float(moved[:, 1].max())]


def document(data: bytes, words: list[dict], matrix: np.ndarray | None = None, scale: float = 1.0):
    """The image opened as docverify opens uploads, with the words an OCR engine would give: boxes padded by 40%
    of the text height above and below, characters split evenly."""
    doc = open_document("page.jpg", data)
    out = []
    for w in words:
        x0, y0, x1, y1 = (v * scale for v in mapped(w["box"], matrix))
        pad = 0.4 * (y1 - y0)
        step = (x1 - x0) / len(w["text"])
        chars = tuple(Word(c, x0 + i * step, y0 - pad, x0 + (i + 1) * step, y1 + pad) for i, c in enumerate(w["text"]))
        out.append(Word(w["text"], x0, y0 - pad, x1, y1 + pad, conf=0.95, chars=chars))
    page = doc.pages[0]
    page.words, page.lines, page.ocr = out, lines_of(out), "rapidocr"
    return doc


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def codes(findings) -> list[str]:
    return [f"{f.code} {f.evidence.get('text', '')} {[round(v) for v in f.bbox]}" for f in findings]


# --- the check --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page():
    return statement()


def test_a_retyped_amount_on_an_exported_jpeg_is_found(page):
    image, words = page
    target = amounts(words)[9]
    edited, box = retype(reopened(jpeg(image, 85)), target, "18,888.88")
    findings = image_text.check(document(jpeg(edited, 90), words))
    assert [f.code for f in findings] == ["IMG_TEXT_INCONSISTENT"], codes(findings)
    assert overlaps(findings[0].bbox, box) and findings[0].units == "px"
    assert "shape" in findings[0].evidence["measures"]


def test_a_retyped_amount_on_a_scan_is_found(page):
    image, words = page
    target = amounts(words)[9]
    edited, box = retype(reopened(jpeg(scanned(image), 90)), target, "18,888.88")
    findings = image_text.check(document(jpeg(edited, 90), words))
    assert len(findings) == 1 and overlaps(findings[0].bbox, box), codes(findings)


def test_a_retyped_amount_on_a_phone_photo_is_found(page):
    image, words = page
    photo, matrix = photographed(image)
    target = amounts(words)[9]
    on_photo = dict(target, box=mapped(target["box"], matrix),
                    at=tuple(cv2.perspectiveTransform(np.float32([[target["at"]]]), matrix)[0, 0]))
    edited, box = retype(reopened(jpeg(photo, 88)), on_photo, "18,888.88")
    findings = image_text.check(document(jpeg(edited, 88), words, matrix))
    assert len(findings) == 1 and overlaps(findings[0].bbox, box), codes(findings)


def test_a_clock_or_title_far_larger_than_the_figures_is_not_their_peer(page):
    """A screenshot's status-bar clock is a number too, set three times the size of the page's figures."""
    image, words = page
    image = image.copy()
    ImageDraw.Draw(image).text((90, 20), "9:41", font=ImageFont.truetype(MICROHEI, 3 * EM), fill="black")
    clock = {"text": "9:41", "box": ImageDraw.Draw(image).textbbox((90, 20), "9:41",
                                                                    font=ImageFont.truetype(MICROHEI, 3 * EM))}
    assert image_text.check(document(jpeg(image, 90), words + [clock])) == []


def test_a_header_time_a_fifth_taller_than_the_tables_is_not_their_peer():
    """A dense ICBC export of the image set (seed 7), read by OCR: the header's print time '12:44:22' is 15 px
    high, the table's times 12–13. Its own column holds two figures, so its peers came from the date column, and
    against them it was odd in height and in ink darkness together. Text of another column is a peer only
    within a pixel or an eighth of the word's height: the print time then has too few peers to be examined."""
    from checks import reading
    from fixtures.imageset import genuine

    doc = open_document("export.jpg", genuine(7, "export", 6).data)
    reading.read(doc)
    assert "12:44:22" in {w.text for w in doc.pages[0].words}
    assert image_text.check(doc) == []


def test_pdf_pages_with_a_text_layer_are_not_its_business():
    doc = open_document("page.jpg", jpeg(Image.new("RGB", (200, 100), "white"), 90))
    assert not image_text.applies(doc)  # no OCR words
