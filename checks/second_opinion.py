"""Re-read the amount cells at each broken step of an OCR'd statement's running balance; take a re-reading only
where it makes the balance add up.

A misread digit, a lost minus sign or decimal point, or an amount the page's reading missed breaks the balance
arithmetic; a forged amount breaks it too. So nothing is guessed: the cells of a broken step (the earlier row's
balance, the later row's amounts and balance; a cell OCR found nothing in is looked for under its column) are
read again from the page, each on its own, by the engine that read the page and by the other one. A combination
of those readings is taken only if the broken step then reconciles and more steps around it add up than before.
A forgery stays broken: no engine sees other figures on the page.
"""
from __future__ import annotations

import functools
import itertools
import statistics
from decimal import Decimal
from typing import NamedTuple

import cv2
import numpy as np

from checks import ocr, reading, render
from checks.balances import newest_first, reconciles
from checks.model import Document
from checks.normalize import parse_amount, parse_date

AMOUNT_CELLS = ("credit", "debit", "amount", "balance")
# Engines are tuned for text some 20–40 px high: a cell's text is enlarged to this height before it is read again
# (a faint minus sign in a photo is read at this size, not at the page's).
TEXT_PX = 40


class Reading(NamedTuple):
    """Another value an engine read in a cell: the row's position in time order, the cell, and the fields the
    value sets (a signed amount sets the credit and the debit)."""
    position: int
    role: str
    box: list[float]
    fields: dict
    engine: str


def other_engine(engine: str) -> str:
    return {"rapidocr": "tesseract", "tesseract": "rapidocr"}[engine]


def recheck(doc: Document, transactions: list[dict], engine: str) -> list[int]:
    """Mend rows in place where re-readings make broken steps reconcile; returns the indexes of the rows changed.
    A changed row names the engine whose reading was taken in `second_opinion`."""
    order = list(range(len(transactions)))
    if newest_first(transactions):
        order.reverse()
    chain = [transactions[i] for i in order]
    if all(reconciles(a, b) for a, b in zip(chain, chain[1:])):
        return []
    readers = _readers(engine)
    columns = _columns(transactions)

    @functools.cache
    def readings(position: int, role: str) -> list[Reading]:
        """The other values the engines read in one cell of the row at `position` (in time order)."""
        row = chain[position]
        box = row["cells"].get(role) or _expected_box(row, role, columns)
        found: dict[tuple, str] = {}
        for reader in readers if box else ():
            for value in _read_cell(doc, row["page"], box, reader):
                fields = _fields(role, value)
                if any(row.get(k) != v for k, v in fields.items()):
                    found.setdefault(tuple(fields.items()), reader.name)
        return [Reading(position, role, box, dict(fields), name) for fields, name in found.items()]

    changed = set()
    for k in range(1, len(chain)):
        if reconciles(chain[k - 1], chain[k]):
            continue  # an earlier mend may have mended this step too
        options = [readings(k - 1, "balance")] + [readings(k, role) for role in AMOUNT_CELLS]
        before = _reconciled(chain, k)
        best = None
        for combo in itertools.product(*[[None, *opts] for opts in options if opts]):
            taken = [c for c in combo if c]
            trial = _with(chain, taken)
            if taken and reconciles(trial[k - 1], trial[k]) and _reconciled(trial, k) > before:
                score = (_reconciled(trial, k), -len(taken))
                if best is None or score > best[0]:
                    best = (score, taken)
        if best:
            for r in best[1]:
                chain[r.position].update(r.fields, second_opinion=r.engine)
                chain[r.position]["cells"][r.role] = r.box
                changed.add(order[r.position])
    return sorted(changed)


def redate(doc: Document, transactions: list[dict], engine: str) -> list[int]:
    """Read the date of each row found by its time alone (OCR did not see its date: a watermark's strokes across
    it, see checks.table.rows) from the line above the time, by both engines; a date is taken only where it
    keeps the printed order of the dates around it. Returns the indexes of the rows dated."""
    dated = [t for t in transactions if t["date"] and "date" in t["cells"]]
    # Rows with a time but no date; the engines are looked up (a subprocess for Tesseract) only when there are any.
    undated = [i for i, t in enumerate(transactions) if not t["date"] and t["time"] and "date" in t["cells"]]
    if not dated or not undated:
        return []
    # A date cell reaches this far above its time's bottom, and spans the column this wide.
    height = statistics.median(t["cells"]["date"][3] - t["cells"]["date"][1] for t in dated)
    left, right = min(t["cells"]["date"][0] for t in dated), max(t["cells"]["date"][2] for t in dated)
    newest = newest_first(transactions)
    readers = _readers(engine)
    changed = []
    for i in undated:
        row = transactions[i]
        _, top, _, bottom = row["cells"]["date"]
        if top - (bottom - height) < height / 3:
            continue  # the cell holds more than the time: its date was misread, not missed
        before = next((t["date"] for t in reversed(transactions[:i]) if t["date"]), None)
        after = next((t["date"] for t in transactions[i + 1:] if t["date"]), None)
        box = [left, bottom - height, right, top]
        for reader in readers:
            fits = [d for d in _read_cell(doc, row["page"], box, reader, _day)
                    if (seq := [x for x in (before, d, after) if x]) == sorted(seq, reverse=newest)]
            if fits:
                row.update(date=fits[0], second_opinion=reader.name)
                row["cells"]["date"] = [left, box[1], right, bottom]
                changed.append(i)
                break
    return changed


