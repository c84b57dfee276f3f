"""Copy-move on images and scanned pages: a figure copied from elsewhere on the same page over another one.

A forger who needs a new amount often takes one the page already shows — another row's salary, a larger
balance — and copies those pixels over the old figure, in the issuer's own font and ink. Nothing about the glyphs
is odd; what gives the copy away is that it is the same pixels. A genuine page repeats figures too (one salary
every month, one contribution base all year) and draws the same glyphs everywhere, so looking alike is not
evidence; but on a scan or a photo every print of a figure carries its own sensor and paper noise, and two prints
agree only as far as the noise lets them. A copy agrees to the last grain.

Entry point: `check(doc) -> list[Finding]`.

Candidates are block matches anchored on the OCR: pairs of numbers that read the same. Each pair's tight ink boxes
are superimposed (the displacement that matches them best, to the pixel) and the variance of their difference is
taken on the paper inside the boxes, between and within the glyphs, where only noise differs. It is compared
with the same difference between this print and prints of other figures nearby, which share nothing but the
page's noise and the JPEG's: far below that, the two are one print. Which of the two is the copy is a guess (the
one on quieter paper, cleaned before pasting); both boxes are in the finding.

Pages without noise (renders exported straight to JPEG, screenshots) repeat figures pixel for pixel by
themselves; there the check says nothing. Figures that a resize or a chat app's re-send resampled are not
compared either: the resampling gives the copy and its source different grain.
"""
from __future__ import annotations

import cv2
import numpy as np

from checks import reading, render
from checks.catalog import finding
from checks.image_text import is_number
from checks.model import Document, Finding, Page, Word

NAME = "image_copymove"

MIN_NOISE = 0.7  # gray levels of paper noise a page needs for two prints of one figure to differ
FLAT = 4.0  # gradient (Sobel of the smoothed page) under which a pixel is plain paper
SHIFT = 3  # px either way the second box is moved to superimpose the first
MIN_PAPER = 20  # plain-paper pixels two figures' boxes must share to be compared
PAPER = 0.1  # share of the ink's contrast a pixel may lie below the paper and still be paper
MAX_RATIO = 0.2  # their difference over that of two prints of different figures, below which they are one
REFERENCES = 6  # prints of other figures a pair is measured against
RING = 6  # px around a box whose paper tells the copy (cleaned) from its source
MAX_FINDINGS = 5


def applies(doc: Document) -> bool:
    return any((doc.format == "image" or p.scanned) and p.words for p in doc.pages)


def check(doc: Document) -> list[Finding]:
    out = []
    for page in doc.pages:
        if (doc.format == "image" or page.scanned) and page.words:
            out.extend(_page_findings(doc, page))
    return out


def _page_findings(doc: Document, page: Page) -> list[Finding]:
    gray = render.raster(doc, page.number).astype(np.float32)
    units = render.scale(doc)
    smooth = cv2.GaussianBlur(gray, (0, 0), 1.5)
    residual = gray - smooth
    flat = np.hypot(cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)) < FLAT
    noise = 1.4826 * float(np.median(np.abs(residual[flat] - np.median(residual[flat])))) if flat.any() else 0.0
    if noise < MIN_NOISE:
        return []
    figures = [(w, box) for w in page.words if is_number(w.text)
               if (box := _ink_box(gray, page, w, units)) is not None]
    out = []
    for i, (a, box_a) in enumerate(figures):
        reference = paper = None
        for b, box_b in figures[i + 1:]:
            if a.text != b.text:
                continue
            if paper is None:  # only a figure printed again is compared: most are not
                paper = _paper_level(gray, box_a)
            if (same := _difference(gray, box_a, paper, box_b)) is None:
                continue
            if reference is None:
                reference = _reference(gray, box_a, paper, [box for w, box in figures if w.text != a.text])
            if reference is None or same / reference > MAX_RATIO:
                continue
            ratio = same / reference
            # The copy sits on cleaned paper: the quieter surroundings.
            copy, source = sorted((box_a, box_b), key=lambda box: _ring_noise(residual, flat, box))
            out.append((ratio, a.text, copy, source))
    out.sort(key=lambda item: item[0])
    return [finding("IMG_COPY_MOVE", page=page.number, units=page.units, bbox=tuple(v * units for v in copy),
                    text=text, source_bbox=[round(v * units, 2) for v in source], score=round(ratio, 3),
                    noise=round(noise, 2))
            for ratio, text, copy, source in out[:MAX_FINDINGS]]


