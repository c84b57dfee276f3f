"""PDF overlays and masked text: what a page paints over its own text, paints twice, or keeps out of sight;
and the traces editors leave in the content streams they write.

Entry point: `check(doc) -> list[Finding]`.

Paint order is the evidence. An issuer's report engine paints backgrounds first and each piece of text once;
an editor's "white box and retype" appends an opaque box after the text it hides, and new text after the box.
PDFium lists a page's objects in content-stream order (form XObjects flattened in place), so an object's
position in that list is when it was painted. Objects are screened by their bounds; glyph boxes are read from
PDFium's text page only for the objects that meet, which keeps genuine pages cheap.
"""
from __future__ import annotations

import bisect
import ctypes
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from checks import render
from checks.catalog import finding
from checks.model import Document, Finding
from checks.pdf_metadata import document_info, stream_library_in

NAME = "pdf_overlay"

# A glyph is hidden when this share of its ink box lies under an opaque cover painted after it; a word is
# covered when most of its glyphs are. A form control's background clipping the end of a label is not.
COVERED_SHARE = 0.8
# Table rules and borders are drawn as thin filled rectangles; nothing that thin can hide a letter or digit.
MIN_COVER_SIDE = 1.5
# A later text run is drawn over earlier text when this share of its glyphs lies on earlier glyphs...
OVERPRINT_SHARE = 0.6
# ...each glyph's box lying at least this much on them. Neighbouring lines and cells touch only at edges.
GLYPH_ON_GLYPH = 0.5
# An image this large is the page itself (a scan): text under it is a searchable layer, not a covered edit.
PAGE_IMAGE_SHARE = 0.8
# Invisible text over an image at least this share of the page is an OCR layer; a pasted patch is far smaller.
OCR_IMAGE_SHARE = 0.05
# Text within this distance (0-255 per RGB channel) of the colour behind it cannot be seen.
SAME_COLOUR = 12
# Text smaller than this (pt) cannot be read on screen or paper.
TINY_SIZE = 1.0
# Rendered image pixels at or above this alpha hide what lies under them.
OPAQUE_ALPHA = 250
# A pasted patch's pixels stay this close (0-255 per channel) to the background they repaint, JPEG noise included.
PATCH_COLOUR = 40
# Larger images (pixels) are photos or scans, not patches, and decoding them would cost more than the whole check.
MAX_PATCH_PIXELS = 2_000_000
# A filled path of more rectangles than this is a chart or a hatch, not a box or a row of cells.
MAX_PATH_RECTS = 256
# Findings quote at most this many characters.
QUOTE = 80
# An issuer's engine writes every figure of one font and size with one form of text operator (all `Tj`, or
# all `TJ` arrays of one shape). A form is the page's usual one once this many figures share it and they are
# this share of the figures in that font and size; the few written otherwise were written by something else.
FORM_PEERS = 8
FORM_MAJORITY = 2 / 3
# How a writer separates tokens is read from the start of each page's content (a writer is consistent, and
# an editor that rewrites a page rewrites all of it); a pair of token kinds counts once seen this often,
# separated this consistently, on both pages compared.
STYLE_SAMPLE = 32_768
STYLE_MIN = 5
STYLE_SHARE = 0.9

_TEXT, _PATH, _IMAGE, _FORM = (pdfium_c.FPDF_PAGEOBJ_TEXT, pdfium_c.FPDF_PAGEOBJ_PATH, pdfium_c.FPDF_PAGEOBJ_IMAGE,
                               pdfium_c.FPDF_PAGEOBJ_FORM)
_NO_PAINT_MODES = (pdfium_c.FPDF_TEXTRENDERMODE_INVISIBLE, pdfium_c.FPDF_TEXTRENDERMODE_CLIP)
_STROKE_ONLY_MODES = (pdfium_c.FPDF_TEXTRENDERMODE_STROKE, pdfium_c.FPDF_TEXTRENDERMODE_STROKE_CLIP)
_IDENTITY = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
_PAPER = (255, 255, 255)
_OFF_PAGE = "outside the visible page area"
_SHOW_OPS = ("Tj", "TJ", "'", '"')
_KERNED = "a TJ array with offsets between its strings"
_FORM_OPS = "q Q Tf Tj TJ ' \""
_TOUCHUP = pikepdf.Name("/TouchUp_TextEdit")
# Content-stream tokens by kind: brackets, dictionaries, hex and literal strings, names, numbers, operators.
_TOKEN = re.compile(rb"(?P<open>\[)|(?P<close>\])|(?P<dict><<|>>)|(?P<hex><[0-9A-Fa-f\s]*>)"
                    rb"|(?P<string>\((?:\\.|[^\\()])*\))|(?P<name>/[^\s/\[\]()<>{}%]*)"
                    rb"|(?P<number>[+-]?(?:\d+\.?\d*|\.\d+))|(?P<operator>[A-Za-z'\"*][A-Za-z0-9'\"*]*)")
_TOKEN_KINDS = {"open": "'['", "close": "']'", "dict": "a dictionary bracket", "hex": "a hex string",
                "string": "a string", "name": "a name", "number": "a number", "operator": "an operator"}
_INLINE_IMAGE = re.compile(rb"\bID\s.*?\sEI\b", re.S)
_SEPARATORS = {b"": "nothing", b" ": "a space", b"\n": "a line feed", b"\r\n": "CR LF", b"\r": "a carriage return"}


def applies(doc: Document) -> bool:
    return doc.format == "pdf"


def check(doc: Document) -> list[Finding]:
    pdf = render.document(doc)
    out: list[Finding] = _stream_style_findings(doc.pdf)
    for index in range(len(pdf)):
        page = pdf[index]
        try:
            out.extend(_PageScan(pdf, page, doc.pdf.pages[index], index + 1).findings())
        finally:
            page.close()
    return out


