"""Text layer vs rendering: digits whose Unicode reading disagrees with the glyph the page draws.

A PDF's text comes from the font's ToUnicode map; what the page shows comes from the glyph program the codes select.
A forger can make the two disagree (edit the map so a drawn 5 reads as 9, or point codes at other glyphs), and a
person looking at the page and a program reading its text (ours included) then see different amounts.

Entry point: `check(doc) -> list[Finding]`.

Every digit of the text layer is cut out of the cached page raster at its position and reduced to a shape: its own
ink, scaled to a fixed height and blurred a little. Per font, the shapes of one character fall into clusters, one
per glyph drawn for it (normally exactly one). Each cluster is then read without OCR by two witnesses:
- the font itself: a cluster that is another digit's usual glyph in the same font draws that digit;
- reference digits that PDFium draws from its built-in Helvetica, Times and Courier (bold and regular), heard for a
  font only when they read most of its digits as its text layer does. They catch what the font cannot show: a
  digit remapped in every occurrence, or two digits swapped.
A cluster that looks clearly more like another digit than like its own is a mismatch, and every word it occurs in
gets a finding. OCR was measured for the second witness (Tesseract, one strip of a font's glyphs per call): 0.2-0.3 s
a call, more than this check may spend on a whole document, for no better reading of clean glyphs.

Not examined: scanned pages, words under or over a placed image (a scan under its OCR text, a seal across a date),
words with a character where the page draws nothing (invisible text, text under a white box: the overlay check's
business), glyphs under 12 raster pixels per em, and characters other than the ASCII digits.
"""
from __future__ import annotations

import functools
import io
from collections import defaultdict
from dataclasses import dataclass, field

import cv2
import numpy as np
import pikepdf
import pypdfium2 as pdfium

from checks import render
from checks.catalog import finding
from checks.model import Document, Finding, Page, Word

NAME = "pdf_glyphs"
DIGITS = "0123456789"
_DIGIT = frozenset(DIGITS)

SHAPE = 24  # px: height of a normalised glyph, about what 9-pt digits measure at 200 dpi
SHIFT = 3  # px: how far two shapes may move against each other to line up
BLUR = 1.2  # px: makes shapes forgiving of stroke weight and rasterisation, which differ more between fonts
MIN_EM_PX = 12  # glyphs drawn with fewer raster pixels per em are too coarse to tell digits apart
VISIBLE = 0.25  # a cell whose darkest pixel is this dark (0 paper .. 1 black) shows something
INK = 0.3  # share of the cell's darkest ink that makes a pixel part of the glyph

# Shape distances (see `shape_distance`) measured on the evaluation set's statements, proofs and records: one glyph
# drawn twice stays under 0.03 (0.05 across sizes); different digits of one font are 0.12 apart and more; a digit
# and the same digit of the nearest reference font 0.05 (median) to 0.2.
SAME = 0.06  # two occurrences this close draw one glyph
GOOD, CLEAR = 0.04, 0.05  # another digit's glyph of the same font this close is a match, and must beat the own one
REFERENCE_GOOD, REFERENCE_CLEAR = 0.18, 0.04  # the same for reference digits, which come from other fonts
OTHER = 0.1  # two usual glyphs of one font closer than this are too alike to be told apart by references
TRUST_MIN, TRUST_SHARE = 3, 0.7  # references must read this many (and this share) of a font's digits right
MAX_FINDINGS = 20  # per document; each finding counts every affected word


def applies(doc: Document) -> bool:
    return doc.format == "pdf" and any(not p.scanned for p in doc.pages)


def check(doc: Document) -> list[Finding]:
    fonts: dict[str, list[_Glyph]] = defaultdict(list)
    for page in doc.pages:
        if not page.scanned:
            for glyph in _glyphs(doc, page):
                fonts[glyph.char.font].append(glyph)
    wrong: dict[int, _Wrong] = {}
    for glyphs in fonts.values():
        for cluster, shown, scores in _mismatches(_clusters(glyphs)):
            for glyph in cluster.glyphs:
                word = wrong.setdefault(id(glyph.word), _Wrong(glyph.page, glyph.word))
                word.shown[glyph.index] = shown
                word.scores[cluster.char] = {"char": cluster.char, "shown": shown, **scores}
    words = sorted(wrong.values(), key=lambda w: (w.page, w.word.top, w.word.x0))
    return [_finding(w, len(words)) for w in words[:MAX_FINDINGS]]


# --- glyph shapes ---------------------------------------------------------------------------------

@dataclass
class _Glyph:
    page: int
    word: Word
    index: int  # of the character within the word
    char: Word
    shape: np.ndarray


