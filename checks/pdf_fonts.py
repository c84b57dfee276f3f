"""Font and layout consistency of a PDF's text layer.

A forger who retypes an amount, a name or a date in a PDF editor rarely reproduces the issuer's typesetting:
the new text comes in the editor's font or in a second embedding of the old one, at a slightly different size,
with its baseline or right edge off by a point, with other character spacing. An issuer's engine sets every
cell of a column and every word of a row the same way, so we compare like with like: the cells of one amount
column, the words of one table row in the same font and size, the digits of one number, the numbers of a page
at one size. Titles, labels and footers that legitimately use other fonts and sizes never meet these peers.

Entry point: `check(doc) -> list[Finding]`.
"""
from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache, cached_property

from checks.catalog import finding
from checks.model import Document, Finding, Line, Page, Word

NAME = "pdf_fonts"

# Words closer than this (in ems) read as one string: pdfplumber splits words wherever the font changes.
JOIN_GAP = 0.2
# Right edges within ALIGN_TOL (pt) make one right-aligned column; a cell ALIGN_OFF or more away is off it.
ALIGN_TOL = 0.3
ALIGN_OFF = 0.8
# Issuers' engines agree on baselines to a few hundredths of a point; hand-placed text lands a fraction of a
# point or more away. Beyond a third of the size the offset is layout (a second line, a superscript).
BASELINE_OFF = 0.4
BASELINE_MAX = 1 / 3
# Sizes: beyond a third apart it is hierarchy (a superscript, a larger total), not a retyped word.
SIZE_OFF = 0.25
SIZE_MAX = 1 / 3
SPACING_OFF = 0.25  # median shift of the character advances of one amount, pt
MIN_PEERS = 3  # peers that must agree before an odd one out is worth reporting
MAJORITY = 2 / 3
# A second embedding of a page's font is an edit when it carries few of the font's characters.
SECOND_FONT_SHARE = 1 / 4
# A page's usual font for numbers is known once this many digits at one size agree.
PAGE_DIGITS = 12

_TAG = re.compile(r"^([A-Z]{6})\+")
_AMOUNT = re.compile(r"[+\-−]?[¥￥]?(\d{1,3}(,\d{3})+|\d+)\.\d{2}(?![\d.,])")
_NUMBER_CHARS = set("0123456789,.:/-")
# A totals row is often set in bold, inside its amount columns or after a label.
_TOTALS = ("合计", "总计", "小计", "累计", "total", "Total", "TOTAL")


def applies(doc: Document) -> bool:
    return doc.format == "pdf" and any(_typeset(p) for p in doc.pages)


def check(doc: Document) -> list[Finding]:
    return [f for page in doc.pages if _typeset(page) for f in _Page(page).findings()]


def _typeset(page: Page) -> bool:
    """A page whose words come from its text layer: OCR words carry no fonts."""
    return not page.scanned and not page.ocr


@cache  # a page has a handful of fonts and thousands of characters
def face(font: str) -> str:
    """The typeface a font name stands for, whatever the writer's spelling: without the subset tag, case,
    spaces and hyphens ('MPDFAA+ARPLUMingCNLight' and 'AR PL UMing CN Light' are one face)."""
    return re.sub(r"[^0-9a-z]", "", _TAG.sub("", font).lower())


def tag(font: str) -> str:
    """The subset tag ('ABCDEF' of 'ABCDEF+SimSun'), empty for a font embedded whole or not at all."""
    m = _TAG.match(font)
    return m[1] if m else ""


@dataclass(eq=False)
class _Token:
    """Characters that read as one string on a line (a cell, a field value), whatever fonts they use."""

    chars: tuple[Word, ...]
    line: int

    @cached_property
    def text(self) -> str:
        return "".join(c.text for c in self.chars)

    @cached_property
    def bbox(self) -> tuple[float, float, float, float]:
        return _box(self.chars)

    @cached_property
    def font(self) -> str:
        """The font of most of its digits, else of most of its characters."""
        return _majority([c.font for c in self._measured])[0]

    @cached_property
    def size(self) -> float:
        return _majority([round(c.size, 2) for c in self._measured])[0]

    @property
    def _measured(self) -> list[Word]:
        return [c for c in self.chars if c.text.isdigit()] or list(self.chars)