# --- geometry -------------------------------------------------------------------------------------
# Boxes are (x0, y0, x1, y1) in PDF user space (y up) until a finding converts them to the result's
# top-left convention. Matrices are PDF's (a, b, c, d, e, f), applied to row vectors.

def _compose(inner: tuple, outer: tuple) -> tuple:
    a, b, c, d, e, f = inner
    A, B, C, D, E, F = outer
    return (a * A + b * C, a * B + b * D, c * A + d * C, c * B + d * D, e * A + f * C + E, e * B + f * D + F)


def _apply(m: tuple, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _transform_box(m: tuple, box: tuple) -> tuple:
    xs, ys = zip(*(_apply(m, x, y) for x, y in ((box[0], box[1]), (box[0], box[3]),
                                                 (box[2], box[1]), (box[2], box[3]))))
    return (min(xs), min(ys), max(xs), max(ys))


def _upright(m: tuple) -> bool:
    """The matrix keeps axis-parallel boxes axis-parallel."""
    return abs(m[1]) < 1e-6 and abs(m[2]) < 1e-6 or abs(m[0]) < 1e-6 and abs(m[3]) < 1e-6


def _level(m: tuple) -> bool:
    """Text set left to right on a horizontal baseline; a slight slant is allowed, as checks.ingest allows."""
    return m[0] > 0 and m[3] > 0 and abs(m[1]) <= 0.05 * m[0] and abs(m[2]) <= 0.05 * m[3]


def _area(box: tuple) -> float:
    return max(0.0, box[2] - box[0]) * max(0.0, box[3] - box[1])


def _overlap(a: tuple, b: tuple) -> float:
    return _area((max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3])))


def _union(boxes) -> tuple:
    boxes = list(boxes)
    return (min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes))


def _contains(box: tuple, x: float, y: float) -> bool:
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def _centre(box: tuple) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _sorted_box(values) -> tuple:
    x0, y0, x1, y1 = (float(v) for v in values)
    return (min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1))


def _top_left(mediabox: tuple, rotation: int):
    """User space → the result's [x0, top, x1, bottom], placed exactly as pdfplumber (and so checks.ingest)
    places words: pdfminer's page matrix for the rotation, then pdfplumber's flip against the MediaBox."""
    x0, y0, x1, y1 = mediabox
    ctm = {90: (0, -1, 1, 0, -y0, x1), 180: (-1, 0, 0, -1, x1, y1),
           270: (0, 1, -1, 0, y1, -x0)}.get(rotation, (1, 0, 0, 1, -x0, -y0))
    left, low, _, high = (y0, x0, y1, x1) if rotation in (90, 270) else mediabox
    height = high - low

    def convert(box: tuple) -> list[float]:
        bx0, by0, bx1, by1 = _transform_box(ctm, box)
        return [round(bx0 + left, 2), round(2 * height - high - by1, 2),
                round(bx1 + left, 2), round(2 * height - high - by0, 2)]

    return convert


# --- what the page paints -------------------------------------------------------------------------

@dataclass
class _Obj:
    """A painted object: when it was painted, what it is, where it lies, and the properties the checks use."""

    index: int  # position in paint order among the page's objects, form XObjects flattened in place
    kind: int
    handle: object
    box: tuple
    container: tuple  # matrix from the object's container (page or nesting forms) to user space
    rgba: tuple | None = None  # text: its paint colour; paths: the fill colour, alpha 0 if not plain paint
    mode: int = 0  # text render mode
    size: float = 0.0  # text: font size on the page, pt
    level: bool = False  # text: set on a horizontal baseline
    nested: bool = False  # painted by a form XObject rather than the page's own content
    rects: list[tuple] | None = None  # filled paths, once asked: the area painted, see _painted_rects


@dataclass
class _Char:
    position: int  # index in PDFium's text page, which follows the content stream
    text: str
    ink: tuple  # glyph outline box
    cell: tuple  # the glyph's full-height box: font ascent to descent, advance width
    obj: _Obj


@dataclass
class _Cover:
    obj: _Obj
    rects: list[tuple]
    what: str  # "filled rectangle" or "image"
    fill: str | None  # "#RRGGBB" for rectangles
    pixels: np.ndarray | None = None  # images: rendered BGRA, top row first


def _joined(chars) -> str:
    """Glyphs in stream order; a gap in the text page's numbering is a space or a run boundary."""
    out, last = [], None
    for ch in sorted(chars, key=lambda c: c.position):
        if last is not None and ch.position != last + 1:
            out.append(" ")
        out.append(ch.text)
        last = ch.position
    return " ".join("".join(out).split())


def _words(chars: list[_Char]) -> list[list[_Char]]:
    """A run's glyphs split at spaces and around wide (CJK) characters, each of which reads as a word."""
    words: list[list[_Char]] = []
    for ch in sorted(chars, key=lambda c: c.position):
        wide = _wide(ch.text)
        if not words or wide or _wide(words[-1][-1].text) or ch.position != words[-1][-1].position + 1:
            words.append([])
        words[-1].append(ch)
    return words


def _wide(text: str) -> bool:
    """CJK radicals onwards: ideographs, kana, hangul and full-width forms, each a word of its own."""
    return ord(text[0]) >= 0x2E80


def _quote(text: str) -> str:
    return text if len(text) <= QUOTE else text[:QUOTE - 1] + "…"


def _hex(rgba: tuple) -> str:
    return "#{:02X}{:02X}{:02X}".format(*rgba[:3])