def _glyphs(doc: Document, page: Page) -> list[_Glyph]:
    words = [w for w in page.words if any(c.text in _DIGIT for c in w.chars) and not _under_image(w, page.images)]
    if not words:
        return []
    gray = render.raster(doc, page.number)
    px = 1 / render.scale(doc)
    out = []
    for word in words:
        # Text placed where the page draws nothing (invisible text laid over a drawing of other text, text under a
        # white box) says nothing about its glyphs.
        if all(_inked(gray, c, px) for c in word.chars):
            rules = _rules(gray, word, px)
            for i, char in enumerate(word.chars):
                shape = _shape(gray, char, px, rules) if char.text in _DIGIT else None
                if shape is not None:
                    out.append(_Glyph(page.number, word, i, char, shape))
    return out


def _under_image(word: Word, images: list[dict]) -> bool:
    """Under or over a placed image the raster shows more than the glyphs: a scan under its invisible OCR text,
    a seal stamped across a date."""
    return any(word.x0 < x1 and x0 < word.x1 and word.top < bottom and top < word.bottom
               for x0, top, x1, bottom in (image["bbox"] for image in images))


def _inked(gray: np.ndarray, char: Word, px: float) -> bool:
    """Whether the middle of the character's cell has ink, as every drawn character has (a dot or hyphen too)."""
    em = char.size * px
    x0, x1 = int((0.8 * char.x0 + 0.2 * char.x1) * px), int((0.2 * char.x0 + 0.8 * char.x1) * px) + 1
    y0, y1 = int(char.baseline * px - 0.8 * em), int(char.baseline * px + 0.1 * em) + 1
    cell = gray[max(0, y0):y1, max(0, x0):x1]
    return cell.size == 0 or 255 - int(cell.min()) >= VISIBLE * 255


def _rules(gray: np.ndarray, word: Word, px: float) -> np.ndarray:
    """Raster rows (a mask over the page's height) that a line runs through across the whole word, as an underline
    or a strike-through does and a digit's bar does not across two or more characters; with the row either side,
    where the line's anti-aliased edge falls."""
    rules = np.zeros(gray.shape[0], bool)
    if len(word.chars) > 1:
        em = word.size * px
        y0 = max(0, int(word.baseline * px - 0.95 * em))
        # The word's first and last pixel columns are only partly covered by a line as long as the word.
        band = gray[y0:int(word.baseline * px + 0.3 * em), max(0, int(word.x0 * px) + 1):int(word.x1 * px) - 1]
        if band.size:
            rows = y0 + np.flatnonzero(255 - band.max(axis=1) >= VISIBLE * 255)
            for shift in (-1, 0, 1):
                rules[np.clip(rows + shift, 0, rules.size - 1)] = True
    return rules


def _shape(gray: np.ndarray, char: Word, px: float, rules: np.ndarray | None = None) -> np.ndarray | None:
    """The glyph drawn in the character's cell, scaled to SHAPE pixels high, centred and blurred; None when the
    cell shows nothing that can be a digit.

    The cell is the character's advance (a digit's ink never leaves it) and reaches from just under the previous
    line's descenders to just over the next line's capitals, measured from the baseline: the box's own top and
    bottom follow the font descriptor, which some producers get wrong. Nothing is read when ink crosses the
    cell's top or bottom (a table rule, a dark background, lines set too close), or when the ink is wider than
    tall or under half an em high (no digit is)."""
    em = char.size * px
    if em < MIN_EM_PX:
        return None
    x0, x1 = int(round(char.x0 * px)), int(round(char.x1 * px))
    y0, y1 = int(round(char.baseline * px - 0.95 * em)), int(round(char.baseline * px + 0.3 * em))
    if x0 < 0 or y0 < 0 or x1 > gray.shape[1] or y1 > gray.shape[0] or x1 - x0 < 2:
        return None
    ink = 1 - gray[y0:y1, x0:x1].astype(np.float32) / 255
    if rules is not None:
        ink[rules[y0:y1]] = 0
    rows, cols = np.nonzero(ink > INK * ink.max())
    if rows.size == 0 or rows[0] == 0 or rows[-1] == ink.shape[0] - 1:
        return None
    top, bottom, left, right = rows[0], rows[-1] + 1, cols.min(), cols.max() + 1
    if right - left > bottom - top or bottom - top < 0.45 * em:
        return None
    return normalised_shape(ink[top:bottom, left:right])


