"""Read ruled or unruled tables from positioned words: a header row names the columns, anchor cells start rows.

Works the same on text-layer words (PDF points) and OCR words (pixels): only relative positions matter.
"""
from __future__ import annotations

import bisect
import statistics
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz

from checks.model import Line, Word
from checks.normalize import nfkc

# Lines whose text marks the end of a table body: totals, page numbers, notes.
FOOTER_WORDS = ("合计", "总计", "统计", "页", "说明", "备注：", "注：", "温馨提示")
# The steepest lean (x per unit of y) looked for in a column boundary: a page turned by 3.4°.
_MAX_LEAN = 0.06


def lines_of(words: list[Word]) -> list[Line]:
    """Group words into lines: a word joins a line when it overlaps the line's vertical middle."""
    lines: list[list[Word]] = []
    for w in sorted(words, key=lambda w: (w.top, w.x0)):
        mid = (w.top + w.bottom) / 2
        for line in lines:
            top, bottom = line[0].top, line[0].bottom
            if top <= mid <= bottom:
                line.append(w)
                break
        else:
            lines.append([w])
    return [Line(tuple(sorted(ws, key=lambda w: w.x0))) for ws in lines]


@dataclass(frozen=True)
class Edge:
    """A boundary between columns: at `x` on the height `y`, moving `lean` to the right per unit down the page.
    Scans and photos are rarely square: a turned page or perspective leans every column a little."""
    x: float
    y: float = 0.0
    lean: float = 0.0

    def at(self, y: float) -> float:
        return self.x + self.lean * (y - self.y)


@dataclass(frozen=True)
class Column:
    role: str
    left: Edge
    right: Edge
    header: Word

    def holds(self, word: Word) -> bool:
        y = _middle(word)
        return self.left.at(y) <= (word.x0 + word.x1) / 2 < self.right.at(y)


@dataclass
class Row:
    page: int
    cells: dict[str, list[Word]] = field(default_factory=dict)

    def text(self, role: str, sep: str = "") -> str:
        """The cell's words in reading order: line by line, left to right."""
        return sep.join(w.text for line in lines_of(self.cells.get(role, [])) for w in line.words)

    def words(self, role: str) -> list[Word]:
        return self.cells.get(role, [])

    def bbox(self, role: str | None = None) -> tuple[float, float, float, float] | None:
        words = self.cells.get(role, []) if role else [w for ws in self.cells.values() for w in ws]
        if not words:
            return None
        return (min(w.x0 for w in words), min(w.top for w in words), max(w.x1 for w in words),
                max(w.bottom for w in words))


def header(lines: list[Line], names: dict[str, str], minimum: int = 3) -> tuple[list[Column], float] | None:
    """The first line naming at least `minimum` known columns: its columns (by x) and its bottom edge.

    Every header word becomes a column, known or not (an unknown one is `other:<text>`), so the cells of
    columns we do not read do not spill into their neighbours. Header words on the lines just above or below
    (a two-line heading such as 交易国家或/地区简称) add columns where the main line has none.
    """
    for i, line in enumerate(lines):
        tokens = _merged(list(line.words))
        found = [(role, w) for w in tokens if (role := _column_name(w.text, names))]
        if len({role for role, _ in found}) < minimum:
            continue
        height = statistics.median(w.bottom - w.top for w in tokens)
        for near in lines[max(0, i - 1):i] + lines[i + 1:i + 2]:
            if abs(near.bbox[1] - line.bbox[1]) < 0.8 * height:  # a heading split over two lines, not a row
                tokens += [w for w in _merged(list(near.words)) if not any(_overlap(w, t) for t in tokens)]
        tokens.sort(key=lambda w: w.x0)
        y = _middle(line)
        edges = [Edge(-float("inf"))] + [Edge((a.x1 + b.x0) / 2, y) for a, b in zip(tokens, tokens[1:])] \
            + [Edge(float("inf"))]
        columns = [Column(_column_name(w.text, names) or f"other:{nfkc(w.text)}", edges[k], edges[k + 1], w)
                   for k, w in enumerate(tokens)]
        return columns, max(w.bottom for w in line.words)
    return None


def _merged(tokens: list[Word]) -> list[Word]:
    """Join header pieces that some engines split: '钞 / 汇', '对方卡号 / 账号'."""
    out: list[Word] = []
    for w in sorted(tokens, key=lambda w: w.x0):
        if out and (w.text == "/" or out[-1].text.endswith("/")) and w.x0 - out[-1].x1 < (w.bottom - w.top):
            last = out.pop()
            w = Word(last.text + w.text, last.x0, min(last.top, w.top), w.x1, max(last.bottom, w.bottom))
        out.append(w)
    return out