class _PageScan:
    """One page: its painted objects in order, what each text object is to a reader (ink, hidden, an OCR
    layer or a watermark), and the findings."""

    def __init__(self, pdf: pdfium.PdfDocument, page: pdfium.PdfPage, pike_page, number: int):
        self.pdf, self.page, self.pike_page, self.number = pdf, page, pike_page, number
        self.crop = _sorted_box(pike_page.cropbox)
        self.to_top_left = _top_left(_sorted_box(pike_page.mediabox), page.get_rotation())
        self.probe = _Probe()
        self.objects: list[_Obj] = []
        self._painted = 0
        self._walk(page.raw, False, _IDENTITY)
        self._order = [o.index for o in self.objects]
        self._glyphs: dict[int, list[_Char]] = {}
        self._positions: dict[int, list[int]] | None = None
        self._textpage = None
        self._masked: dict[int, int] = {}  # glyph position → the first cover painted over it

        self.texts = [o for o in self.objects if o.kind == _TEXT and _area(o.box) > 0]
        page_area = _area(self.crop) or 1.0
        images = [o for o in self.objects if o.kind == _IMAGE]
        self.page_images = {o.index for o in images if _area(o.box) >= PAGE_IMAGE_SHARE * page_area}
        ocr_images = [o for o in images if _area(o.box) >= OCR_IMAGE_SHARE * page_area]
        # Invisible text lying on a large image is the searchable layer of a scan.
        self.ocr = {t.index for t in self.texts if t.mode in _NO_PAINT_MODES
                    and any(_contains(i.box, *_centre(t.box)) for i in ocr_images)}
        # Colours text could vanish into: the paper, and fills large enough to lie behind a glyph. Only text
        # in one of these colours needs the slower look at what is actually behind it.
        self._grounds = {_PAPER} | {o.rgba[:3] for o in self.objects
                                    if o.kind == _PATH and o.rgba[3] == 255 and _big_enough(o)}
        self.hidden = {t.index: why for t in self.texts if t.index not in self.ocr and (why := self._why_hidden(t))}
        # Ink: the text a reader sees as the page's content. Watermarks (rotated, tinted or translucent) stay
        # out: genuine pages paint tables over them and text across them.
        self.ink = {t.index for t in self.texts
                    if t.index not in self.ocr and t.index not in self.hidden and not _watermark_like(t)}

    def findings(self) -> list[Finding]:
        try:
            covered, explained = self._cover_findings()
            overprinted, drawn_over = self._overprint_findings(explained)
            return (covered + overprinted + self._hidden_findings(drawn_over) + self._touchup_findings()
                    + self._redaction_findings() + self._operator_findings())
        finally:
            if self._textpage is not None:
                pdfium_c.FPDFText_ClosePage(self._textpage)

    def _finding(self, code: str, box: tuple, severity: str | None = None, **evidence) -> Finding:
        return finding(code, page=self.number, bbox=self.to_top_left(box), units="pt", severity=severity, **evidence)

    # --- reading objects ----------------------------------------------------------------------

    def _walk(self, container, in_form: bool, matrix: tuple) -> None:
        probe = self.probe
        count = pdfium_c.FPDFFormObj_CountObjects if in_form else pdfium_c.FPDFPage_CountObjects
        get = pdfium_c.FPDFFormObj_GetObject if in_form else pdfium_c.FPDFPage_GetObject
        for i in range(count(container)):
            handle = get(container, i)
            kind = pdfium_c.FPDFPageObj_GetType(handle)
            if kind == _FORM:
                # The form's children report bounds in the form's space; its matrix places them on the page.
                self._walk(handle, True, _compose(probe.matrix(handle), matrix))
                continue
            index, self._painted = self._painted, self._painted + 1
            rgba = probe.fill(handle) if kind == _PATH else None
            if kind == _PATH and rgba is None:
                continue  # lines and outlines neither hide text nor lie behind it
            box = probe.bounds(handle)
            obj = _Obj(index, kind, handle, box if matrix == _IDENTITY else _transform_box(matrix, box), matrix, rgba,
                       nested=in_form)
            if kind == _TEXT:
                obj.mode = pdfium_c.FPDFTextObj_GetTextRenderMode(handle)
                obj.rgba = probe.colour(handle, stroke=obj.mode in _STROKE_ONLY_MODES)
                m = _compose(probe.matrix(handle), matrix)
                obj.size = probe.font_size(handle) * abs(m[0] * m[3] - m[1] * m[2]) ** 0.5
                obj.level = _level(m)
            self.objects.append(obj)

    def _painted_rects(self, obj: _Obj) -> list[tuple]:
        if obj.rects is None:
            obj.rects = _path_rects(obj, self.probe)
        return obj.rects

    # --- glyphs -------------------------------------------------------------------------------

    def glyphs(self, obj: _Obj) -> list[_Char]:
        """A text object's glyphs (whitespace left out), read from PDFium's text page on first request."""
        if self._positions is None:
            self._index_text_page()
        if obj.index not in self._glyphs:
            chars = (self._char(i, obj) for i in self._positions.get(obj.index, ()))
            self._glyphs[obj.index] = [c for c in chars if c is not None]
        return self._glyphs[obj.index]

    def _text(self, obj: _Obj) -> str:
        return _joined(self.glyphs(obj))

    def _index_text_page(self) -> None:
        """Which text-page characters each text object painted: the one pass that touches every character."""
        self._textpage = pdfium_c.FPDFText_LoadPage(self.page.raw)
        by_handle = {ctypes.cast(o.handle, ctypes.c_void_p).value: o.index for o in self.texts}
        self._positions = {}
        for i in range(pdfium_c.FPDFText_CountChars(self._textpage)):
            handle = pdfium_c.FPDFText_GetTextObject(self._textpage, i)
            index = by_handle.get(ctypes.cast(handle, ctypes.c_void_p).value) if handle else None
            if index is not None:  # None: a space or line break PDFium inserted between runs
                self._positions.setdefault(index, []).append(i)

    def _char(self, i: int, obj: _Obj) -> _Char | None:
        tp = self._textpage
        code = pdfium_c.FPDFText_GetUnicode(tp, i)
        text = chr(code) if 0 < code < 0x110000 and code != 0xFFFE else "\ufffd"
        if text.isspace():
            return None
        left, right, bottom, top = (ctypes.c_double() for _ in range(4))
        pdfium_c.FPDFText_GetCharBox(tp, i, left, right, bottom, top)
        loose = pdfium_c.FS_RECTF()
        pdfium_c.FPDFText_GetLooseCharBox(tp, i, loose)
        return _Char(i, text, (left.value, bottom.value, right.value, top.value),
                     _sorted_box((loose.left, loose.bottom, loose.right, loose.top)), obj)

    # --- white box and retype -----------------------------------------------------------------

    def _covers(self) -> list[_Cover]:
        """Opaque boxes and images painted after some ink whose bounds they meet."""
        ink = [t for t in self.texts if t.index in self.ink]
        if not ink:
            return []
        boxes = np.array([t.box for t in ink])
        order = np.array([t.index for t in ink])
        out = []
        for obj in self.objects:
            if obj.kind == _PATH and not (_big_enough(obj) and obj.rgba[3] == 255):
                continue
            if obj.kind != _PATH and (obj.kind != _IMAGE or obj.index in self.page_images):
                continue
            x0, y0, x1, y1 = obj.box
            meets = ((order < obj.index) & (boxes[:, 0] < x1) & (boxes[:, 2] > x0)
                     & (boxes[:, 1] < y1) & (boxes[:, 3] > y0))
            if meets.any() and (cover := self._as_cover(obj)) is not None:
                out.append(cover)
        return out

    def _as_cover(self, obj: _Obj) -> _Cover | None:
        if obj.kind == _PATH:
            rects = self._painted_rects(obj)
            return _Cover(obj, rects, "filled rectangle", _hex(obj.rgba)) if rects else None
        if not _upright(_compose(self.probe.matrix(obj.handle), obj.container)):
            return None  # a pasted patch sits upright; a tilted photo or logo is page design
        image = pdfium.PdfImage(obj.handle, page=self.page, pdf=self.pdf)
        width, height = image.get_px_size()
        if width * height > MAX_PATCH_PIXELS:
            return None
        # PDFium renders the image with its soft mask applied, so the transparent parts of a seal read as such.
        bitmap = image.get_bitmap(render=True)
        pixels = bitmap.to_numpy()
        if bitmap.mode != "BGRA":
            pixels = np.dstack([pixels[..., :3], np.full(pixels.shape[:2], 255, np.uint8)])
        if not any(_paper_pixels(pixels, ground).any() for ground in self._grounds):
            return None  # ink only, like a seal: it cannot repaint the background of what it crosses
        return _Cover(obj, [obj.box], "image", None, pixels)

    def _cover_findings(self) -> tuple[list[Finding], set[tuple[int, int]]]:
        """COVERED and COVERED_RETYPED findings, and the (covered text, new text) object pairs they explain,
        so that the same edit is not reported again as overprinting."""
        out: list[Finding] = []
        explained: set[tuple[int, int]] = set()
        for cover in self._covers():
            hidden: list[_Char] = []
            for t in self.texts:
                if t.index in self.ink and t.index < cover.obj.index and _overlap(t.box, cover.obj.box) > 0:
                    ground = (self._behind(t) or _PAPER) if cover.pixels is not None else None
                    for word in _words(self.glyphs(t)):
                        masked = [ch for ch in word if _hidden_share(cover, ch.ink, ground) >= COVERED_SHARE]
                        for ch in masked:
                            self._masked.setdefault(ch.position, cover.obj.index)
                        if len(masked) > len(word) / 2:
                            hidden += word
            covered_text = _joined(hidden)
            if not any(c.isalnum() for c in covered_text):
                continue  # placeholders such as "____" under a filled-in field say nothing
            shown = [ch for t in self.texts if t.index in self.ink and t.index > cover.obj.index
                     and _overlap(t.box, cover.obj.box) > 0
                     for ch in self.glyphs(t) if any(_contains(r, *_centre(ch.ink)) for r in cover.rects)]
            explained |= {(h.obj.index, s.obj.index) for h in hidden for s in shown}
            if _same_text(covered_text, _joined(shown)):
                continue  # painted over and painted again as it was: nothing on the page changed
            box = _union([c.ink for c in hidden + shown] + cover.rects)
            order = {"covered_text": max(c.obj.index for c in hidden), "cover": cover.obj.index}
            evidence = {"covered_text": _quote(covered_text), "cover": cover.what, "fill": cover.fill}
            if shown:
                order["shown_text"] = min(c.obj.index for c in shown)
                out.append(self._finding("PDF_TEXT_COVERED_RETYPED", box, shown_text=_quote(_joined(shown)),
                                         paint_order=order, **evidence))
            else:
                out.append(self._finding("PDF_TEXT_COVERED", box, paint_order=order, **evidence))
        return out, explained

    # --- text drawn twice ---------------------------------------------------------------------

    def _overprint_findings(self, explained: set[tuple[int, int]]) -> tuple[list[Finding], set[int]]:
        """OVERPRINTED findings, ink drawn over earlier ink or hidden text, and the text objects drawn over."""
        candidates = [t for t in self.texts if t.level and (t.index in self.ink or t.index in self.hidden)]
        under: dict[int, list[_Obj]] = {}
        for i, j in _stacked_pairs(np.array([t.box for t in candidates]).reshape(-1, 4)):
            earlier, later = candidates[i], candidates[j]
            if later.index in self.ink and (earlier.index, later.index) not in explained:
                under.setdefault(j, []).append(earlier)
        out: list[Finding] = []
        drawn_over: set[int] = set()
        for j, earlier in sorted(under.items()):
            later = candidates[j]
            top = self.glyphs(later)
            below = [ch for e in earlier for ch in self.glyphs(e)
                     if self._masked.get(ch.position, later.index) >= later.index]
            covered = [b for b in below if _on(b, top)]
            if not covered or sum(_on(ch, below) for ch in top) < OVERPRINT_SHARE * len(top):
                continue
            shown_text, under_text = _joined(top), _joined(covered)
            if _same_text(shown_text, under_text):
                continue  # the same text twice: fake bold, a shadow, or a generator's second pass
            drawn_over |= {b.obj.index for b in covered}
            order = {"under_text": max(b.obj.index for b in covered), "shown_text": later.index}
            out.append(self._finding("PDF_TEXT_OVERPRINTED", _union(c.ink for c in top + covered),
                                     under_text=_quote(under_text), shown_text=_quote(shown_text),
                                     hidden=any(b.obj.index in self.hidden for b in covered), paint_order=order))
        return out, drawn_over

    # --- hidden text --------------------------------------------------------------------------

    def _why_hidden(self, t: _Obj) -> str | None:
        if t.mode in _NO_PAINT_MODES:
            return "invisible text render mode"
        if t.rgba is not None and t.rgba[3] == 0:
            return "fully transparent text"
        if t.rgba is not None and any(_same_colour(t.rgba, g) for g in self._grounds):
            behind = self._behind(t)
            if behind is not None and _same_colour(t.rgba, behind):
                return "same colour as the background"
        if _watermark_like(t):
            return None  # tiled watermarks run off the page edge by design
        if _overlap(t.box, self.crop) <= 0:
            return _OFF_PAGE
        if t.size < TINY_SIZE:
            return "text too small to see"
        return None

    def _behind(self, t: _Obj) -> tuple | None:
        """The colour painted under the middle of a text object before it: a fill's colour, or the paper.
        None when an image lies there, or a shape whose painted area is not known."""
        x, y = _centre(t.box)
        for obj in reversed(self.objects[:bisect.bisect_left(self._order, t.index)]):
            if obj.kind == _TEXT or not _contains(obj.box, x, y):
                continue
            if obj.kind != _PATH or obj.rgba[3] < 255 or not self._painted_rects(obj):
                return None
            if any(_contains(r, x, y) for r in self._painted_rects(obj)):
                return obj.rgba[:3]
        return _PAPER

    def _hidden_findings(self, drawn_over: set[int]) -> list[Finding]:
        """One finding per reason on a page: hidden text tends to come in many small runs."""
        by_index = {t.index: t for t in self.texts}
        groups: dict[str, list[_Obj]] = {}
        for index, reason in self.hidden.items():
            if index not in drawn_over:
                groups.setdefault(reason, []).append(by_index[index])
        out = []
        for reason, objs in groups.items():
            text = " ".join(filter(None, (self._text(o) for o in objs)))
            if any(c.isalnum() for c in text):
                box = _union(c.ink for o in objs for c in self.glyphs(o))
                # Off-page text is as often a generator's leftover as a hiding place: worth a look, no more.
                out.append(self._finding("PDF_TEXT_HIDDEN", box, severity="low" if reason == _OFF_PAGE else None,
                                         text=_quote(text), reason=reason, runs=len(objs)))
        return out

    # --- editor traces ------------------------------------------------------------------------

    def _touchup_findings(self) -> list[Finding]:
        """Acrobat's edit-text tool writes a `/TouchUp_TextEdit MP` point before each text block it rewrote.
        The block's text-showing operators are counted in the page's own content, where the n-th one that
        shows glyphs is PDFium's n-th text object outside form XObjects; when the counts disagree the finding
        points at the whole page."""
        try:
            if b"TouchUp_TextEdit" not in _content_bytes(self.pike_page):
                return []
            instructions = pikepdf.parse_content_stream(self.pike_page)
        except pikepdf.PdfError:
            return []  # content qpdf cannot decode: PDFium's reading of it is all there is
        touched: list[int] = []
        marks, shown, editing = 0, 0, False
        for ins in instructions:
            op = str(getattr(ins, "operator", ""))  # inline images have no operator
            if op == "MP" and list(ins.operands) == [_TOUCHUP]:
                marks += 1
                editing = True
            elif op == "ET":
                editing = False
            elif op in _SHOW_OPS and _shows_glyphs(ins.operands[-1]):
                if editing:
                    touched.append(shown)
                shown += 1
        own = [o for o in self.objects if o.kind == _TEXT and not o.nested]
        if touched and len(own) == shown:
            edited = [own[k] for k in touched]
            text = " ".join(filter(None, (self._text(o) for o in edited)))
            return [self._finding("PDF_TOUCHUP_EDIT", _union(o.box for o in edited), marks=marks, text=_quote(text))]
        return [self._finding("PDF_TOUCHUP_EDIT", self.crop, marks=marks, text="")]

    def _operator_findings(self) -> list[Finding]:
        """Figures written with another form of text operator than the page's other figures in their font and
        size: a `TJ` array among `Tj` strings, an array that opens with an offset or holds two in a row. An
        editor that retypes a figure inside the issuer's content stream keeps the font and the place but writes
        the operator its own way. Operators are matched to PDFium's text objects by their order, as for
        TouchUp marks; when the counts disagree nothing is reported, since nothing could be placed."""
        try:  # only what sets the font and shows text, which qpdf filters faster than Python would
            shown = _shown_forms(pikepdf.parse_content_stream(self.pike_page, _FORM_OPS))
        except pikepdf.PdfError:
            return []
        own = [o for o in self.objects if o.kind == _TEXT and not o.nested]
        if len(own) != len(shown) or _one_engine({form for _, form in shown}):
            return []
        groups: dict[tuple, list[tuple[_Obj, str]]] = defaultdict(list)
        for obj, (font, form) in zip(own, shown):
            groups[font].append((obj, form))
        out = []
        for members in groups.values():
            if _one_engine({form for _, form in members}):
                continue  # the page's text is not read where every form could be the engine's own
            figures = [(o, form) for o, form in members if _figure(self.glyphs(o))]
            counts = Counter(form for _, form in figures)
            if not counts:
                continue
            usual = counts.most_common(1)[0][0]
            peers = sum(n for form, n in counts.items() if _agree(form, usual))
            if peers < FORM_PEERS or peers < FORM_MAJORITY * len(figures):
                continue
            out += [self._finding("PDF_TEXT_OPERATOR_ODD", o.box, text=_quote(self._text(o)), form=form,
                                  usual=usual, peers=peers)
                    for o, form in figures if not _agree(form, usual)]
        return out

    def _redaction_findings(self) -> list[Finding]:
        out = []
        for i in range(pdfium_c.FPDFPage_GetAnnotCount(self.page.raw)):
            annot = pdfium_c.FPDFPage_GetAnnot(self.page.raw, i)
            try:
                if pdfium_c.FPDFAnnot_GetSubtype(annot) != pdfium_c.FPDF_ANNOT_REDACT:
                    continue
                rect = pdfium_c.FS_RECTF()
                pdfium_c.FPDFAnnot_GetRect(annot, rect)
            finally:
                pdfium_c.FPDFPage_CloseAnnot(annot)
            box = _sorted_box((rect.left, rect.bottom, rect.right, rect.top))
            under = [ch for t in self.texts if _overlap(t.box, box) > 0
                     for ch in self.glyphs(t) if _contains(box, *_centre(ch.ink))]
            out.append(self._finding("PDF_REDACTION_PENDING", box, text=_quote(_joined(under))))
        return out