def normalised_shape(glyph: np.ndarray) -> np.ndarray:
    height, width = glyph.shape
    width = max(1, round(width * SHAPE / height))
    out = np.zeros((SHAPE + 2 * SHIFT, SHAPE + 2 * SHIFT), np.float32)
    start = (out.shape[1] - width) // 2
    out[SHIFT:SHIFT + SHAPE, start:start + width] = cv2.resize(glyph, (width, SHAPE), interpolation=cv2.INTER_AREA)
    return cv2.GaussianBlur(out, (0, 0), BLUR)


def shape_distance(a: np.ndarray, b: np.ndarray) -> float:
    """0 for one shape, more the less alike: one minus the best correlation of `b`'s glyph over `a` within SHIFT
    pixels either way."""
    scores = cv2.matchTemplate(a, b[SHIFT:-SHIFT, SHIFT:-SHIFT], cv2.TM_CCOEFF_NORMED)
    return 1 - float(scores.max())


def _to_references(shape: np.ndarray) -> dict[str, float]:
    """Digit → `shape_distance` from `shape` to its nearest reference glyph, all in one matrix product: every shifted
    window of `shape` against every reference."""
    windows = np.lib.stride_tricks.sliding_window_view(shape, (SHAPE, SHAPE)).reshape(-1, SHAPE * SHAPE)
    scores = (_unit(windows) @ _references().T).max(axis=0).reshape(len(DIGITS), -1)
    return dict(zip(DIGITS, (1 - scores.max(axis=1)).tolist()))


def _unit(vectors: np.ndarray) -> np.ndarray:
    """Rows made zero-mean and unit-length, so that their dot products are correlations."""
    vectors = vectors - vectors.mean(axis=1, keepdims=True)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


# --- reading the glyphs ---------------------------------------------------------------------------

@dataclass
class _Cluster:
    """Occurrences of one character of a font that draw one shape (the first occurrence's)."""

    char: str
    shape: np.ndarray
    glyphs: list[_Glyph] = field(default_factory=list)


def _clusters(glyphs: list[_Glyph]) -> list[_Cluster]:
    """Each character's occurrences, grouped around the first one not yet placed. Shapes are centred on their own
    ink, so occurrences of one glyph line up without the shifting `shape_distance` tries: one matrix product compares
    the rest of them with the new cluster's first occurrence."""
    by_char: dict[str, list[_Glyph]] = defaultdict(list)
    for glyph in glyphs:
        by_char[glyph.char.text].append(glyph)
    out = []
    for char, members in by_char.items():
        vectors = _unit(np.stack([g.shape.ravel() for g in members]))
        rest = np.arange(len(members))
        while rest.size:
            same = 1 - vectors[rest] @ vectors[rest[0]] < SAME
            out.append(_Cluster(char, members[rest[0]].shape, [members[i] for i in rest[same]]))
            rest = rest[~same]
    return out


def _mismatches(clusters: list[_Cluster]) -> list[tuple[_Cluster, str, dict]]:
    """Clusters that look clearly more like another digit than like the one the text layer says, with that digit
    and the scores behind it."""
    font = _Font(clusters)
    out = []
    for cluster in clusters:
        reading = _by_font(cluster, font)
        if reading is None and font.trusted:
            reading = _by_reference(cluster, font)
        if reading is not None:
            out.append((cluster, *reading))
    return out


class _Font:
    """What one font's digits look like: each digit's usual (most frequent) glyph, the references' reading of
    every cluster, and whether the references read this font's usual glyphs as its text layer does."""

    def __init__(self, clusters: list[_Cluster]):
        self.usual: dict[str, _Cluster] = {}
        for c in clusters:
            if c.char not in self.usual or len(c.glyphs) > len(self.usual[c.char].glyphs):
                self.usual[c.char] = c
        self.to_reference = {id(c): _to_references(c.shape) for c in clusters}
        self.confirmed = {d for d, c in self.usual.items() if _nearest(self.to_reference[id(c)]) == d}
        self.trusted = len(self.confirmed) >= max(TRUST_MIN, TRUST_SHARE * len(self.usual))

    def to_usual(self, cluster: _Cluster, digit: str) -> float:
        return shape_distance(cluster.shape, self.usual[digit].shape)


def _by_font(cluster: _Cluster, font: _Font) -> tuple[str, dict] | None:
    """The other digit whose usual glyph in this font `cluster` draws, if it draws one."""
    twins = [(font.to_usual(cluster, d), d) for d in font.usual if d != cluster.char]
    if not twins:
        return None
    shown, twin = min(twins)
    if shown >= GOOD:
        return None
    own = font.usual[cluster.char]
    if own is not cluster:  # a rarer glyph of its digit that is another digit's usual one
        distance = font.to_usual(cluster, cluster.char)
        if distance - shown <= CLEAR:
            return None
        return twin, _scores(distance, shown, "same font")
    # Two digits whose usual glyphs are one shape: one of the readings is wrong. The references say which when
    # they are heard; without them the rarer reading is the suspect.
    if font.trusted or len(cluster.glyphs) > len(font.usual[twin].glyphs):
        return None
    return twin, _scores(None, shown, "same font")


