"""Re-read the amount cells of OCR'd statement rows whose running balance does not add up, with the other engine.

A misread digit breaks the balance arithmetic; a forged amount breaks it too. Only a re-reading that makes
the row reconcile is taken, so a forgery is never "repaired" into consistency by guessing: the second engine
must see different digits on the page.
"""
from __future__ import annotations

import numpy as np

from checks import ocr, render
from checks.balances import broken_rows, newest_first, reconciles
from checks.model import Document
from checks.normalize import parse_amount

AMOUNT_CELLS = ("credit", "debit", "balance")


def other_engine(engine: str) -> str:
    return {"rapidocr": "tesseract", "tesseract": "rapidocr"}[engine]


def recheck(doc: Document, transactions: list[dict], engine: str) -> list[int]:
    """Fix rows in place where the other engine's reading reconciles them; returns the fixed row indexes."""
    broken = broken_rows(transactions)
    if not broken:
        return []
    reader = ocr.engine(other_engine(engine))
    order = list(range(len(transactions)))
    if newest_first(transactions):
        order.reverse()
    before = {order[k]: order[k - 1] for k in range(1, len(order))}
    fixed = []
    for i in broken:
        row, prev = transactions[i], transactions[before[i]]
        reread = {role: _read_cell(doc, row, role, reader) for role in AMOUNT_CELLS if role in row["cells"]}
        candidate = {**row, **{role: value for role, value in reread.items() if value is not None}}
        if candidate != row and reconciles(prev, candidate):
            row.update(candidate)
            row["second_opinion"] = other_engine(engine)
            fixed.append(i)
    return fixed


def _read_cell(doc: Document, row: dict, role: str, reader) -> str | None:
    page = doc.pages[row["page"] - 1]
    image = render.raster(doc, page.number)
    per_px = render.scale(doc)
    x0, top, x1, bottom = (v / per_px for v in row["cells"][role])
    pad = (bottom - top) * 0.6
    crop = image[max(0, int(top - pad)):int(bottom + pad), max(0, int(x0 - pad)):int(x1 + pad)]
    if crop.size == 0:
        return None
    # Engines are tuned for text some 20–40 px high; small cells are enlarged before reading.
    factor = max(1, int(np.ceil(32 / max(bottom - top, 1))))
    if factor > 1:
        crop = np.kron(crop, np.ones((factor, factor), dtype=crop.dtype))
    text = "".join(w.text for line in reader.read(crop) for w in line.words)
    value = parse_amount(text)
    return None if value is None else f"{abs(value):.2f}"
