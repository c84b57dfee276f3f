"""Contribution arithmetic: on a social-insurance record, each row's personal and employer shares against its
contribution base.

Entry point: `check(doc) -> list[Finding]`, over the contribution rows extraction put on `doc.extracted`.

The base is the figure a forger raises on a contribution record: it stands for the declared pay. Each share the
record prints beside it is the base times the rate the city sets for that insurance, one rate per insurance and
payer for every row, so a base changed alone no longer carries its shares: they still belong to the old base.
Whatever the pixels or the file still show, the record's own arithmetic is broken. The rates are not looked up
(cities set their own and change them): they are the pairs of rates rows of the record agree on, to the rounding
its shares show (fen, jiao or yuan), without the insurance's name, which OCR may miss on a small picture.

A row is reported only when every share it prints fits none of the record's rates and the shares all point to
one other base at one pair of them: a single share off is a misread or a rate that changed (a city changes one
rate at a time), not a raised base. On an OCR'd page a misread base looks the same as an edited one, so it asks
for review only.
"""
from __future__ import annotations

from decimal import Decimal

from checks.balances import amount
from checks.catalog import finding
from checks.model import Document, Finding

NAME = "contribution_arithmetic"
SHARES = ("personal", "unit")
MIN_AGREE = 3  # rows that must share a pair of rates for it to be one of the record's insurances
QUANTA = (Decimal(1), Decimal("0.1"), Decimal("0.01"))  # what issuers round shares to: yuan, jiao, fen
SAME_BASE = Decimal("0.01")  # relative spread under which the bases the shares point to are one
MAX_ROWS = 10


def applies(doc: Document) -> bool:
    return doc.kind == "social_insurance" and len((doc.extracted or {}).get("contributions", [])) > MIN_AGREE


def check(doc: Document) -> list[Finding]:
    rows = [(r, base, shares) for r in doc.extracted["contributions"] if (base := amount(r.get("base")) or 0) > 0
            # a share of nought (no personal part of work-injury insurance) fits any base: it says nothing
            if (shares := {s: v for s in SHARES if (v := amount(r.get(s)))})]
    if not rows:
        return []
    step = next(q for q in QUANTA if all(v % q == 0 for _, _, shares in rows for v in shares.values()))
    smallest = min(base for _, base, _ in rows)

    def fits(value: Decimal, base: Decimal, rate: Decimal) -> bool:
        # The share's own rounding (up, down or to the nearest), and that of the share the rate was read off,
        # carried to this base.
        return abs(value - base * rate) <= step * (1 + base / smallest)

    rates = _rates([(base, shares) for _, base, shares in rows], fits)
    out = []
    for row, base, shares in rows:
        if any(fits(value, base, pair[s]) for pair in rates for s, value in shares.items() if s in pair):
            continue
        for pair in rates:
            implied = [value / pair[s] for s, value in shares.items() if pair.get(s)]
            if len(implied) == len(shares) and max(implied) - min(implied) <= SAME_BASE * max(implied):
                break
        else:
            continue
        page = doc.pages[row["page"] - 1]
        out.append(finding("SI_CONTRIBUTION_MISMATCH", page=row["page"], bbox=row["bbox"], units=page.units,
                           severity="medium" if page.ocr else "high",
                           row=" ".join(filter(None, (row.get("period"), row.get("insurance")))) or "unread",
                           period=row.get("period"), insurance=row.get("insurance"), base=row["base"],
                           shares=", ".join(f"{value:.2f}" for value in shares.values()),
                           rates=", ".join(f"{pair[s] * 100:.2f}%" for s in shares),
                           implied_base=f"{sum(implied) / len(implied):.2f}"))
    return out[:MAX_ROWS]


def _rates(rows: list[tuple[Decimal, dict]], fits) -> list[dict]:
    """The record's rates, one pair (personal, employer) per insurance: each pair read off a row and held by the
    most other rows, as long as MIN_AGREE hold one. Not told apart by the insurance's name, which OCR may miss."""
    out, left = [], rows
    while left:
        best, holders = None, []
        for base, shares in left:
            pair = {s: value / base for s, value in shares.items()}
            agreeing = [(b, sh) for b, sh in left
                        if sh.keys() == pair.keys() and all(fits(v, b, pair[s]) for s, v in sh.items())]
            if len(agreeing) > len(holders):
                best, holders = pair, agreeing
        if len(holders) < MIN_AGREE:
            break
        out.append(best)
        left = [r for r in left if r not in holders]
    return out
