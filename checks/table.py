"""Read ruled or unruled tables from positioned words: a header row names the columns, anchor cells start rows.

Works the same on text-layer words (PDF points) and OCR words (pixels): only relative positions matter.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from rapidfuzz import fuzz

from checks.model import Line, Word
from checks.normalize import nfkc

# Lines whose text marks the end of a table body: totals, page numbers, notes.
FOOTER_WORDS = ("合计", "总计", "统计", "页", "说明", "备注：", "注：", "温馨提示")


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
class Column:
    role: str
    left: float
    right: float
    header: Word


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
        columns = []
        for k, w in enumerate(tokens):
            role = _column_name(w.text, names) or f"other:{nfkc(w.text)}"
            left = 0.0 if k == 0 else (tokens[k - 1].x1 + w.x0) / 2
            right = float("inf") if k == len(tokens) - 1 else (w.x1 + tokens[k + 1].x0) / 2
            columns.append(Column(role, left, right, w))
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
    headers cuts through cells, the blank strip between the columns' contents does not.
    """
    out = list(columns)
    for k in range(len(out) - 1):
        lo, hi = out[k].header.x1, out[k + 1].header.x0
        covered = sorted((max(w.x0, lo), min(w.x1, hi)) for w in body if w.x0 < hi and w.x1 > lo)
        best, cursor = None, lo
        for a, b in covered + [(hi, hi)]:
            if a > cursor and (best is None or a - cursor > best[1] - best[0]):
                best = (cursor, a)
            cursor = max(cursor, b)
        if best:
            edge = (best[0] + best[1]) / 2
            out[k] = Column(out[k].role, out[k].left, edge, out[k].header)
            out[k + 1] = Column(out[k + 1].role, edge, out[k + 1].right, out[k + 1].header)
    return out


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


def rows(words: list[Word], columns: list[Column], below: float, anchor: str, is_anchor, page: int) -> list[Row]:
    """Rows of the table under `below`: each starts at a word of the `anchor` column that `is_anchor` accepts
    and takes every word down to the next anchor, so wrapped cells and second lines (times) stay in their row."""
    body = [w for w in words if (w.top + w.bottom) / 2 > below]
    anchors = _anchors(body, columns, anchor, is_anchor)
    if not anchors:
        return []
    height = statistics.median(w.bottom - w.top for w in anchors)
    pitch = statistics.median(b.top - a.top for a, b in zip(anchors, anchors[1:])) if len(anchors) > 1 else 3 * height
    # The last row ends at the footer, and in any case within a row and a half of its start.
    end = min(_footer_top(body, anchors[-1].top) or float("inf"), anchors[-1].top + 1.5 * pitch)
    columns = refine(columns, [w for w in body if anchors[0].top - height <= w.top < end])
    anchors = _anchors(body, columns, anchor, is_anchor) or anchors
    # A centred cell can sit half a line above its row's first line: start each band a little higher.
    starts = [a.top - height / 2 for a in anchors] + [end - height / 2]
    out = [Row(page) for _ in anchors]
    for w in body:
        col = _column_of(w, columns)
        if col is None or not starts[0] <= (w.top + w.bottom) / 2 < starts[-1]:
            continue
        if col.role == anchor:
            # Under its anchor, a second line (the time under a date) belongs to the row it starts.
            i = max(k for k, a in enumerate(anchors) if a.top <= w.top + height / 4) if w.top >= anchors[0].top - \
                height / 4 else 0
        else:
            mid = (w.top + w.bottom) / 2
            i = max(k for k in range(len(anchors)) if starts[k] <= mid)
        out[i].cells.setdefault(col.role, []).append(w)
    return out


def _anchors(body: list[Word], columns: list[Column], anchor: str, is_anchor) -> list[Word]:
    anchor_col = next((c for c in columns if c.role == anchor), None)
    if anchor_col is None:
        return []
    return sorted((w for w in body if _column_of(w, columns) is anchor_col and is_anchor(w.text)),
                  key=lambda w: w.top)


def _column_of(word: Word, columns: list[Column]) -> Column | None:
    mid = (word.x0 + word.x1) / 2
    return next((c for c in columns if c.left <= mid < c.right), None)


def _footer_top(body: list[Word], after: float) -> float | None:
    tops = [line.bbox[1] for line in lines_of([w for w in body if w.top > after])
            if any(k in line.text.replace(" ", "") for k in FOOTER_WORDS)]
    return min(tops) if tops else None