def _hidden_share(cover: _Cover, ink: tuple, ground: tuple | None) -> float:
    """How much of a glyph's ink box a cover hides. A box hides what it covers. An image hides only where it
    is opaque and mostly in `ground`, the colour that was behind the glyph: a patch masks text by repainting
    the paper, while a seal's ink struck across a name is another colour and leaves the name readable."""
    area = _area(ink)
    if area <= 0:
        return 0.0
    if cover.pixels is None:
        return min(1.0, sum(_overlap(ink, r) for r in cover.rects) / area)
    bx0, by0, bx1, by1 = cover.obj.box
    inside = (max(ink[0], bx0), max(ink[1], by0), min(ink[2], bx1), min(ink[3], by1))
    if _area(inside) <= 0:
        return 0.0
    h, w = cover.pixels.shape[:2]
    cols = slice(int((inside[0] - bx0) / (bx1 - bx0) * w), max(int(np.ceil((inside[2] - bx0) / (bx1 - bx0) * w)), 1))
    rows = slice(int((by1 - inside[3]) / (by1 - by0) * h), max(int(np.ceil((by1 - inside[1]) / (by1 - by0) * h)), 1))
    patch = cover.pixels[rows, cols]
    if not patch.size:
        return 0.0
    opaque = patch[..., 3] >= OPAQUE_ALPHA
    if _paper_pixels(patch, ground).sum() < 0.5 * opaque.sum():
        return 0.0
    return float(opaque.mean()) * _area(inside) / area