def _reference(gray: np.ndarray, box: list[int], paper: float, others: list[list[int]]) -> float | None:
    """How much two prints differ on their common paper by the noise alone, JPEG's included: the median
    difference of `box` from the nearest prints of other figures."""
    nearest = sorted(others, key=lambda other: abs(other[0] - box[0]) + abs(other[1] - box[1]))
    values = [d for other in nearest[:2 * REFERENCES] if (d := _difference(gray, box, paper, other)) is not None]
    return max(float(np.median(values[:REFERENCES])), 1e-6) if len(values) >= REFERENCES // 2 else None


def _ink_box(gray: np.ndarray, page: Page, word: Word, units: float) -> list[int] | None:
    """The word's ink, boxed tight (one pixel of margin), in raster pixels: OCR boxes are padded unevenly."""
    x0, top, x1, bottom = (int(round(v / units)) for v in reading.delivered_box(page, list(word.bbox)))
    x0, top = max(x0, 0), max(top, 0)
    patch = gray[top:bottom, x0:x1]
    if patch.size == 0:
        return None
    dark, paper = np.percentile(patch, 2), np.percentile(patch, 90)
    rows, cols = np.nonzero(patch < (dark + paper) / 2)
    if rows.size == 0 or paper - dark < 40:
        return None
    return [x0 + int(cols.min()) - 1, top + int(rows.min()) - 1, x0 + int(cols.max()) + 2, top + int(rows.max()) + 2]


def _paper_level(gray: np.ndarray, box: list[int]) -> float:
    """The gray level above which a pixel in a print's box is plain paper."""
    x0, y0, x1, y1 = box
    level, dark = np.percentile(gray[max(y0, 0):y1, max(x0, 0):x1], [90, 2])
    return float(level - PAPER * (level - dark))


def _difference(gray: np.ndarray, a: list[int], paper: float, b: list[int]) -> float | None:
    """Variance of the difference of box `a` and the same-sized box at `b`'s right end (figures are right-aligned),
    moved within SHIFT to superimpose best, on the plain paper the two share (lighter than `paper`, `a`'s
    _paper_level): between and inside the glyphs, where only noise differs (at the glyphs' edges a JPEG save on
    another grid phase differs more)."""
    x0, y0, x1, y1 = a
    w, h = x1 - x0, y1 - y0
    bx, by = b[2] - w, b[1]
    if min(x0, y0, bx - SHIFT, by - SHIFT) < 0 or max(x1, bx + w + SHIFT) > gray.shape[1] or \
            max(y1, by + h + SHIFT) > gray.shape[0]:
        return None
    scores = cv2.matchTemplate(gray[by - SHIFT:by + h + SHIFT, bx - SHIFT:bx + w + SHIFT], gray[y0:y1, x0:x1],
                               cv2.TM_SQDIFF)
    dy, dx = np.unravel_index(int(np.argmin(scores)), scores.shape)
    bx, by = bx - SHIFT + dx, by - SHIFT + dy
    first, second = gray[y0:y1, x0:x1], gray[by:by + h, bx:bx + w]
    shared = (first > paper) & (second > paper)
    shared = cv2.erode(shared.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # off the glyphs' edges
    if shared.sum() < MIN_PAPER:
        return None
    return float(np.var((first - second)[shared]))  # the light may differ from one place of a photo to another


def _ring_noise(residual: np.ndarray, flat: np.ndarray, box: list[int]) -> float:
    x0, y0, x1, y1 = box
    ring = np.zeros(residual.shape, bool)
    ring[max(0, y0 - RING):y1 + RING, max(0, x0 - RING):x1 + RING] = True
    ring[y0:y1, x0:x1] = False
    values = residual[ring & flat]
    return float(np.std(values)) if values.size else 0.0