def _by_reference(cluster: _Cluster, font: _Font) -> tuple[str, dict] | None:
    """The digit the references read in `cluster`, if they read another one clearly and the font does not
    contradict them."""
    distances = font.to_reference[id(cluster)]
    own, shown = cluster.char, _nearest(distances)
    if distances[shown] >= REFERENCE_GOOD or distances[own] - distances[shown] <= REFERENCE_CLEAR:
        return None
    if shown in font.usual:
        # A font whose usual glyphs for the two digits are alike but not one (bold digits whose counters fill in at
        # this size) cannot be read between them.
        if GOOD <= shape_distance(font.usual[own].shape, font.usual[shown].shape) < OTHER:
            return None
        # A font draws each digit one way. When the references agree with the font's own `shown`, this glyph must
        # be that one: the very shape, or near it (another size) and clearly not its own digit's usual glyph.
        # Otherwise it is an unusual design of its digit that they misread (a slashed zero taken for an 8).
        to_shown = font.to_usual(cluster, shown)
        if shown in font.confirmed and to_shown >= GOOD and (
                to_shown > OTHER or font.to_usual(cluster, own) - to_shown <= CLEAR):
            return None
    return shown, _scores(distances[own], distances[shown], "reference digits")


def _nearest(distances: dict[str, float]) -> str:
    return min(distances, key=distances.get)


def _scores(text: float | None, shown: float, basis: str) -> dict:
    return {"distance_text": None if text is None else round(text, 3), "distance_shown": round(shown, 3),
            "basis": basis}


REFERENCE_FONTS = ("Helvetica", "Helvetica-Bold", "Times-Roman", "Times-Bold", "Courier", "Courier-Bold")
_REFERENCE_EM = 24  # px per em: about the size of the digits they are compared with


@functools.cache
def _references() -> np.ndarray:
    """The glyphs of the standard fonts, which PDFium draws from font programs built into it: one row per digit
    and font (digit-major), each the middle SHAPE x SHAPE of its shape, as `_unit` makes it."""
    em, cell = _REFERENCE_EM, int(1.5 * _REFERENCE_EM)
    rows = len(REFERENCE_FONTS)
    pdf = pikepdf.new()
    fonts = {f"/F{i}": pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                           BaseFont=pikepdf.Name("/" + name)) for i, name in enumerate(REFERENCE_FONTS)}
    text = [f"BT /F{row} {em} Tf {col * cell + em / 4} {(rows - row) * cell - em} Td ({d}) Tj ET"
            for row in range(rows) for col, d in enumerate(DIGITS)]
    pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(
        Type=pikepdf.Name.Page, MediaBox=[0, 0, len(DIGITS) * cell, rows * cell],
        Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(fonts)),
        Contents=pikepdf.Stream(pdf, "\n".join(text).encode()))))
    buf = io.BytesIO()
    pdf.save(buf)
    rendered = pdfium.PdfDocument(buf.getvalue())
    try:
        page = rendered[0]
        gray = page.render(scale=1, grayscale=True).to_numpy()
        page.close()
    finally:
        rendered.close()
    # Each digit as a text-layer character would describe it: its advance (0.5 to 0.6 em in these fonts) and
    # baseline.
    shapes = [_shape(gray, Word(d, col * cell + em / 4, 0, col * cell + em * 0.85, 0, size=em,
                                baseline=row * cell + em), 1)
              for col, d in enumerate(DIGITS) for row in range(rows)]
    return _unit(np.stack([s[SHIFT:-SHIFT, SHIFT:-SHIFT].ravel() for s in shapes]))


# --- findings -------------------------------------------------------------------------------------

@dataclass
class _Wrong:
    """A word with mismatched glyphs."""

    page: int
    word: Word
    shown: dict[int, str] = field(default_factory=dict)  # character index → the digit drawn there
    scores: dict[str, dict] = field(default_factory=dict)  # text-layer digit → its reading and scores


def _finding(w: _Wrong, affected: int) -> Finding:
    text = "".join(c.text for c in w.word.chars)
    shown = "".join(w.shown.get(i, c.text) for i, c in enumerate(w.word.chars))
    return finding("PDF_GLYPH_MISMATCH", page=w.page, bbox=w.word.bbox, units="pt", text=text, shown=shown,
                   font=w.word.chars[min(w.shown)].font, glyphs=list(w.scores.values()), affected_words=affected)