def _readers(engine: str) -> list:
    """The page's engine, then the other one when it is installed."""
    ready = ocr.available()
    return [ocr.engine(name) for name in (engine, other_engine(engine)) if ready[name] == ocr.READY]


def _day(text: str) -> str | None:
    parsed = parse_date(text)
    return parsed[0].isoformat() if parsed else None


def _columns(transactions: list[dict]) -> dict[tuple[int, str], tuple[float, float]]:
    """Where each amount column lies on each page: (page, role) → the x-range its cells span."""
    spans: dict[tuple[int, str], tuple[float, float]] = {}
    for t in transactions:
        for role in AMOUNT_CELLS:
            if role in t["cells"]:
                x0, _, x1, _ = t["cells"][role]
                a, b = spans.get((t["page"], role), (x0, x1))
                spans[t["page"], role] = (min(a, x0), max(b, x1))
    return spans


def _expected_box(row: dict, role: str, columns) -> list[float] | None:
    """Where a cell OCR found nothing in ought to be: under its column, on the line of the row's other amounts.
    Asked only of a balance, or of an amount when the row has none at all: a row moves money, but only one way."""
    span = columns.get((row["page"], role))
    moved = any(r in row["cells"] for r in AMOUNT_CELLS if r != "balance")
    line = next((row["cells"][r] for r in AMOUNT_CELLS if r in row["cells"]), None)
    if span is None or line is None or (role != "balance" and moved):
        return None
    return [span[0], line[1], span[1], line[3]]


def _fields(role: str, value: Decimal) -> dict:
    """A cell's value as the transaction's fields: a signed amount is a credit or a debit by its sign."""
    if role == "amount":
        return {"credit": _money(value), "debit": None} if value >= 0 else {"credit": None, "debit": _money(-value)}
    return {role: _money(abs(value) if role in ("credit", "debit") else value)}


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _with(chain: list[dict], taken: list[Reading]) -> list[dict]:
    trial = list(chain)
    for r in taken:
        trial[r.position] = {**trial[r.position], **r.fields}
    return trial


def _reconciled(chain: list[dict], k: int) -> int:
    """How many of the steps into, at and out of step k add up."""
    return sum(reconciles(chain[j - 1], chain[j]) for j in (k - 1, k, k + 1) if 1 <= j < len(chain))


def _read_cell(doc: Document, page_number: int, box: list[float], reader, parse=parse_amount) -> list:
    """The values `parse` (amounts by default) finds in what `reader` sees in one cell of the page (`box` in the
    reading frame). The cell is cut out with a margin (engines find no text in a crop that hugs it) and enlarged,
    and read three times: as it is, contrast-stretched (a faint minus sign in a photo shows, but so does a
    watermark across a scan), and with everything paler than halfway from ink to paper whitened (a watermark's
    pale strokes through the digits, which turn a 6 into an 8 or a figure into two). Only words centred in the
    cell itself count, not those of the rows above and below that the margin takes in."""
    page = doc.pages[page_number - 1]
    image = render.raster(doc, page_number)
    per_px = render.scale(doc)
    x0, top, x1, bottom = (v / per_px for v in reading.delivered_box(page, box))
    pad = 0.6 * (bottom - top)
    left, up = max(0, int(x0 - pad)), max(0, int(top - pad))
    crop = image[up:int(bottom + pad), left:int(x1 + pad)]
    if crop.size == 0:
        return []
    factor = max(1.0, TEXT_PX / max(bottom - top, 1))
    crop = cv2.resize(crop, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    low, high = np.percentile(crop, (1, 99))
    stretched = np.clip((crop.astype(np.float32) - low) * (255 / max(high - low, 1)), 0, 255).astype(np.uint8)
    ink = np.where(crop < (low + high) / 2, crop, 255).astype(np.uint8)
    found = []
    for view in (crop, stretched, ink):
        words = sorted((w for line in reader.read(view) for w in line.words
                        if x0 <= left + (w.x0 + w.x1) / 2 / factor <= x1
                        and top <= up + (w.top + w.bottom) / 2 / factor <= bottom), key=lambda w: w.x0)
        value = parse("".join(w.text for w in words))
        if value is not None and value not in found:
            found.append(value)
    return found
