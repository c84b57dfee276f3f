"""Text-anchored consistency on images and scanned pages: an amount or date whose glyphs differ from its peers'.

A forger who retypes digits on a picture of a document paints new text over the old: in another font or a
similar one, at a size and weight matched by eye, in an ink colour picked from the page, on a patch of
background filled in by hand. Everything else on the page went through one process (one font engine, one
printer, one scanner or camera): its amounts and dates agree with each other in glyph shapes, height, pitch,
stroke width, edge sharpness, ink contrast and colour, and in the noise of the paper around them. The new text
agrees with them only as far as the forger's eye could tell.

Entry point: `check(doc) -> list[Finding]`.

Every OCR word that is a number (an amount, a date, a time: digits with separators), and every amount inside a
longer OCR line (a proof's sentence), is measured on the pixels of the delivered page: its digits are the
connected ink components of the word's height, aligned with the OCR text to know which digit each one draws.
Each measure is compared with the same measure of its peers — the nearest numbers of the same kind and size in
the same column, where the page's own process sets text alike; elsewhere on the page when the column is sparse —
by a robust z-score (median and MAD of the peers, with a floor for pages whose peers agree too well). A word is
reported when two kinds of measure disagree together (its form, its weight, its ink's tone, the paper around
it): one odd measure, or several moved by one cause, is what blur, a seal or a misread box does to genuine text.

Not examined: numbers with fewer than three digits, numbers inside longer OCR words other than amounts, Chinese
text, and numbers with fewer than MIN_PEERS peers of their size on the page.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import cv2
import numpy as np

from checks import reading, render
from checks.catalog import finding
from checks.model import Document, Finding, Page, Word
from checks.pdf_glyphs import shape_distance, normalised_shape

NAME = "image_text"

_NUMBER = re.compile(r"^[+\-¥]?\d[\d,.:/\-]*\d$")
_RUN = re.compile(r"[+\-]?\d[\d,.:/\-]*\d")
MIN_DIGITS = 3
SEGMENT_CUTS = (0.5, 0.65, 0.8)  # ink darkness (0 paper .. 1 ink core) that separates glyphs
FULL_HEIGHT = 0.85  # a glyph parted from its neighbours keeps this share of the digits' height
MIN_CONTRAST = 40  # gray levels between paper and ink: less is a faint stamp or a watermark, not text
PEERS = 8  # nearest column peers a word is compared with: near ones share the light and focus of a photo
MIN_PEERS = 4
SIZE_MAX = 1 / 3  # words further apart in height belong to different levels of the layout
# For any peer but one of its kind in its column it takes less: a header's print time, a fifth taller than the
# table's times and figures, is another level too. Heights are whole pixels, so a pixel apart is always near
# enough (small text in a chat re-send).
SIZE_APART = 1 / 8
Z_OUT = 4.0  # robust deviations that make one measure disagree with the peers
AGREE = 2  # kinds of measure (see _KINDS) that must disagree together

# Each measure with the smallest spread its peers are credited with (in its own units, or relative for the
# measures compared on a log scale). Without it, the identical glyphs of a clean export would make a word
# whose height is off by a tenth of a pixel an outlier.
_FLOORS = {
    "shape": 0.04,  # glyph distance (see checks.pdf_glyphs.shape_distance) to the page's usual glyph of the digit
    "height": 0.04,
    "pitch": 0.04,  # distance between neighbouring digits, per height
    "stroke": 0.06,
    "edge": 0.06,  # width of the ink's edges, px
    "contrast": 0.03,  # ink darkness relative to the paper
    "hue_r": 3.0,  # ink colour against the paper's, gray levels
    "hue_b": 3.0,
    "noise": 0.25,  # paper noise around the glyphs
    "halo": 0.25,  # JPEG ringing next to the glyphs
}
_LOG = {"height", "pitch", "stroke", "edge", "noise", "halo"}
# Measures that one cause moves together count once: the glyphs' form (one segmentation gives shape and pitch),
# their weight (blur thickens strokes and softens edges alike), the ink's tone, the paper around them.
_KINDS = {"shape": "form", "height": "form", "pitch": "form", "stroke": "weight", "edge": "weight",
          "contrast": "tone", "hue_r": "tone", "hue_b": "tone", "noise": "paper", "halo": "paper"}
NOISE_OFFSET = 1.0  # gray levels added before the log: below this, noise is compression residue, not paper


def applies(doc: Document) -> bool:
    return any(_raster_page(doc, p) for p in doc.pages)


def check(doc: Document) -> list[Finding]:
    return [f for page in doc.pages if _raster_page(doc, page) for f in _page_findings(doc, page)]


def _raster_page(doc: Document, page: Page) -> bool:
    return (doc.format == "image" or page.scanned) and bool(page.words)


@dataclass
class _Sample:
    word: Word
    box: tuple[int, int, int, int]  # px of the delivered page
    kind: str  # "amount" | "date" | "time"
    measures: dict[str, float]
    glyphs: list[tuple[str, np.ndarray]] = field(default_factory=list)  # (digit, normalised shape)


def _page_findings(doc: Document, page: Page) -> list[Finding]:
    rgb = render.raster(doc, page.number, color=True)
    units = render.scale(doc)
    samples = [s for w in page.words for n in _numbers(w) if (s := _sample(page, n, rgb, units)) is not None]
    _shape_measures(samples)
    out = []
    for sample in samples:
        peers = _peers(sample, samples)
        if len(peers) < MIN_PEERS:
            continue
        z = _zscores(sample, peers)
        odd = {k: v for k, v in z.items() if abs(v) >= Z_OUT}
        if len({_KINDS[name] for name in odd}) >= AGREE:
            out.append(_finding(page, sample, peers, z, odd, units))
    return out


# --- measuring a word -----------------------------------------------------------------------------

def is_number(text: str) -> bool:
    """An amount, a date, a time or an account number: digits with separators, MIN_DIGITS of them at least."""
    return bool(_NUMBER.match(text)) and sum(c.isdigit() for c in text) >= MIN_DIGITS


def _kind(text: str) -> str:
    if ":" in text:
        return "time"
    return "date" if re.match(r"\d{4}[-./]\d{1,2}[-./]", text) else "amount"


def _numbers(word: Word) -> list[Word]:
    """The word if it is a number; else the amounts inside it (a proof's 月收入为人民币12,000.00元 is one OCR
    line), boxed from the OCR's character boxes, a quarter character inside at either end so that no
    neighbouring character's ink comes in."""
    if is_number(word.text):
        return [word]
    if len(word.chars) != len(word.text):
        return []
    out = []
    for match in _RUN.finditer(word.text):
        # Only amounts: the dates and account numbers of a header line are often set apart from the table's.
        if is_number(match[0]) and re.search(r"\.\d{2}$", match[0]):
            first, last = word.chars[match.start()], word.chars[match.end() - 1]
            trim = (last.x1 - first.x0) / len(match[0]) / 4
            out.append(Word(match[0], first.x0 + trim, word.top, last.x1 - trim, word.bottom, conf=word.conf,
                            chars=word.chars[match.start():match.end()]))
    return out