def _paper_pixels(bgra: np.ndarray, ground: tuple) -> np.ndarray:
    """Opaque pixels in the colour `ground` (RGB)."""
    match = bgra[..., 3] >= OPAQUE_ALPHA
    for channel, value in zip((2, 1, 0), ground):
        match &= np.abs(bgra[..., channel].astype(np.int16) - value) <= PATCH_COLOUR
    return match


def _on(ch: _Char, others: list[_Char]) -> bool:
    """The glyph's full-height box lies at least GLYPH_ON_GLYPH on the other glyphs' boxes."""
    area = _area(ch.cell)
    return area > 0 and sum(_overlap(ch.cell, o.cell) for o in others) >= GLYPH_ON_GLYPH * area


def _stacked_pairs(boxes: np.ndarray) -> list[tuple[int, int]]:
    """Pairs (i, j), i < j, of boxes where the smaller lies at least GLYPH_ON_GLYPH on the other. A sweep over
    the boxes sorted by their lower edge compares each only with those starting within its height, so the
    work grows with the text on a line rather than with the square of the text on the page."""
    n = len(boxes)
    if n < 2:
        return []
    order = np.argsort(boxes[:, 1], kind="stable")
    ranked = boxes[order]
    ends = np.searchsorted(ranked[:, 1], ranked[:, 3], side="left")
    counts = np.clip(ends - np.arange(n) - 1, 0, None)
    first = np.repeat(np.arange(n), counts)
    second = first + 1 + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    a, b = ranked[first], ranked[second]
    width = np.minimum(a[:, 2], b[:, 2]) - np.maximum(a[:, 0], b[:, 0])
    height = np.minimum(a[:, 3], b[:, 3]) - np.maximum(a[:, 1], b[:, 1])
    smaller = np.minimum((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]), (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))
    stacked = (width > 0) & (height > 0) & (width * height >= GLYPH_ON_GLYPH * smaller)
    i, j = order[first[stacked]], order[second[stacked]]
    return sorted(zip(np.minimum(i, j).tolist(), np.maximum(i, j).tolist()))


