"""Contribution arithmetic: on a social-insurance record, each row's personal and employer shares against its
contribution base.

Entry point: `check(doc) -> list[Finding]`, over the contribution rows extraction put on `doc.extracted`.

The base is the figure a forger raises on a contribution record: it stands for the declared pay. Each share the
record prints beside it is the base times the rate the city sets for that insurance, one rate per insurance and
payer for every row, so a base changed alone no longer carries its shares: they still belong to the old base.
Whatever the pixels or the file still show, the record's own arithmetic is broken. The rates are not looked up
(cities set their own and change them): each insurance's rate is the one most of its rows agree on.

A row is reported only when every share it prints disagrees with its insurance's rates and the shares all point
to one other base: a single share off is a misread or a rate that changed (a city changes one rate at a time),
not a raised base. On an OCR'd page a misread base looks the same as an edited one, so it asks for review only.
"""
from __future__ import annotations

from decimal import Decimal

from checks.balances import amount
from checks.catalog import finding
from checks.model import Document, Finding

NAME = "contribution_arithmetic"
SHARES = ("personal", "unit")
MIN_AGREE = 3  # rows of an insurance that must share a rate for it to be the insurance's
SLACK = Decimal("0.5")  # yuan a share may lie off base x rate: issuers that round shares to the yuan or the jiao
RELATIVE = Decimal("0.005")  # and this share of it, for a rate read off a smaller base
SAME_BASE = Decimal("0.01")  # relative spread under which the bases the shares point to are one
MAX_ROWS = 10


def applies(doc: Document) -> bool:
    return doc.kind == "social_insurance" and len((doc.extracted or {}).get("contributions", [])) > MIN_AGREE


def check(doc: Document) -> list[Finding]:
    rows = [r for r in doc.extracted["contributions"] if (amount(r.get("base")) or 0) > 0]
    rates = {(kind, share): rate for kind in {r.get("insurance") for r in rows} for share in SHARES
             if (rate := _rate([r for r in rows if r.get("insurance") == kind], share)) is not None}
    out = []
    for row in rows:
        base = amount(row["base"])
        # A share at rate 0 (no personal part of work-injury insurance) fits any base: it says nothing.
        compared = [(share, amount(row.get(share)), rates[row.get("insurance"), share]) for share in SHARES
                    if rates.get((row.get("insurance"), share)) and amount(row.get(share)) is not None]
        if not compared or any(_fits(value, base * rate) for _, value, rate in compared):
            continue
        implied = [value / rate for _, value, rate in compared]
        if max(implied) - min(implied) > SAME_BASE * max(implied):
            continue
        page = doc.pages[row["page"] - 1]
        out.append(finding("SI_CONTRIBUTION_MISMATCH", page=row["page"], bbox=row["bbox"], units=page.units,
                           severity="medium" if page.ocr else "high", period=row.get("period"),
                           insurance=row.get("insurance") or "", base=row["base"],
                           shares=", ".join(f"{value:.2f}" for _, value, _ in compared),
                           rates=", ".join(f"{rate * 100:.2f}%" for _, _, rate in compared),
                           implied_base=f"{sum(implied) / len(implied):.2f}"))
    return out[:MAX_ROWS]


def _rate(rows: list[dict], share: str) -> Decimal | None:
    """The rate of `share` most of the insurance's rows agree on (base x rate = share, to the rounding), when
    enough of them do."""
    pairs = [(amount(r["base"]), value) for r in rows if (value := amount(r.get(share))) is not None]
    best, agreeing = None, 0
    for base, value in pairs:
        rate = value / base
        n = sum(_fits(v, b * rate) for b, v in pairs)
        if n > agreeing:
            best, agreeing = rate, n
    return best if agreeing >= max(MIN_AGREE, len(pairs) / 2) else None


def _fits(value: Decimal, expected: Decimal) -> bool:
    return abs(value - expected) <= SLACK + RELATIVE * abs(expected)
