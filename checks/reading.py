"""Give every page words: pages without a usable text layer (images, scanned PDFs) are read by OCR.

Photos and scans are rarely level, and table reading needs level lines. A phone photo is also in perspective:
the slope of its lines changes from the top of the page to the bottom. So the slope is measured on the words
themselves — pairs of words far apart on one line — as a straight function of height, and the words are moved
into a levelled "reading" frame (each shifted up or down, none resampled). `page.unskew` holds that slope model;
`delivered()` maps every box extraction located back to the delivered page. OCR boxes come in raster pixels
and are scaled to the page's units (points for PDF pages, pixels for images).
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from checks import ocr, render
from checks.model import Document, Page, Word
from checks.table import lines_of

# Table rulings that survive preprocessing come back as bars and brackets: they are not text.
_RULING = re.compile(r"[|｜丨!lI\[\]_—\-]+")
_BARS = "|｜丨[]"
# Below this slope (degrees) a line stays within a fraction of its height from edge to edge: leave it be.
MIN_SKEW = 0.1


def needs_ocr(doc: Document) -> list[Page]:
    return [p for p in doc.pages if doc.format == "image" or p.scanned]


def read(doc: Document, engine: str = ocr.DEFAULT_ENGINE, threads: int = 1) -> None:
    """OCR the pages that need it, each with `threads` threads (see checks.ocr), as many pages at once as the
    machine has cores for."""
    pages = needs_ocr(doc)
    if not pages:
        return
    reader = ocr.engine(engine, threads)
    rasters = [render.raster(doc, page.number) for page in pages]  # rendered here: PDFium is not thread-safe
    factor = render.scale(doc)
    with ThreadPoolExecutor(max_workers=min(len(pages), max(1, (os.cpu_count() or 1) // threads))) as pool:
        results = list(pool.map(reader.read, rasters))
    for page, lines in zip(pages, results):
        words = [_cleaned(w, factor) for line in lines for w in line.words if not _RULING.fullmatch(w.text)]
        page.unskew = slope_model(words)
        page.words = [_shifted(w, page.unskew, -1) for w in words]
        page.lines = lines_of(page.words)
        page.text = "\n".join(line.text for line in page.lines)
        page.ocr = engine


def slope_model(words: list[Word]) -> tuple[float, float, float] | None:
    """(a, b, x_mid): a line through height y rises by (a + b·y) per unit to the right; None when level.

    Measured on pairs of words that sit on one line far apart: their centres differ in height by less than
    a word's height, and in x by more than a fifth of the page. Rows of a table are further apart than that.
    """
    if len(words) < 4:
        return None
    x_mid = (min(w.x0 for w in words) + max(w.x1 for w in words)) / 2
    span = max(w.x1 for w in words) - min(w.x0 for w in words)
    pairs = []
    ordered = sorted(words, key=lambda w: w.top)
    for i, a in enumerate(ordered):
        ha = a.bottom - a.top
        for b in ordered[i + 1:]:
            if b.top - a.top > ha:
                break
            dx = (b.x0 + b.x1 - a.x0 - a.x1) / 2
            if abs(dx) > span / 5:
                dy = (b.top + b.bottom - a.top - a.bottom) / 2
                pairs.append(((a.top + b.top) / 2, dy / dx))
    if len(pairs) < 8:
        return None
    ys, slopes = np.array(pairs).T
    med = np.median(slopes)
    keep = np.abs(slopes - med) < 0.01  # pairs from two different rows give wild slopes
    if keep.sum() < 8:
        return None
    b, a = np.polyfit(ys[keep], slopes[keep], 1)
    if abs(a + b * ys[keep].mean()) < np.tan(np.radians(MIN_SKEW)) and abs(b) * span < 1e-3:
        return None
    return float(a), float(b), float(x_mid)


def _shifted(word: Word, model, sign: int) -> Word:
    """The word moved vertically by ∓slope·(x − x_mid): into the reading frame (sign −1) or back out (+1)."""
    if model is None:
        return word
    a, b, x_mid = model
    dy = sign * (a + b * word.top) * ((word.x0 + word.x1) / 2 - x_mid)
    return Word(word.text, word.x0, word.top + dy, word.x1, word.bottom + dy, conf=word.conf, font=word.font,
                size=word.size, chars=tuple(_shifted(c, model, sign) for c in word.chars))


def _cleaned(word: Word, factor: float) -> Word:
    """The word in page units, without ruling bars stuck to its ends."""
    return Word(word.text.strip(_BARS), word.x0 * factor, word.top * factor, word.x1 * factor, word.bottom * factor,
                conf=word.conf, chars=tuple(_cleaned(c, factor) for c in word.chars if c.text.strip(_BARS)))


def delivered_box(page: Page, box: list[float]) -> list[float]:
    """A box from the page's reading frame in the delivered page's frame (unchanged for level pages)."""
    if page.unskew is None:
        return box
    x0, top, x1, bottom = box
    a, b, x_mid = page.unskew
    shifts = [(a + b * top) * (x - x_mid) for x in (x0, x1)]
    return [round(v, 2) for v in (x0, top + min(shifts), x1, bottom + max(shifts))]


def delivered(doc: Document, extracted):
    """Every `bbox` and cell box in an extraction result, mapped to the delivered page."""
    if not any(p.unskew is not None for p in doc.pages):
        return extracted
    if isinstance(extracted, list):
        return [delivered(doc, v) for v in extracted]
    if not isinstance(extracted, dict):
        return extracted
    page = doc.pages[extracted["page"] - 1] if isinstance(extracted.get("page"), int) else None
    out = {}
    for key, value in extracted.items():
        if page is not None and key == "bbox" and value:
            out[key] = delivered_box(page, value)
        elif page is not None and key == "cells":
            out[key] = {role: delivered_box(page, box) for role, box in value.items()}
        else:
            out[key] = delivered(doc, value)
    return out