def _overlap(a: Word, b: Word) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1


def refine(columns: list[Column], body: list[Word]) -> list[Column]:
    """Move each boundary between two columns into the widest blank strip of the body between their headers.

    Cells are left-, right- or centre-aligned under headers of other widths: the midpoint between two
    headers cuts through cells, the blank strip between the columns' contents does not. A strip reaching into
    the space between two headers from beside it (narrow cells under a wide heading) stays with the boundary
    it overlaps most.

    On a scan or a photo the strips lean: a turned page leans them all alike, perspective fans them out, and
    searched upright they narrow or close. So they are searched under every lean c + d·x of a page model, and
    the one that opens the most strips, then the widest (then the most upright), wins: one model for the page,
    since a boundary searched alone can lean into a gap between ragged cell edges.
    """
    if len(columns) < 2 or not body:
        return list(columns)
    y = columns[0].right.y
    x0, x1 = np.array([w.x0 for w in body]), np.array([w.x1 for w in body])
    down = np.array([_middle(w) for w in body]) - y
    lo = np.array([c.header.x1 for c in columns[:-1]])
    hi = np.array([c.header.x0 for c in columns[1:]])
    centre, width = (x0.min() + x1.max()) / 2, x1.max() - x0.min()

    def strips(c: float, d: float) -> tuple[np.ndarray, np.ndarray]:
        shift = (c + d * ((x0 + x1) / 2 - centre)) * down
        return _widest_gaps(x0 - shift, x1 - shift, lo, hi, owned=True)

    def score(model: tuple[float, float]) -> tuple[int, float, float]:
        left, right = strips(*model)
        open_ = right > left
        return int(open_.sum()), float((right - left)[open_].sum()), -abs(model[0]) - abs(model[1]) * width

    # Coarse, then fine around the best: a turn of up to ±3.4°, and the outer columns leaning up to 1.7° more or
    # less than the middle ones (perspective).
    fan = _MAX_LEAN / max(width, 1.0)
    best = max(((c, d) for c in np.linspace(-_MAX_LEAN, _MAX_LEAN, 25) for d in np.linspace(-fan, fan, 5)),
               key=score)
    best = max(((best[0] + i * _MAX_LEAN / 24, best[1] + j * fan / 4) for i in (-1, 0, 1) for j in (-1, 0, 1)),
               key=score)
    left, right = strips(*best)
    out = list(columns)
    for k in range(len(columns) - 1):
        if right[k] > left[k]:
            x = float(left[k] + right[k]) / 2
            edge = Edge(x, y, float(best[0] + best[1] * (x - centre)))
            out[k] = Column(out[k].role, out[k].left, edge, out[k].header)
            out[k + 1] = Column(out[k + 1].role, edge, out[k + 1].right, out[k + 1].header)
    return out


def _widest_gaps(starts: np.ndarray, ends: np.ndarray, lo: np.ndarray, hi: np.ndarray,
                 owned: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """For each window [lo[k], hi[k]], the widest stretch of it no span (starts[i], ends[i]) covers, as (left,
    right) arrays; right ≤ left where the spans cover the whole window. `owned`: a blank stretch counts only
    in the window it overlaps most, so one reaching into a window from beside it stays with its own."""
    order = np.argsort(starts, kind="stable")
    starts, ends = starts[order], np.maximum.accumulate(ends[order])
    # The blank stretches between the spans, and before and after all of them.
    left = np.maximum(np.concatenate([[-np.inf], ends])[None, :], lo[:, None])
    right = np.minimum(np.concatenate([starts, [np.inf]])[None, :], hi[:, None])
    width = right - left
    if owned:
        width[np.argmax(width, axis=0)[None, :] != np.arange(len(lo))[:, None]] = -np.inf
    k = np.argmax(width, axis=1)
    rows = np.arange(len(lo))
    return left[rows, k], right[rows, k]


def _column_name(text: str, names: dict[str, str]) -> str | None:
    text = nfkc(text).replace(" ", "")
    if text in names:
        return names[text]
    if not 2 <= len(text) <= 8:
        return None
    scored = sorted(((fuzz.ratio(text, name), role) for name, role in names.items() if len(name) == len(text)),
                    reverse=True)
    if scored and scored[0][0] >= 50 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1]
    return None