def _sample(page: Page, word: Word, rgb: np.ndarray, units: float) -> _Sample | None:
    x0, top, x1, bottom = (v / units for v in reading.delivered_box(page, list(word.bbox)))
    height, width = rgb.shape[:2]
    box = (max(0, int(x0) - 2), max(0, int(top) - 2), min(width, int(x1) + 3), min(height, int(bottom) + 3))
    if box[2] - box[0] < 8 or box[3] - box[1] < 8:
        return None
    measured = _measure(rgb[box[1]:box[3], box[0]:box[2]].astype(np.float32), [c for c in word.text if c.isdigit()])
    if measured is None:
        return None
    measures, glyphs = measured
    return _Sample(word, box, _kind(word.text), measures, glyphs)


def _measure(patch: np.ndarray, digits: list[str]) -> tuple[dict[str, float], list] | None:
    """The word's measures from its pixels, and its digits' shapes when its ink parts into one glyph per digit of
    the OCR text."""
    gray = patch[..., 0]  # the red channel, as OCR reads it: a red seal across a date fades out
    paper, core = np.percentile(gray, 90), np.percentile(gray, 2)
    if paper - core < MIN_CONTRAST:
        return None
    ink = np.clip((paper - gray) / (paper - core), 0, 1)
    # Every measure is taken at one cut through the ink (half its darkness), whatever it takes to part the digits.
    base = _digit_parts(ink, SEGMENT_CUTS[0])
    if base is None:
        return None
    labels, boxes = base
    top, bottom = int(np.median(boxes[:, 1])), int(np.median(boxes[:, 1] + boxes[:, 3]))
    glyph = cv2.dilate(np.isin(labels, boxes[:, 4]).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    gy, gx = np.gradient(ink)
    slope = np.hypot(gx, gy)[glyph]
    # Ink area over half the outline's length is the stroke width; the steepest edges give the edges' width.
    stroke = 2 * float(ink[glyph].sum()) / max(float(slope.sum()), 1e-6)
    edge = 1 / max(float(np.percentile(slope, 90)), 1e-3)
    core_pixels, paper_pixels = patch[(ink >= 0.75) & glyph], patch[ink < 0.1]
    if len(core_pixels) and len(paper_pixels):
        ink_rgb, paper_rgb = np.median(core_pixels, axis=0), np.median(paper_pixels, axis=0)
        hue = (ink_rgb - ink_rgb.mean()) - (paper_rgb - paper_rgb.mean())
    else:
        hue = np.full(3, np.nan)

    # Paper noise: what a 3x3 mean does not explain, away from any ink; the quietest glyph's surroundings
    # count, so that one repainted digit shows as well as a repainted word.
    light = patch.mean(axis=2)
    residual = np.abs(light - cv2.blur(light, (3, 3)))
    background = cv2.dilate((ink > 0.15).astype(np.uint8), np.ones((5, 5), np.uint8)) == 0
    cells = [residual[:, x:x + w][background[:, x:x + w]] for x, _, w, _, _ in boxes]
    noise = min((float(c.mean()) for c in cells if c.size >= 20), default=np.nan)
    # JPEG ringing: the same residual in the paper just around the glyphs, per level of ink contrast. Text pasted
    # from a file compressed harder rings more than its peers; text painted in and saved once rings less.
    inked = (ink > 0.5).astype(np.uint8)
    halo = (cv2.dilate(inked, np.ones((7, 7), np.uint8)) > 0) & (cv2.dilate(inked, np.ones((3, 3), np.uint8)) == 0)
    halo &= ink < 0.15

    measures = {"height": float(bottom - top), "pitch": np.nan, "stroke": stroke, "edge": edge,
                "contrast": float((paper - core) / paper), "hue_r": float(hue[0]), "hue_b": float(hue[2]),
                "noise": noise,
                "halo": float(residual[halo].mean()) / (paper - core) * 255 if halo.sum() >= 20 else np.nan}
    shapes = []
    columns = _one_per_digit(ink, len(digits), bottom - top)
    if columns is not None:
        centres = columns.mean(axis=1)
        gaps = np.diff(centres)
        # Neighbouring digits, not the jump over a separator.
        measures["pitch"] = float(np.median(gaps[gaps < 1.5 * np.median(gaps)])) / (bottom - top)
        for digit, (x0, x1) in zip(digits, columns):
            shapes.append((digit, normalised_shape(ink[top:bottom, x0:x1] * glyph[top:bottom, x0:x1])))
    return measures, shapes


def _digit_parts(ink: np.ndarray, cut: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(labels, stats of the digit components left to right, label last) of the ink darker than `cut`; None under
    MIN_DIGITS."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats((ink > cut).astype(np.uint8), connectivity=8)
    stats[:, 4] = np.arange(count)
    x, y, w, h = stats[1:, 0], stats[1:, 1], stats[1:, 2], stats[1:, 3]
    # Glyphs: not table rules (as wide as the box, or as tall), not dust, not the cut-off text of the lines above
    # and below or the characters beside that the box's margin takes in.
    keep = (h >= 3) & (w <= 2.5 * h) & (y > 0) & (y + h < ink.shape[0]) & (x > 0) & (x + w < ink.shape[1])
    parts = stats[1:][keep]
    if len(parts) < MIN_DIGITS:
        return None
    tall = np.percentile(parts[:, 3], 80)
    # Digits are the word's tallest glyphs; separators (, . : -) are smaller.
    parts = parts[(parts[:, 3] >= 0.7 * tall) & (parts[:, 3] <= 1.3 * tall)]
    return (labels, parts[np.argsort(parts[:, 0])]) if len(parts) >= MIN_DIGITS else None


def _one_per_digit(ink: np.ndarray, digits: int, height: int) -> np.ndarray | None:
    """Each digit's columns [x0, x1), from the first cut that parts the ink into as many glyphs as the OCR read
    digits, each of the digits' full `height` and none wider than tall. Blur joins neighbouring digits at half the
    ink's darkness, and a stricter cut parts them again; too strict a cut breaks faint strokes off a digit, which
    then comes out short."""
    for cut in SEGMENT_CUTS:
        parts = _digit_parts(ink, cut)
        if parts is None or len(parts[1]) != digits:
            continue
        boxes = parts[1]
        if (boxes[:, 3] >= FULL_HEIGHT * height).all() and (boxes[:, 2] + 2 <= height).all():
            return np.stack([np.maximum(boxes[:, 0] - 1, 0), boxes[:, 0] + boxes[:, 2] + 1], axis=1)
    return None


def _shape_measures(samples: list[_Sample]) -> None:
    """Each word's median distance from its digits to the page's usual glyph of each digit (the pixelwise median
    of all its occurrences): a retyped word draws another font's digits. The median, so that one digit the OCR
    misread (and compared with another digit's glyph) does not make a word odd."""
    usual = {}
    by_digit: dict[str, list[np.ndarray]] = {}
    for s in samples:
        for digit, shape in s.glyphs:
            by_digit.setdefault(digit, []).append(shape)
    for digit, shapes in by_digit.items():
        if len(shapes) >= MIN_PEERS:
            usual[digit] = np.median(np.stack(shapes), axis=0)
    for s in samples:
        distances = [shape_distance(shape, usual[d]) for d, shape in s.glyphs if d in usual]
        s.measures["shape"] = float(np.median(distances)) if distances else np.nan


# --- comparing with peers -------------------------------------------------------------------------

def _peers(sample: _Sample, samples: list[_Sample]) -> list[_Sample]:
    """Up to PEERS numbers of about the same size: of the same kind (amounts with amounts, dates with dates) and
    in the same column first (the cells an issuer's engine sets alike), then of the same kind elsewhere on the
    page (a sparse column: credits), then the nearest numbers of any kind (a proof's few figures). Text a third
    taller or smaller is another level of the layout (a title, a phone's clock in a screenshot), not a peer; but
    for numbers of its kind in its column, text an eighth taller or smaller already is (a header's print time
    over the table's times and figures)."""
    x0, _, x1, _ = sample.box
    height = sample.measures["height"]

    def column(s: _Sample) -> bool:
        return min(x1, s.box[2]) - max(x0, s.box[0]) > 0.3 * min(x1 - x0, s.box[2] - s.box[0])

    def rank(s: _Sample) -> tuple:
        distance = abs(s.box[1] - sample.box[1]) + (0 if column(s) else abs(s.box[0] - x0))
        return s.kind != sample.kind, not column(s), distance

    def alike(s: _Sample) -> bool:
        apart = abs(s.measures["height"] - height)
        if s.kind == sample.kind and column(s):
            return apart < SIZE_MAX * height
        return apart <= max(1.0, SIZE_APART * height)

    return sorted((s for s in samples if s is not sample and alike(s)), key=rank)[:PEERS]


def _value(measures: dict[str, float], name: str) -> float:
    v = measures[name]
    if name in ("noise", "halo"):
        return float(np.log(v + NOISE_OFFSET))
    return float(np.log(v)) if name in _LOG else v


def _zscores(sample: _Sample, peers: list[_Sample]) -> dict[str, float]:
    z = {}
    for name, floor in _FLOORS.items():
        own = _value(sample.measures, name)
        values = np.array([_value(p.measures, name) for p in peers])
        values = values[np.isfinite(values)]
        if not np.isfinite(own) or values.size < MIN_PEERS:
            continue
        centre = np.median(values)
        spread = max(1.4826 * float(np.median(np.abs(values - centre))), floor)
        z[name] = (own - centre) / spread
    return z


def _finding(page: Page, sample: _Sample, peers: list[_Sample], z: dict, odd: dict, units: float) -> Finding:
    severity = "high" if len({_KINDS[name] for name in odd}) > AGREE else "medium"
    score = sorted((abs(v) for v in odd.values()), reverse=True)[AGREE - 1]
    x0, top, x1, bottom = (v * units for v in sample.box)
    return finding("IMG_TEXT_INCONSISTENT", page=page.number, bbox=(x0, top, x1, bottom), units=page.units,
                   severity=severity, text=sample.word.text, measures=", ".join(sorted(odd)),
                   score=round(score, 1), z={k: round(v, 1) for k, v in z.items()},
                   peers=[p.word.text for p in peers])