# --- object properties ----------------------------------------------------------------------------

def _same_text(a: str, b: str) -> bool:
    return a.replace(" ", "") == b.replace(" ", "")


def _same_colour(rgba: tuple, rgb: tuple) -> bool:
    return max(abs(a - b) for a, b in zip(rgba[:3], rgb)) <= SAME_COLOUR


def _big_enough(path: _Obj) -> bool:
    """A fill that could hide a glyph or lie behind one, unlike a table rule."""
    return min(path.box[2] - path.box[0], path.box[3] - path.box[1]) >= MIN_COVER_SIDE


def _watermark_like(t: _Obj) -> bool:
    """Rotated, translucent or light text, as checks.ingest sets watermarks apart from the reading text."""
    if not t.level or t.rgba is None:
        return not t.level
    return t.rgba[3] < 255 or sum(t.rgba[:3]) / 3 > 0.75 * 255


class _Probe:
    """PDFium property getters sharing their output buffers: a page has thousands of objects, and making
    fresh ctypes values for every call would cost more than the calls themselves."""

    def __init__(self):
        self.f = [ctypes.c_float() for _ in range(4)]
        self.u = [ctypes.c_uint() for _ in range(4)]
        self.i = [ctypes.c_int() for _ in range(2)]
        self.m = pdfium_c.FS_MATRIX()

    def bounds(self, handle) -> tuple:
        if not pdfium_c.FPDFPageObj_GetBounds(handle, *self.f):
            return (0.0, 0.0, 0.0, 0.0)
        return tuple(v.value for v in self.f)

    def matrix(self, handle) -> tuple:
        m = self.m
        return (m.a, m.b, m.c, m.d, m.e, m.f) if pdfium_c.FPDFPageObj_GetMatrix(handle, m) else _IDENTITY

    def colour(self, handle, stroke: bool = False) -> tuple | None:
        get = pdfium_c.FPDFPageObj_GetStrokeColor if stroke else pdfium_c.FPDFPageObj_GetFillColor
        return tuple(v.value for v in self.u) if get(handle, *self.u) else None

    def fill(self, handle) -> tuple | None:
        """A path's fill colour, None when it is not filled; alpha 0 when the fill is not plain opaque paint
        (a blend mode or soft mask), or when its colour is unknown (a pattern)."""
        if not pdfium_c.FPDFPath_GetDrawMode(handle, *self.i) or self.i[0].value == pdfium_c.FPDF_FILLMODE_NONE:
            return None
        rgba = self.colour(handle)
        if rgba is None or pdfium_c.FPDFPageObj_HasTransparency(handle):
            return (*(rgba or (0, 0, 0))[:3], 0)
        return rgba

    def font_size(self, handle) -> float:
        """The font size as set (Tf); the text matrix scales it."""
        return self.f[0].value if pdfium_c.FPDFTextObj_GetFontSize(handle, self.f[0]) else 0.0