def rows(words: list[Word], columns: list[Column], below: float, anchor: str, is_anchor, page: int,
         is_second=None) -> list[Row]:
    """Rows of the table under `below`: each starts at a word of the `anchor` column that `is_anchor` accepts
    and takes every word down to the next anchor, so wrapped cells and second lines (times) stay in their row.

    `is_second` accepts the anchor cell's second line (the time under a date). One lying more than a row pitch
    below the anchor above it is not that anchor's: it starts a row whose anchor OCR did not read (a watermark's
    strokes across the date), which would otherwise be merged into the row above. Only between the first anchor
    and the table's end: above and below are the page's header and footer, which may print a time too."""
    body = [w for w in words if _middle(w) > below]
    anchors = _anchors(body, columns, anchor, is_anchor)
    if not anchors:
        return []
    height = statistics.median(w.bottom - w.top for w in anchors)
    pitch = statistics.median(b.top - a.top for a, b in zip(anchors, anchors[1:])) if len(anchors) > 1 else 3 * height
    # The last row ends at the footer, and in any case within a row and a half of its start.
    end = min(_footer_top(body, anchors[-1].top) or float("inf"), anchors[-1].top + 1.5 * pitch)
    columns = refine(columns, [w for w in body if anchors[0].top - height <= w.top < end])
    anchors = _anchors(body, columns, anchor, is_anchor) or anchors
    if is_second:
        anchors = _with_unread(anchors, body, columns, anchor, is_second, height, pitch, end)
    cells: dict[str, list[Word]] = {}
    for w in body:
        col = _column_of(w, columns)
        if col is not None and _middle(w) < end - height / 2:
            cells.setdefault(col.role, []).append(w)
    out = [Row(page) for _ in anchors]
    # Under its anchor, a second line (the time under a date) belongs to the row it starts; above the first
    # anchor is the heading's second line (an English translation), not a row.
    for w in cells.pop(anchor, []):
        if w.top >= anchors[0].top - height / 4:
            i = max(k for k, a in enumerate(anchors) if a.top <= w.top + height / 4)
            out[i].cells.setdefault(anchor, []).append(w)
    # Every other cell belongs to the row whose anchor cell it faces. Cells are centred or top-aligned, wrap
    # onto more lines than the anchor cell, and OCR boxes of neighbouring rows nearly touch: so between the
    # middles of two anchor cells, a column's rows part at the widest blank strip of that column.
    blocks = [[a, *r.cells.get(anchor, [])] for a, r in zip(anchors, out)]
    middles = [(min(w.top for w in b) + max(w.bottom for w in b)) / 2 for b in blocks]
    windows = [(below, middles[0])] + list(zip(middles, middles[1:]))
    lo, hi = np.array(windows).T
    for role, ws in cells.items():
        top, bottom = _widest_gaps(np.array([w.top for w in ws]), np.array([w.bottom for w in ws]), lo, hi)
        cuts = np.where(bottom > top, (top + bottom) / 2, (lo + hi) / 2)
        for w in ws:
            i = bisect.bisect_right(cuts, _middle(w)) - 1
            if i >= 0:
                out[i].cells.setdefault(role, []).append(w)
    return out


def _anchors(body: list[Word], columns: list[Column], anchor: str, is_anchor) -> list[Word]:
    anchor_col = next((c for c in columns if c.role == anchor), None)
    if anchor_col is None:
        return []
    return sorted((w for w in body if _column_of(w, columns) is anchor_col and is_anchor(w.text)),
                  key=lambda w: w.top)


def _with_unread(anchors: list[Word], body: list[Word], columns: list[Column], anchor: str, is_second,
                 height: float, pitch: float, end: float) -> list[Word]:
    """The anchors, and in place of each anchor OCR did not read the second line that stands for it (one on an
    anchor's line, or within a row pitch under it, is that anchor's)."""
    lone = [w for w in _anchors(body, columns, anchor, is_second)
            if anchors[0].top < w.top and _middle(w) < end - height / 2
            and not any(a.top - height / 2 <= w.top <= a.top + pitch for a in anchors)]
    return sorted(anchors + lone, key=lambda w: w.top)


def _column_of(word: Word, columns: list[Column]) -> Column | None:
    return next((c for c in columns if c.holds(word)), None)


def _middle(item: Word | Line) -> float:
    _, top, _, bottom = item.bbox
    return (top + bottom) / 2


def _footer_top(body: list[Word], after: float) -> float | None:
    tops = [line.bbox[1] for line in lines_of([w for w in body if w.top > after])
            if any(k in line.text.replace(" ", "") for k in FOOTER_WORDS)]
    return min(tops) if tops else None