@dataclass
class _Column:
    right: float  # the right edge its aligned cells share
    members: list[_Token]  # aligned cells and the amounts inside it off its edge


class _Page:
    def __init__(self, page: Page):
        self.page = page
        self.by_line = [_tokens(line, i) for i, line in enumerate(page.lines)]
        self.tokens = [t for tokens in self.by_line for t in tokens]
        self.totals = {i for i, line in enumerate(page.lines) if any(k in line.text for k in _TOTALS)}
        drops = defaultdict(list)
        for c in (c for t in self.tokens for c in t.chars):
            drops[c.font, round(c.size, 2)].append(c.bottom - c.baseline)
        self.drop = {key: statistics.median(v) for key, v in drops.items()}
        self.faces = Counter(face(c.font) for t in self.tokens for c in t.chars)
        self.out: list[Finding] = []
        self.seen: set[tuple[str, int]] = set()  # (code, token): one finding per anomaly

    def findings(self) -> list[Finding]:
        columns = self._columns()
        for column in columns:
            self._column_font(column)
            self._column_size(column)
            self._column_alignment(column)
            self._column_spacing(column)
        cells = [t for c in columns for t in c.members]
        self._second_embeddings({id(c) for t in cells for c in t.chars})
        usual = self._page_digit_fonts()
        for token in self.tokens:
            for run in _numbers(token.chars):
                self._number(token, run, usual)
            self._retyped_words(token)
        for line in sorted({t.line for t in cells}):
            self._row(self.by_line[line])
        return self.out

    def _baseline(self, chars) -> float:
        """Where the reader sees the characters' baseline. Word.baseline comes from the text matrix and misses
        text rise (Ts), which editors also use to nudge text; the glyph box's bottom moves with it, and lies a
        fixed distance below the baseline for one font and size, learnt from the page."""
        return statistics.median(c.bottom - self.drop[c.font, round(c.size, 2)] for c in chars)

    def _add(self, code: str, token: _Token, chars=None, severity: str | None = None, text: str | None = None,
             **evidence) -> None:
        if (code, id(token)) in self.seen:
            return
        self.seen.add((code, id(token)))
        text = text or ("".join(c.text for c in chars) if chars else token.text)
        self.out.append(finding(code, page=self.page.number, bbox=_box(chars or token.chars), units="pt",
                                severity=severity, text=text, **evidence))

    # --- amount columns ---------------------------------------------------------------------------

    def _columns(self) -> list[_Column]:
        """Right-aligned amount columns: at least MIN_PEERS amounts sharing a right edge, plus the amounts that
        overlap a column inside the table body (from the first to the last aligned amount of the page, give or
        take a row) but miss its edge."""
        amounts = [a for t in self.tokens if t.line not in self.totals and (a := _amount(t))]
        groups: list[list[_Token]] = []
        for t in sorted(amounts, key=lambda t: t.bbox[2]):
            if groups and t.bbox[2] - groups[-1][-1].bbox[2] <= ALIGN_TOL:
                groups[-1].append(t)
            else:
                groups.append([t])
        aligned = [g for g in groups if len(g) >= MIN_PEERS]
        if not aligned:
            return []
        tops = sorted({round(t.bbox[1], 1) for g in aligned for t in g})
        row = min((b - a for a, b in zip(tops, tops[1:])), default=0.0)
        placed = {id(t) for g in aligned for t in g}
        body = [t for t in amounts if id(t) not in placed and tops[0] - row <= t.bbox[1] <= tops[-1] + row]
        columns = []
        for group in aligned:
            left, right = min(t.bbox[0] for t in group), statistics.median(t.bbox[2] for t in group)
            strays = [t for t in body if min(t.bbox[2], right) - max(t.bbox[0], left) > (t.bbox[2] - t.bbox[0]) / 2]
            columns.append(_Column(right, group + strays))
        return columns

    def _column_font(self, column: _Column) -> None:
        usual, count = _majority([face(t.font) for t in column.members])
        if count < max(MIN_PEERS, MAJORITY * len(column.members)):
            return
        peer_font = next(t.font for t in column.members if face(t.font) == usual)
        for t in column.members:
            if face(t.font) != usual:
                self._add("PDF_FONT_MISMATCH", t, font=t.font, peer_font=peer_font, peers=count,
                          scope="amounts of its column")

    def _column_size(self, column: _Column) -> None:
        usual, count = _majority([t.size for t in column.members])
        if count < max(MIN_PEERS, MAJORITY * len(column.members)):
            return
        for t in column.members:
            if _resized(t.size, usual):
                self._add("PDF_SIZE_MISMATCH", t, size=t.size, peer_size=usual, peers=count,
                          scope="amounts of its column")

    def _column_alignment(self, column: _Column) -> None:
        peers = sum(1 for t in column.members if abs(t.bbox[2] - column.right) <= ALIGN_TOL)
        for t in column.members:
            offset = t.bbox[2] - column.right
            if abs(offset) >= ALIGN_OFF:
                self._add("PDF_ALIGNMENT_BROKEN", t, offset=round(offset, 2), right=round(t.bbox[2], 2),
                          peer_right=round(column.right, 2), peers=peers)

    def _column_spacing(self, column: _Column) -> None:
        """Each character's advance to the next against the same character's usual advance in the column's
        amounts of the same font and size: character spacing (Tc) and horizontal scaling (Tz) shift them all."""
        for (_, size), cells in _grouped(column.members, lambda t: (face(t.font), t.size)).items():
            if len(cells) <= MIN_PEERS:
                continue
            advances = defaultdict(list)
            for t in cells:
                for c, nxt in zip(t.chars, t.chars[1:]):
                    advances[c.text].append(nxt.x0 - c.x0)
            usual = {ch: statistics.median(v) for ch, v in advances.items()}
            for t in cells:
                shifts = [nxt.x0 - c.x0 - usual[c.text] for c, nxt in zip(t.chars, t.chars[1:])]
                if shifts and abs(statistics.median(shifts)) >= SPACING_OFF:
                    self._add("PDF_SPACING_MISMATCH", t, offset=round(statistics.median(shifts), 2), font=t.font,
                              size=size, peers=len(cells) - 1, scope="amounts of its column")

    # --- second embeddings of a font --------------------------------------------------------------

    def _second_embeddings(self, in_cells: set[int]) -> None:
        """A face embedded twice on a page, the second copy carrying few characters: the characters an editor
        typed. It shows as a second subset repeating characters the first already has, or as the face embedded
        whole (or not at all) beside the issuer's subset. Engines that split a large font into several subsets,
        as reportlab does past 256 glyphs, tag each one and put every glyph in one subset only."""
        by_face: dict[str, Counter] = defaultdict(Counter)
        texts: dict[str, set[str]] = defaultdict(set)
        for c in (c for t in self.tokens for c in t.chars):
            by_face[face(c.font)][c.font] += 1
            texts[c.font].add(c.text)
        for fonts in by_face.values():
            (main, count), *others = fonts.most_common()
            for other, n in others:
                shared = texts[other] & texts[main]
                if n > SECOND_FONT_SHARE * sum(fonts.values()) or not (
                        2 * len(shared) >= len(texts[other]) or bool(tag(other)) != bool(tag(main))):
                    continue
                for tokens in self.by_line:
                    odd = {t: [c for c in t.chars if c.font == other] for t in tokens}
                    odd = {t: chars for t, chars in odd.items() if chars}
                    if not odd:
                        continue
                    # Inside an amount column or on a line the issuer's copy also sets, it retypes the issuer's
                    # text; alone on its line it may be a stamp or footer added by a second program.
                    edit = any(id(c) in in_cells for cs in odd.values() for c in cs) or any(
                        c.font == main for t in tokens for c in t.chars)
                    self._add("PDF_FONT_SUBSET_MIXED", next(iter(odd)), chars=[c for cs in odd.values() for c in cs],
                              severity=None if edit else "medium",
                              text=" ".join("".join(c.text for c in cs) for cs in odd.values()),
                              font=other, peer_font=main, peers=count, scope="characters of the page",
                              shared="".join(sorted(shared))[:40])

    # --- numbers ----------------------------------------------------------------------------------

    def _page_digit_fonts(self) -> dict[float, str]:
        """Per size, the face that sets the page's digits, where one face clearly does."""
        faces: dict[float, Counter] = defaultdict(Counter)
        for t in self.tokens:
            for c in t.chars:
                if c.text.isdigit():
                    faces[round(c.size, 1)][face(c.font)] += 1
        out = {}
        for size, counts in faces.items():
            usual, n = counts.most_common(1)[0]
            if n >= PAGE_DIGITS and n >= (1 - SECOND_FONT_SHARE) * sum(counts.values()):
                out[size] = usual
        return out

    def _number(self, token: _Token, run: list[Word], page_fonts: dict[float, str]) -> None:
        """The digits of one number (amount, date, account) come from one font, size and baseline, and from
        the face that sets the page's other numbers at that size."""
        digits = [c for c in run if c.text.isdigit()]
        usual, count = _majority([c.font for c in digits])
        odd = [c for c in digits if c.font != usual]
        if odd and count >= MIN_PEERS:
            code = "PDF_FONT_SUBSET_MIXED" if face(odd[0].font) == face(usual) else "PDF_FONT_MISMATCH"
            self._add(code, token, chars=odd, font=odd[0].font, peer_font=usual, peers=count,
                      scope="digits of the same number")
            return
        expected = page_fonts.get(round(digits[0].size, 1))
        # Only on a line the page's usual face also sets (a footer or stamp in its own font stands alone), and
        # not the bold or italic of that face (emphasis). Medium: a code printed in a face of its own (an OCR-B
        # verification number after its label) looks the same.
        if expected and _family(face(usual)) != _family(expected) and token.line not in self.totals and any(
                face(c.font) == expected for t in self.by_line[token.line] for c in t.chars):
            peer_font = next(c.font for t in self.tokens for c in t.chars if face(c.font) == expected)
            self._add("PDF_FONT_MISMATCH", token, chars=run, severity="medium", font=usual, peer_font=peer_font,
                      peers=sum(face(c.font) == expected for t in self.tokens for c in t.chars if c.text.isdigit()),
                      scope="digits of the page at this size")
        size, count = _majority([round(c.size, 2) for c in digits])
        odd = [c for c in digits if _resized(c.size, size)]
        if odd and count >= MIN_PEERS:
            self._add("PDF_SIZE_MISMATCH", token, chars=odd, size=round(odd[0].size, 2), peer_size=size,
                      peers=count, scope="digits of the same number")
        base = self._baseline(digits)
        odd = [c for c in digits if BASELINE_OFF <= abs(self._baseline([c]) - base) <= BASELINE_MAX * c.size]
        if odd:
            shifted = self._baseline(odd[:1])
            self._add("PDF_BASELINE_SHIFT", token, chars=odd, offset=round(shifted - base, 2),
                      baseline=round(shifted, 2), peer_baseline=round(base, 2),
                      peers=len(digits) - len(odd), scope="digits of the same number")

    # --- words inside a string ------------------------------------------------------------------

    def _retyped_words(self, token: _Token) -> None:
        """Chinese characters in one face, with characters of another face right before and after them in the
        same string ('兹证明[许英瑶]（身份证号'): a name or word retyped inside the issuer's sentence or field. A
        font lacking a rare character falls back for that one character only, and a bold label ends at its
        colon, so only runs of two or more characters count, and no colon may stand between."""
        han = [(i, c) for i, c in enumerate(token.chars) if _is_han(c.text)]
        faces = [face(c.font) for _, c in han]
        start = 0
        for end in range(1, len(han) + 1):
            if end < len(han) and faces[end] == faces[start]:
                continue
            before, after = start - 1, end
            if (end - start >= 2 and before >= 0 and after < len(han) and faces[before] == faces[after] != faces[start]
                    and not _colon(token.chars[han[before][0]:han[start][0]])
                    and not _colon(token.chars[han[end - 1][0]:han[after][0]])):
                run = [c for _, c in han[start:end]]
                # A face set nowhere else on the page is the editor's; one also used for the title or the labels
                # may be the issuer's emphasis.
                only_here = self.faces[faces[start]] == end - start
                self._add("PDF_FONT_MISMATCH", token, chars=run, severity=None if only_here else "medium",
                          font=run[0].font, peer_font=han[before][1].font,
                          peers=sum(f == faces[before] for f in faces), scope="Chinese characters of its string")
            start = end

    # --- table rows -------------------------------------------------------------------------------

    def _row(self, tokens: list[_Token]) -> None:
        """Words of one table row at the same size stand on one baseline. Only table rows: elsewhere (filled-in
        forms, diagrams, OCR text layers) the words of a line are placed one by one."""
        for size, same in _grouped(tokens, lambda t: t.size).items():
            if len(same) < MIN_PEERS:
                continue
            seen = {id(t): self._baseline(t.chars) for t in same}
            for t in same:
                others = [seen[id(u)] for u in same if u is not t]
                if max(others) - min(others) > ALIGN_TOL:  # the peers disagree: nothing to measure by
                    continue
                base = statistics.median(others)
                offset = seen[id(t)] - base
                if BASELINE_OFF <= abs(offset) <= BASELINE_MAX * size:
                    self._add("PDF_BASELINE_SHIFT", t, offset=round(offset, 2), baseline=round(seen[id(t)], 2),
                              peer_baseline=round(base, 2), peers=len(others), scope="words of its table row")


