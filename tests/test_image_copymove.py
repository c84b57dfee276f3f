"""Copy-move: on a scanned statement, another row's amount copied over a salary the way forgers do it (the old
figure healed away first), against genuine pages that print one amount twice, recompressed, resized or
photographed."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from checks import image_copymove
from tests.test_image_text import (ZENHEI, amounts, codes, document, jpeg, overlaps, reopened, retype, scanned,
                                   statement)


def copied(image: Image.Image, source: dict, target: dict) -> tuple[Image.Image, list[int], list[int]]:
    """`source`'s figure (its box and 2 px around) copied right-aligned over `target`'s, after healing the old
    figure away (OpenCV inpainting, as an editor's healing brush). Returns the image, the copy's and the
    source's boxes."""
    pixels = np.asarray(image).copy()
    x0, y0, x1, y1 = (int(v) for v in target["box"])
    mask = np.zeros(pixels.shape[:2], np.uint8)
    mask[y0 - 3:y1 + 3, x0 - 3:x1 + 3] = 255
    pixels = cv2.inpaint(pixels, mask, 3, cv2.INPAINT_TELEA)
    sx0, sy0, sx1, sy1 = (int(v) for v in source["box"])
    block = pixels[sy0 - 2:sy1 + 2, sx0 - 2:sx1 + 2].copy()
    to_x, to_y = x1 + 2 - block.shape[1], y0 - 2
    pixels[to_y:to_y + block.shape[0], to_x:to_x + block.shape[1]] = block
    return Image.fromarray(pixels), [to_x, to_y, to_x + block.shape[1], to_y + block.shape[0]], [sx0, sy0, sx1, sy1]


@pytest.fixture(scope="module")
def page():
    return statement()


def _same_column(words: list[dict]) -> tuple[dict, dict]:
    column = [w for w in amounts(words) if w["at"][0] == amounts(words)[9]["at"][0]]
    return column[2], column[7]


def test_an_amount_copied_over_another_on_a_scan_is_found(page):
    """A scan kept lossless (PNG, TIFF), edited and saved the same way: the copy is its source, grain for grain."""
    image, words = page
    source, target = _same_column(words)
    forged, copy, origin = copied(scanned(image), source, target)
    read = [dict(w, text=source["text"], box=copy) if w is target else w for w in words]  # what OCR reads there
    out = io.BytesIO()
    forged.save(out, "PNG")
    findings = image_copymove.check(document(out.getvalue(), read))
    assert [f.code for f in findings] == ["IMG_COPY_MOVE"], codes(findings)
    pair = (findings[0].bbox, findings[0].evidence["source_bbox"])
    assert any(overlaps(a, copy) and overlaps(b, origin) for a, b in (pair, pair[::-1]))
    assert findings[0].severity == "high"


def test_one_amount_printed_twice_is_two_prints(page):
    """Months with the same salary: the issuer prints one figure twice; the scanner gives each its own noise."""
    image, words = page
    source, target = _same_column(words)
    twice, _ = retype(image, target, source["text"], font=ZENHEI)
    read = [dict(w, text=source["text"]) if w is target else w for w in words]
    assert image_copymove.check(document(jpeg(scanned(twice), 95), read)) == []


def test_a_clean_export_is_not_judged(page):
    """An export repeats figures pixel for pixel by itself: without noise there is nothing to tell a copy by."""
    image, words = page
    source, target = _same_column(words)
    read = [dict(w, text=source["text"]) if w is target else w for w in words]
    forged, _, _ = copied(reopened(jpeg(image, 92)), source, target)
    assert image_copymove.check(document(jpeg(forged, 95), read)) == []


