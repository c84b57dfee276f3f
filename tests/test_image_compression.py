"""Compression history: statement pages saved as JPEG, edited the way forgers edit them (digits repainted in the
page's own font, a figure pasted from another JPEG), saved again; and genuine pages recompressed, resized and
photographed, which must stay quiet."""
from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

from checks import image_compression
from checks.ingest import open_document
from tests.test_image_text import ZENHEI, amounts, codes, document, jpeg, overlaps, reopened, retype, statement


@pytest.fixture(scope="module")
def page():
    return statement()


def test_digits_repainted_in_the_page_font_compress_unlike_the_page(page):
    """Same font, same ink: only the JPEG history tells the new digits (saved once) from the page (twice)."""
    image, words = page
    edited, box = retype(reopened(jpeg(image, 75)), amounts(words)[9], "18,888.88", font=ZENHEI)
    findings = image_compression.check(document(jpeg(edited, 90), words))
    assert [f.code for f in findings] == ["IMG_COMPRESSION_INCONSISTENT"], codes(findings)
    found = findings[0]
    assert overlaps(found.bbox, box) and found.units == "px"
    assert "quality 7" in found.evidence["method"] and found.evidence["file_quality"] == 90
    heatmap = Image.open(io.BytesIO(base64.b64decode(found.evidence["heatmap_png"])))
    assert max(heatmap.size) <= image_compression.HEATMAP_SIDE and len(found.evidence["heatmap_png"]) < 20_000


def test_a_figure_pasted_from_another_jpeg_keeps_its_own_grid(page):
    image, words = page
    donor = reopened(jpeg(statement(seed=2)[0], 70))
    target = amounts(words)[9]
    x0, y0, x1, y1 = (int(v) for v in target["box"])
    patch = donor.crop((x0 - 3, y0 - 3, x1 + 3, y1 + 3))  # the same cell of a look-alike statement
    edited = reopened(jpeg(image, 92))
    edited.paste(patch, (x0 - 6, y0 - 5))  # off the page's 8x8 grid by (2, 3) px
    findings = [f for f in image_compression.check(document(jpeg(edited, 95), words))
                if f.code == "IMG_GRID_MISALIGNED"]
    assert findings and overlaps(findings[0].bbox, (x0, y0, x1, y1)), codes(findings)
    assert findings[0].evidence["quality"] <= 75


def test_the_box_follows_the_exif_orientation(page):
    """A phone stores a portrait page sideways and says so in EXIF: boxes are on the page as delivered."""
    image, words = page
    stored = reopened(jpeg(image.transpose(Image.Transpose.ROTATE_90), 75))
    edited, box = retype(stored.transpose(Image.Transpose.ROTATE_270), amounts(words)[9], "18,888.88", font=ZENHEI)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored turned a quarter to the left: show it turned right
    out = io.BytesIO()
    edited.transpose(Image.Transpose.ROTATE_90).save(out, "JPEG", quality=90, exif=exif)
    doc = document(out.getvalue(), words)
    assert doc.image.size == image.size
    findings = image_compression.check(doc)
    assert findings and overlaps(findings[0].bbox, box), codes(findings)


def test_a_scanned_pdf_page_is_read_from_its_jpeg(page):
    """A scan placed on a PDF page (DCTDecode, as scanners and reportlab store it): the JPEG itself is analysed,
    and the box comes back in the page's points."""
    image, words = page
    edited, box = retype(reopened(jpeg(image, 75)), amounts(words)[9], "18,888.88", font=ZENHEI)
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(595, 842))
    pdf.drawImage(ImageReader(io.BytesIO(jpeg(edited, 90))), 0, 0, 595, 842)
    pdf.save()
    doc = open_document("scan.pdf", out.getvalue())
    assert doc.pages[0].scanned
    findings = image_compression.check(doc)
    assert [f.code for f in findings] == ["IMG_COMPRESSION_INCONSISTENT"] and findings[0].units == "pt"
    to_points = 595 / image.width
    assert overlaps(findings[0].bbox, [v * to_points for v in box]), codes(findings)


def test_lossless_images_have_no_jpeg_history():
    out = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 255, np.uint8)).save(out, "PNG")
    assert not image_compression.applies(open_document("page.png", out.getvalue()))


@pytest.mark.parametrize("size", [(240, 7), (1, 1)])
def test_a_jpeg_narrower_than_one_block_has_no_grid_to_read(size):
    # found by scripts/fuzz.py: a frame header declaring 7 rows made the grid-phase search index an empty array
    out = io.BytesIO()
    Image.new("L", size, 200).save(out, "JPEG", quality=80)
    doc = open_document("strip.jpg", out.getvalue())
    assert image_compression.applies(doc) and image_compression.check(doc) == []


@pytest.mark.parametrize("quality", [70, 92])
def test_blocks_recompressed_side_by_side_lose_what_they_lose_in_the_page(page, quality):
    """Only the textured blocks are recompressed, packed into a mosaic: a baseline JPEG quantizes each block on
    its own, so every block's error, on the page's grid and on the grid moved by half a block, is the error of
    recompressing the whole page."""
    image, _ = page
    luma = np.asarray(reopened(jpeg(image, 85)).convert("L"))
    rows, cols = luma.shape[0] // 8, luma.shape[1] // 8
    wanted = np.zeros((rows, cols), bool)
    wanted[1:-1, 1:-1] = np.random.default_rng(0).random((rows - 2, cols - 2)) < 0.3

    def errors(pixels):
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, "JPEG", quality=quality)
        return (pixels.astype(np.float32) - np.asarray(Image.open(out), np.float32)) ** 2

    whole = errors(luma)
    moved = np.zeros(luma.shape, np.float32)
    moved[4:, 4:] = errors(np.ascontiguousarray(luma[4:, 4:]))
    per_block = [a[:rows * 8, :cols * 8].reshape(rows, 8, cols, 8).sum(axis=(1, 3)) for a in (whole, moved)]
    expected = np.log((per_block[0] + 8) / (per_block[1] + 8))
    ratio = image_compression._log_ratio(luma, quality, wanted)
    assert np.abs(ratio[wanted] - expected[wanted]).max() < 1e-5
    assert np.all(ratio[~wanted] == 0) and np.ptp(expected[wanted]) > 1  # blocks that differ, all matched
