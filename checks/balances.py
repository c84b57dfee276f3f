"""Running-balance arithmetic over a statement's transactions, in whichever order the bank prints them."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation


def _d(value: str | None) -> Decimal:
    return Decimal(value) if value else Decimal(0)


def amount(value) -> Decimal | None:
    """An amount as extraction writes it ('1234.50'); None when absent or not a number."""
    try:
        return Decimal(str(value)) if value not in (None, "") else None
    except InvalidOperation:
        return None


def breaks(ordered: list[dict], ocr_pages: frozenset[int] = frozenset()) -> list[tuple[int, Decimal]]:
    """(position, the balance the rows before give) of each row, in time order, whose printed balance does not
    follow. A row without a printed balance (banks that print it once a day) carries the running figure on to
    the next printed one, which must then match.

    On `ocr_pages` a row read without any amount says nothing about the chain (its figure, or a neighbour
    merged into it, was not read): the walk starts again from its balance, or from the next printed one. In a
    text layer the same row is evidence (an amount covered and retyped reads as two figures, hence none)."""
    out = []
    running = None
    for i, row in enumerate(ordered):
        credit, debit, balance = (amount(row.get(k)) for k in ("credit", "debit", "balance"))
        if credit is None and debit is None and row.get("page") in ocr_pages:
            running = balance
            continue
        if running is not None:
            running += (credit or 0) - (debit or 0)
            if balance is not None and balance != running:
                out.append((i, running))
        if balance is not None:
            running = balance
    return out


def newest_first(transactions: list[dict]) -> bool:
    dates = [t["date"] for t in transactions if t.get("date")]
    return len(dates) > 1 and dates[0] > dates[-1]


def reconciles(previous: dict, row: dict) -> bool:
    """previous balance + credit − debit = balance, to the cent (rows in time order)."""
    if previous.get("balance") is None or row.get("balance") is None:
        return False
    return _d(previous["balance"]) + _d(row.get("credit")) - _d(row.get("debit")) == _d(row["balance"])


def broken_rows(transactions: list[dict]) -> list[int]:
    """Indexes (in printed order) of rows whose balance does not follow from the row before them in time.

    One misread amount breaks one step; one misread balance breaks the step into its row and out of it.
    """
    order = list(range(len(transactions)))
    if newest_first(transactions):
        order.reverse()
    return sorted(order[k] for k in range(1, len(order))
                  if not reconciles(transactions[order[k - 1]], transactions[order[k]]))