def _tokens(line: Line, index: int) -> list[_Token]:
    out: list[list[Word]] = []
    for w in line.words:
        if not w.chars:
            continue
        last = out[-1][-1] if out else None
        # A word drawn over another (an overlay) starts left of where the previous one ends: a string of its own.
        if last and -0.5 <= w.x0 - last.x1 <= JOIN_GAP * w.size and abs(w.bottom - last.bottom) < w.size / 2:
            out[-1].extend(w.chars)
        else:
            out.append(list(w.chars))
    return [_Token(tuple(chars), index) for chars in out]


def _amount(token: _Token) -> _Token | None:
    """The token if it is an amount, or the amount it starts with: an amount retyped longer than the old one
    can run into the next cell, and pdfplumber then reads both as one word."""
    m = _AMOUNT.match(token.text)
    if not m or len(token.text) != len(token.chars):  # ligatures and unmapped glyphs: no char per letter
        return None
    return token if m.end() == len(token.text) else _Token(token.chars[:m.end()], token.line)


def _numbers(chars: tuple[Word, ...]) -> list[list[Word]]:
    """Runs of digits and number punctuation holding more than MIN_PEERS digits: amounts, dates, accounts."""
    runs: list[list[Word]] = [[]]
    for c in chars:
        if c.text in _NUMBER_CHARS:
            runs[-1].append(c)
        elif runs[-1]:
            runs.append([])
    return [r for r in runs if sum(c.text.isdigit() for c in r) > MIN_PEERS]


_STYLES = re.compile(r"(bold|italic|oblique|black|heavy|semibold|demibold|medium|light|regular)")


def _family(face_: str) -> str:
    """A face without its weight and style: 'arialboldmt' → 'arialmt'."""
    return _STYLES.sub("", face_)


def _is_han(text: str) -> bool:
    return len(text) == 1 and ("\u4e00" <= text <= "\u9fff" or "\u3400" <= text <= "\u4dbf")


def _colon(chars) -> bool:
    return any(c.text in ":：" for c in chars)


def _box(chars) -> tuple[float, float, float, float]:
    return (min(c.x0 for c in chars), min(c.top for c in chars), max(c.x1 for c in chars),
            max(c.bottom for c in chars))


def _majority(values: list) -> tuple:
    """The most common value and how many have it."""
    return Counter(values).most_common(1)[0]


def _resized(size: float, usual: float) -> bool:
    return SIZE_OFF <= abs(size - usual) <= SIZE_MAX * usual


def _grouped(tokens, key) -> dict:
    out = defaultdict(list)
    for t in tokens:
        out[key(t)].append(t)
    return out