def _content_bytes(page: pikepdf.Page) -> bytes:
    contents = page.obj.get("/Contents")
    streams = [contents] if isinstance(contents, pikepdf.Stream) else list(contents) if isinstance(
        contents, pikepdf.Array) else []
    return b"".join(s.read_bytes() for s in streams if isinstance(s, pikepdf.Stream))  # damaged files hold nulls


def _figure(chars: list[_Char]) -> bool:
    """Text that is mostly digits: an amount, a date, a table line of them; not prose with a number in it."""
    return 2 * sum(ch.text.isdigit() for ch in chars) >= len(chars) > 0


def _shown_forms(instructions) -> list[tuple[tuple, str]]:
    """For every text-showing operator that shows glyphs, in content order: its font and size, and the form
    of the operator (see _form). The font is graphics state: q saves it and Q restores it."""
    font, saved, out = None, [], []
    for ins in instructions:
        op = str(getattr(ins, "operator", ""))  # inline images have no operator
        if op == "q":
            saved.append(font)
        elif op == "Q":
            font = saved.pop() if saved else font
        elif op == "Tf" and len(ins.operands) == 2:
            name, size = ins.operands
            font = (str(name), round(float(size), 3) if isinstance(size, (int, float, Decimal)) else None)
        elif op in _SHOW_OPS and ins.operands and _shows_glyphs(ins.operands[-1]):
            out.append((font, _form(op, ins.operands[-1])))
    return out


def _form(op: str, operand) -> str:
    """How an operator is written, in the terms that stay fixed within one engine's output (see _agree)."""
    if op != "TJ" or not isinstance(operand, pikepdf.Array):
        return op
    kinds = "".join("s" if isinstance(item, pikepdf.String) else "n" for item in operand)
    if kinds.startswith("n"):
        return "a TJ array opening with an offset"
    if "nn" in kinds:
        return "a TJ array with two offsets in a row"
    return _KERNED if "n" in kinds else "a TJ array without offsets"


def _one_engine(forms: set[str]) -> bool:
    return all(_agree(a, b) for a in forms for b in forms)


def _agree(form: str, usual: str) -> bool:
    """Whether one engine writes both forms. Engines that kern write an array with offsets between its
    strings where a kerning pair occurs (11 in some fonts) and a plain string or an array without offsets
    elsewhere; but an engine that writes plain `Tj` strings has no use for an array without offsets, and no
    engine opens an array with an offset or puts two in a row (it would merge them): an editor does, shifting
    a retyped figure to keep its right edge."""
    plain = ("Tj", "a TJ array without offsets")
    return form == usual or (_KERNED in (form, usual) and {form, usual} <= {_KERNED, *plain})


def _stream_style_findings(pdf: pikepdf.Pdf) -> list[Finding]:
    styles = []
    for number, page in enumerate(pdf.pages, 1):
        try:
            style = _stream_style(_content_bytes(page)[:STYLE_SAMPLE])
        except pikepdf.PdfError:
            continue
        if style:
            styles.append((number, style))
    return _mixed_style_findings(pdf, styles) + _library_style_findings(pdf, styles)


def _mixed_style_findings(pdf: pikepdf.Pdf, page_styles: list[tuple[int, dict]]) -> list[Finding]:
    """Pages whose content streams are written in different styles. A writer separates the tokens of a
    content stream its own way (a space or a line feed after an operator, a space inside array brackets or
    none), and an issuer's engine writes every page of a document the same way. A page that an editor
    rewrote, down to the figures retyped in the issuer's own font, is written in the editor's style."""
    styles: list[tuple[dict, list[int]]] = []  # one representative style per group, and its pages
    difference = ""
    for number, style in page_styles:
        for known, pages in styles:
            conflict = next((pair for pair in style if pair in known and known[pair] != style[pair]), None)
            if conflict is None:
                pages.append(number)
                break
            first, second = (_TOKEN_KINDS[kind] for kind in conflict)
            difference = difference or (f"between {first} and {second}: {_SEPARATORS[known[conflict]]} on page "
                                        f"{pages[0]}, {_SEPARATORS[style[conflict]]} on page {number}")
        else:
            styles.append((style, [number]))
    # Pages that use the very same font objects were made in one run of one engine; pages with fonts of
    # their own were put together from other files (a merged document), where mixed styles say nothing.
    if len(styles) < 2 or len({_fonts(pdf, pages) for _, pages in styles}) > 1:
        return []
    groups = "; ".join(", ".join(map(str, pages)) for _, pages in styles)
    return [finding("PDF_PAGE_STREAMS_MIXED", styles=len(styles), pages=groups, difference=difference)]


