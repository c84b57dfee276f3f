"""Statement arithmetic: every row's balance follows from the one before, stated totals match the rows, dates run
in order inside the statement period.

Entry point: `check(doc) -> list[Finding]`, over the transactions and fields extraction put on `doc.extracted`.

A forger who raises one amount and saves the file whole leaves no trace in the file's structure; what remains is
the bank's own arithmetic, which the edit breaks unless every later balance and total is repaired too. On a text
PDF the numbers are the issuer's, exactly: a broken row is an edit or a bank error, and banks do not make those.
On an OCR'd page a broken row can still be a misread that the second opinion could not settle, so it asks for
review only.
"""
from __future__ import annotations

from decimal import Decimal

from checks.balances import amount, breaks, newest_first
from checks.catalog import finding
from checks.model import Document, Finding

NAME = "statement_arithmetic"
MAX_ROWS = 10  # findings per kind; each broken-row finding counts all broken rows


def applies(doc: Document) -> bool:
    return doc.kind == "bank_statement" and len((doc.extracted or {}).get("transactions", [])) > 1


def check(doc: Document) -> list[Finding]:
    rows = doc.extracted["transactions"]
    fields = doc.extracted.get("fields", {})
    ordered = rows[::-1] if newest_first(rows) else rows
    return _balances(doc, ordered) + _totals(doc, rows, fields) + _dates(doc, ordered, fields)


def _severity(doc: Document, page: int) -> str:
    return "medium" if doc.pages[page - 1].ocr else "high"


def _balances(doc: Document, ordered: list[dict]) -> list[Finding]:
    """Rows whose balance does not follow from the rows before them (`ordered`: in time order)."""
    steps = breaks(ordered, frozenset(p.number for p in doc.pages if p.ocr))
    # A changed amount breaks its own row. A changed balance breaks its row and the next, which follows the
    # changed figure by exactly the opposite difference: that second break is the same edit, reported once.
    differences = {i: amount(ordered[i]["balance"]) - expected for i, expected in steps}
    edits = [(i, expected) for i, expected in steps if differences.get(i - 1) != -differences[i]]
    out = []
    for i, expected in edits[:MAX_ROWS]:
        row = ordered[i]
        out.append(finding("BALANCE_ROW_BROKEN", page=row["page"], bbox=row["bbox"], units=_units(doc, row),
                           severity=_severity(doc, row["page"]), date=row.get("date"),
                           printed=row.get("balance"), expected=f"{expected:.2f}",
                           difference=f"{differences[i]:.2f}",
                           suspect="balance" if differences.get(i + 1) == -differences[i] else "amount or balance",
                           broken_rows=len(edits)))
    return out


def _units(doc: Document, row: dict) -> str:
    return doc.pages[row["page"] - 1].units


TOTALS = (("income", "credit"), ("expense", "debit"))


def _totals(doc: Document, rows: list[dict], fields: dict) -> list[Finding]:
    """The totals a bank prints under the rows (收入合计 12 笔 …) against the rows themselves."""
    out = []
    for name, column in TOTALS:
        amounts = [a for a in (amount(r.get(column)) for r in rows) if a]
        observed = {"count": len(amounts), "total": sum(amounts, Decimal(0))}
        for part in ("count", "total"):
            stated = fields.get(f"{name}_{part}")
            value = amount(stated["value"]) if stated else None
            if value is not None and value != observed[part]:
                out.append(finding("BALANCE_TOTAL_MISMATCH", page=stated["page"], bbox=stated["bbox"],
                                   units=doc.pages[stated["page"] - 1].units,
                                   severity=_severity(doc, stated["page"]), total=f"{name}_{part}",
                                   stated=str(stated["value"]),
                                   rows=str(observed[part]) if part == "count" else f"{observed[part]:.2f}"))
    return out


def _dates(doc: Document, ordered: list[dict], fields: dict) -> list[Finding]:
    """Rows out of time order, or dated outside the period the statement's header states."""
    start, end = (fields.get(k, {}).get("value") for k in ("period_start", "period_end"))
    out = []
    latest = None
    for row in ordered:
        date = row.get("date")
        if not date:
            continue
        if latest is not None and date < latest:
            out.append(finding("BALANCE_DATE_ORDER", page=row["page"], bbox=row["bbox"], units=_units(doc, row),
                               date=date, after=latest))
        elif (start and date < start) or (end and date > end):
            out.append(finding("BALANCE_DATE_OUTSIDE_PERIOD", page=row["page"], bbox=row["bbox"],
                               units=_units(doc, row), date=date, start=start or "…", end=end or "…"))
        latest = max(latest or date, date)
    return out[:MAX_ROWS]
