"""Social-insurance and housing-fund records: the contribution base against the city's average wage, months
without contributions, a change of employer in the recent months, and how long the housing fund has been paid.

Bundle checks (see checks/bundle.py): `check_contributions` (SI_BASE_LOW, SI_GAP, SI_EMPLOYER_CHANGED) and
`check_housing_fund` (SI_HOUSING_FUND_SHORT).

The record is printed by the city's social-insurance centre from what employers actually paid, which makes it the
hardest document of a bundle to invent and the best witness of employment. Lenders read it for three things:
- a base below 60% of the local average wage (the legal floor in most cities) says the declared pay is low or the
  record is odd; the averages are data with their sources, `checks/data/average_wages.toml`;
- months without contributions mean time without this employment; 补缴 (back-payment) rows pay a month late and
  close its gap, and the latest months may not be posted yet when the record is printed;
- a change of employer in the recent months means a new job, which lenders weigh.
A housing-fund record with fewer than 12 continuous months of deposits up to its latest one is a shorter history
than lenders like.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib import resources

from checks.bundle import NotApplicable, Rules, add_months, of_kind, value, where
from checks.catalog import finding
from checks.company import clean, leading_region, parse, same_company
from checks.model import DocumentResult, Finding
from checks.normalize import parse_date

BASE_FLOOR = Decimal("0.6")  # of the city's average wage
RECENT_MONTHS = 6  # an employer change within these months of the latest contribution is reported
POSTING_LAG = 2  # months before the print date that may not be posted yet
HOUSING_FUND_MONTHS = 12


@dataclass(frozen=True)
class Wage:
    city: str
    start: str  # YYYY-MM, first contribution month the figure applies to
    average: Decimal
    source: str


@cache
def wages() -> list[Wage]:
    data = tomllib.loads((resources.files("checks.data") / "average_wages.toml").read_text(encoding="utf-8"))
    rows = [Wage(w["city"], w["from"], Decimal(w["average"]), w["source"]) for w in data["wage"]]
    return sorted(rows, key=lambda w: w.start)


def _wage(city: str, month: str) -> Wage | None:
    """The entry in force for `month` in `city`: the latest one starting at or before it."""
    return next((w for w in reversed(wages()) if w.city == city and w.start <= month), None)


def _city(record: DocumentResult) -> str | None:
    """The city whose centre printed the record: the region its title starts with, else the employer's."""
    title = leading_region(clean(value(record, "title") or ""))
    if title:
        return title[0]
    return next(iter(parse(value(record, "employer") or "").region), None)


def _rows(record: DocumentResult, key: str) -> list[dict]:
    return sorted((r for r in record.extracted.get(key, []) if r.get("period")), key=lambda r: r["period"])


def _gaps(record: DocumentResult, rows: list[dict]) -> list[Finding]:
    """Months between the first and the latest contribution without one (补缴 rows count), and the months after the
    latest one up to the print date, less the posting lag."""
    paid = {r["period"] for r in rows}
    last = rows[-1]["period"]
    printed = parse_date(value(record, "printed_at") or "")
    if printed:
        last = max(last, add_months(f"{printed[0]:%Y-%m}", -POSTING_LAG))
    months = [rows[0]["period"]]
    while months[-1] < last:
        months.append(add_months(months[-1], 1))
    missing = [m for m in months if m not in paid]
    if not missing:
        return []
    after = next((r for r in rows if r["period"] > missing[0]), None)
    return [finding("SI_GAP", months=", ".join(missing), missing=missing, documents=[record.file],
                    first=rows[0]["period"], latest=rows[-1]["period"],
                    printed=printed[0].isoformat() if printed else None, at=where(record, after))]


def _base(record: DocumentResult, rows: list[dict]) -> tuple[list[Finding], str]:
    city = _city(record)
    if city is None:
        return [], "base not compared: the record names no city"
    if city not in {w.city for w in wages()}:
        return [], f"base not compared: no average wage for {city} in checks/data/average_wages.toml"
    compared, low = 0, []
    for row in rows:
        wage = _wage(city, row["period"])
        if wage is None or not row.get("base"):
            continue
        compared += 1
        if Decimal(row["base"]) < BASE_FLOOR * wage.average:
            low.append((row, wage))
    if not compared:
        return [], f"base not compared: no average wage for {city} in force for these months"
    detail = f"base of {compared} row(s) against {city}'s average wage"
    if not low:
        return [], detail
    row, wage = min(low, key=lambda rw: Decimal(rw[0]["base"]))
    months = sorted({r["period"] for r, _ in low})
    return [finding("SI_BASE_LOW", base=row["base"], floor=f"{BASE_FLOOR * wage.average:.2f}", city=city,
                    average=f"{wage.average:.2f}", months=", ".join(months), source=wage.source,
                    documents=[record.file], at=where(record, row))], detail


def _employer_changes(record: DocumentResult, rows: list[dict]) -> list[Finding]:
    since = add_months(rows[-1]["period"], -RECENT_MONTHS)
    monthly = {r["period"]: r for r in rows if r.get("employer") and r["period"] > since}  # one row a month
    recent = [monthly[m] for m in sorted(monthly)]
    return [finding("SI_EMPLOYER_CHANGED", month=after["period"], before=before["employer"], after=after["employer"],
                    documents=[record.file], before_at=where(record, before), after_at=where(record, after))
            for before, after in zip(recent, recent[1:])
            if not same_company(before["employer"], after["employer"]).same]


def check_contributions(results: list[DocumentResult], rules: Rules) -> tuple[list[Finding], str]:
    records = [r for r in of_kind(results, "social_insurance") if _rows(r, "contributions")]
    if not records:
        raise NotApplicable("no social-insurance record with contribution rows")
    out, details = [], []
    for record in records:
        rows = _rows(record, "contributions")
        found, base = _base(record, [r for r in rows if "补缴" not in (r.get("category") or "")])
        out += found + _gaps(record, rows) + _employer_changes(record, rows)
        details.append(f"{record.file}: {len({r['period'] for r in rows})} month(s) "
                       f"{rows[0]['period']}..{rows[-1]['period']}, {base}")
    return out, "; ".join(details)


def check_housing_fund(results: list[DocumentResult], rules: Rules) -> tuple[list[Finding], str]:
    records = [r for r in of_kind(results, "housing_fund") if _rows(r, "deposits")]
    if not records:
        raise NotApplicable("no housing-fund record with deposit rows")
    out, details = [], []
    for record in records:
        rows = _rows(record, "deposits")
        paid = {r["period"] for r in rows}
        latest = rows[-1]["period"]
        run = 0
        while add_months(latest, -run) in paid:  # 补缴 rows fill their month like any deposit
            run += 1
        if run < HOUSING_FUND_MONTHS:
            out.append(finding("SI_HOUSING_FUND_SHORT", months=run, required=HOUSING_FUND_MONTHS,
                               start=add_months(latest, 1 - run), latest=latest, status=value(record, "status"),
                               documents=[record.file], at=where(record, rows[-1])))
        details.append(f"{record.file}: {run} continuous month(s) up to {latest}")
    return out, "; ".join(details)