def _library_style_findings(pdf: pikepdf.Pdf, page_styles: list[tuple[int, dict]]) -> list[Finding]:
    """Pages written in the spacing of a library that parses content streams and writes them back (see
    `stream_libraries` in data/pdf_software.toml): a space after every '[' and before every ']'. Unlike
    mixed styles, this holds when an editor rewrote every page, and after the whole file was saved again."""
    pages = [number for number, style in page_styles if _spaced_brackets(style)]
    info = document_info(pdf)
    if not pages or stream_library_in(info):
        return []
    return [finding("PDF_PAGES_LIBRARY_WRITTEN", pages=", ".join(map(str, pages)), of=len(pdf.pages),
                    producer=info.get("Producer") or "missing")]


def _spaced_brackets(style: dict[tuple[str, str], bytes]) -> bool:
    after_open = [sep for (first, _), sep in style.items() if first == "open"]
    before_close = [sep for (_, second), sep in style.items() if second == "close"]
    return bool(after_open and before_close) and set(after_open + before_close) == {b" "}


def _fonts(pdf: pikepdf.Pdf, pages: list[int]) -> frozenset:
    """The font objects the pages' resources name (object numbers; a direct font counts by its name)."""
    out = set()
    for number in pages:
        fonts = pdf.pages[number - 1].resources.get("/Font")
        if isinstance(fonts, pikepdf.Dictionary):
            out |= {font.objgen if font.is_indirect else name for name, font in fonts.items()}
    return frozenset(out)


def _stream_style(data: bytes) -> dict[tuple[str, str], bytes]:
    """What a content stream puts between each pair of token kinds (nothing, a space, a line feed), for the
    pairs seen often enough and separated consistently enough to say."""
    data = _INLINE_IMAGE.sub(b" ", data)  # image bytes are not tokens
    seen: dict[tuple[str, str], Counter] = defaultdict(Counter)
    previous, end = None, 0
    for m in _TOKEN.finditer(data):
        kind = m.lastgroup
        if previous is not None:
            seen[(previous, kind)][data[end:m.start()]] += 1
        previous, end = kind, m.end()
    out = {}
    for pair, separators in seen.items():
        separator, count = separators.most_common(1)[0]
        total = sum(separators.values())
        if count >= STYLE_MIN and count >= STYLE_SHARE * total and separator in _SEPARATORS:
            out[pair] = separator
    return out


def _shows_glyphs(operand) -> bool:
    """PDFium makes a text object only for a text-showing operator with something to show."""
    if isinstance(operand, pikepdf.Array):
        return any(isinstance(item, pikepdf.String) and len(bytes(item)) for item in operand)
    return isinstance(operand, pikepdf.String) and len(bytes(operand)) > 0


def _path_rects(obj: _Obj, probe: _Probe) -> list[tuple]:
    """The area a filled path paints, as rectangles on the page, when the path is made of upright rectangles
    that do not overlap (a box, a row of cells); otherwise none. Where rectangles nest, as in a frame, the
    fill rule cuts holes; curved shapes are page design. Editors' white-out and redaction tools draw boxes."""
    m = _compose(probe.matrix(obj.handle), obj.container)
    if not _upright(m):
        return []
    subpaths: list[list[tuple | None]] = []
    x, y = ctypes.c_float(), ctypes.c_float()
    for i in range(pdfium_c.FPDFPath_CountSegments(obj.handle)):
        segment = pdfium_c.FPDFPath_GetPathSegment(obj.handle, i)
        kind = pdfium_c.FPDFPathSegment_GetType(segment)
        pdfium_c.FPDFPathSegment_GetPoint(segment, x, y)
        if kind == pdfium_c.FPDF_SEGMENT_MOVETO or not subpaths:
            subpaths.append([])
        subpaths[-1].append(None if kind == pdfium_c.FPDF_SEGMENT_BEZIERTO else _apply(m, x.value, y.value))
    rects = [_rect(points) for points in subpaths]
    if not rects or None in rects or len(rects) > MAX_PATH_RECTS:
        return []
    boxes = np.array(rects)
    width = np.minimum(boxes[:, None, 2], boxes[None, :, 2]) - np.maximum(boxes[:, None, 0], boxes[None, :, 0])
    height = np.minimum(boxes[:, None, 3], boxes[None, :, 3]) - np.maximum(boxes[:, None, 1], boxes[None, :, 1])
    overlapping = (width > 0) & (height > 0)
    np.fill_diagonal(overlapping, False)
    return [] if overlapping.any() else rects


def _rect(points: list) -> tuple | None:
    """The box a closed subpath of four corners outlines, if it is an upright rectangle."""
    if None in points:
        return None
    if len(points) == 5 and abs(points[4][0] - points[0][0]) < 0.01 and abs(points[4][1] - points[0][1]) < 0.01:
        points = points[:4]
    if len(points) != 4:
        return None
    edges = zip(points, points[1:] + points[:1])
    if not all(abs(a[0] - b[0]) < 0.01 or abs(a[1] - b[1]) < 0.01 for a, b in edges):
        return None
    box = _sorted_box((*points[0], *points[2]))
    return box if _area(box) > 0 else None
