"""Salary income: the monthly salary series the bank statements show, how steady it is, and the proof's stated
monthly income against it.

Bundle checks (see checks/bundle.py): `check_series` (INCOME_FLUCTUATION, INCOME_MONTH_MISSING) and `check_stated`
(INCOME_STATED_MISMATCH). `salary_series(results)` also gives the employer check the payer of the salary.

Recognition follows lenders' practice (shared/DOMAIN.md). A credit is
- not salary when its 摘要 or payer says so (报销, 借款, 理财, 代发养老金, 住房公积金管理中心 …), whatever else it says;
- a bonus when 摘要 says 奖金, 年终奖, 绩效 or 补发: a 13th month is a legitimate spike, so bonuses stay out of the
  series and are reported beside it;
- salary when 摘要 says 工资, 薪资, 薪酬, 工薪 or 薪金;
- salary on a weak word (代发, 转账, 银联代付, 跨行汇入) only when the payer is the employer another document of the
  bundle names, or a company that pays this way in at least three months on a similar day of the month.
Several salary credits in one month are summed. A credit belongs to the month of its usual pay day: payroll moved
a few days across a month end (before a holiday, after a weekend) still counts for its own month, so it shows
neither as a missing month nor as a double one.
"""
from __future__ import annotations

import calendar
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from checks.bundle import NotApplicable, Rules, add_months, field_at, of_kind, value, where
from checks.catalog import finding
from checks.company import clean, same_company
from checks.model import DocumentResult, Finding

NOT_SALARY = ("报销", "差旅费", "备用金", "借款", "往来款", "还款", "货款", "劳务费", "服务费", "分红", "退款", "理财",
              "基金", "赎回", "保险", "代收", "养老金", "公积金")
BONUS = ("奖金", "年终奖", "绩效", "补发")
SALARY = ("工资", "薪资", "薪酬", "工薪", "薪金")  # substrings: 工资 covers 代发工资 and 工资发放
WEAK = ("代发", "转账", "银联代付", "跨行汇入")  # 代发 covers 批量代发 and 实时代发
COMPANY = re.compile(r"(公司|集团|银行|中心|事务所|研究院|研究所|医院|学校|大学|学院|委员会|局|厂)$")
RECURRING_MONTHS = 3  # a weak-word payer must pay in this many months ...
SIMILAR_DAYS = 5  # ... within this many days of its usual day of the month
MID_MONTH = 15  # a credit counts for the month its date falls in once the usual pay day is moved here
# Salary is paid net of social insurance (about 10.5%), housing fund (5–12%) and income tax, so a pre-tax (税前)
# figure on a proof is naturally above the salary credits: take-home pay runs from about 65% of gross (high
# earners with the top housing-fund ratio) to all of it (low earners, little tax). A stated pre-tax income S
# therefore allows an observed net salary of 0.65·S to S; a stated after-tax (税后) income allows S itself. A
# proof that names neither is given the pre-tax allowance, the more lenient one. The configured tolerance then
# widens that band on both sides.
TAKE_HOME_FLOOR = Decimal("0.65")
MAX_FINDINGS = 6


@dataclass(frozen=True)
class Credit:
    day: date
    amount: Decimal
    description: str
    payer: str | None
    at: dict  # file, page, bbox (the whole row), units

    def evidence(self) -> dict:
        return {"date": self.day.isoformat(), "amount": f"{self.amount:.2f}", "description": self.description,
                "payer": self.payer, **self.at}


@dataclass
class Series:
    salary: dict[str, list[Credit]]  # pay month YYYY-MM → its salary credits
    bonuses: list[Credit]
    others: list[Credit]  # other credits from the salary payers (报销 …)
    expected: list[str]  # months the statements cover, from the first salary month on
    statements: list[str]

    def totals(self) -> dict[str, Decimal]:
        return {m: sum((c.amount for c in credits), Decimal(0)) for m, credits in sorted(self.salary.items())}

    def missing(self) -> list[str]:
        return [m for m in self.expected if m not in self.salary]

    def evidence(self) -> dict:
        return {"documents": self.statements, "series": {m: f"{t:.2f}" for m, t in self.totals().items()},
                "bonuses": [c.evidence() for c in self.bonuses]}


def _kind(description: str, payer: str | None) -> str:
    """'other', 'bonus', 'salary' or 'weak' for a credit, by its 摘要 and payer."""
    text = clean(description)
    if any(w in text for w in NOT_SALARY) or "公积金管理中心" in clean(payer or ""):
        return "other"
    if any(w in text for w in BONUS):
        return "bonus"
    if any(w in text for w in SALARY):
        return "salary"
    return "weak" if any(w in text for w in WEAK) else "other"


def _credits(statement: DocumentResult) -> list[Credit]:
    out = []
    for t in statement.extracted.get("transactions", []):
        if not t.get("credit") or not t.get("date") or Decimal(t["credit"]) <= 0:
            continue
        out.append(Credit(date.fromisoformat(t["date"]), Decimal(t["credit"]), t.get("description") or "",
                          t.get("counterparty"), where(statement, t)))
    return out


def _day_gap(a: int, b: int) -> int:
    gap = abs(a - b)
    return min(gap, 31 - gap)  # the 30th and the 1st are neighbours


def _recurring(weak: list[Credit], employers: list[str]) -> list[Credit]:
    """Weak-word credits that are salary: from a named employer, or from a company paying monthly on a similar day."""
    by_payer: dict[str, list[Credit]] = defaultdict(list)
    for c in weak:
        if c.payer and COMPANY.search(clean(c.payer)):
            by_payer[clean(c.payer)].append(c)
    out = []
    for payer, credits in by_payer.items():
        if any(same_company(payer, e).same for e in employers):
            out += credits
            continue
        usual = statistics.median_low(c.day.day for c in credits)
        regular = [c for c in credits if _day_gap(c.day.day, usual) <= SIMILAR_DAYS]
        if len({(c.day.year, c.day.month) for c in regular}) >= RECURRING_MONTHS:
            out += regular
    return out


def _coverage(statement: DocumentResult) -> tuple[date, date] | None:
    start, end = value(statement, "period_start"), value(statement, "period_end")
    if start and end:
        return date.fromisoformat(start), date.fromisoformat(end)
    days = [t["date"] for t in statement.extracted.get("transactions", []) if t.get("date")]
    return (date.fromisoformat(min(days)), date.fromisoformat(max(days))) if days else None


def _month(d: date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def _pay_date(month: str, usual: int) -> date:
    year, m = map(int, month.split("-"))
    return date(year, m, min(usual, calendar.monthrange(year, m)[1]))


def salary_series(results: list[DocumentResult]) -> Series:
    """The salary series of the bundle's statements; raises NotApplicable when there is nothing to build it from."""
    statements = of_kind(results, "bank_statement")
    if not statements:
        raise NotApplicable("no bank statement in the bundle")
    employers = [e for r in results if r.kind != "bank_statement" and (e := value(r, "employer"))]
    seen, credits = set(), []
    for s in statements:
        for c in _credits(s):
            key = (c.day, c.amount, c.description, c.payer)  # the same row in two overlapping statements
            if key not in seen:
                seen.add(key)
                credits.append(c)
    kinds: dict[str, list[Credit]] = defaultdict(list)
    for c in credits:
        kinds[_kind(c.description, c.payer)].append(c)
    salary = kinds["salary"] + _recurring(kinds["weak"], employers)
    files = [s.file for s in statements]
    if not salary:
        raise NotApplicable(f"no salary credits recognised in {', '.join(files)}")
    usual = statistics.median_low(c.day.day for c in salary)
    shift = timedelta(days=MID_MONTH - usual)
    by_month: dict[str, list[Credit]] = defaultdict(list)
    for c in sorted(salary, key=lambda c: c.day):
        by_month[_month(c.day + shift)].append(c)
    payers = {clean(c.payer) for c in salary if c.payer}
    others = [c for c in kinds["other"] if c.payer and clean(c.payer) in payers]
    return Series(dict(by_month), kinds["bonus"], others, _expected(min(by_month), statements, usual), files)


def _expected(first: str, statements: list[DocumentResult], usual: int) -> list[str]:
    """Months from `first` on whose usual pay day some statement covers."""
    spans = [span for s in statements if (span := _coverage(s))]
    last = _month(max(end for _, end in spans))
    months, month = [], first
    while month <= last:
        if any(start <= _pay_date(month, usual) <= end for start, end in spans):
            months.append(month)
        month = add_months(month, 1)
    return months


def check_series(results: list[DocumentResult], rules: Rules) -> tuple[list[Finding], str]:
    series = salary_series(results)
    totals = series.totals()
    threshold = Decimal(str(rules.income_fluctuation))
    out = []
    for prev, month in zip(series.expected, series.expected[1:]):
        if prev not in totals or month not in totals:
            continue  # across a gap there is no month-to-month change; the gap is its own finding
        change = abs(totals[month] - totals[prev]) / totals[prev]
        if change > threshold:
            out.append(finding(
                "INCOME_FLUCTUATION", month=month, previous_month=prev, amount=f"{totals[month]:.2f}",
                previous_amount=f"{totals[prev]:.2f}", change=f"{change:.1%}", threshold=f"{threshold * 100:g}%",
                credits=[c.evidence() for c in series.salary[prev] + series.salary[month]], **series.evidence()))
    missing = series.missing()
    if missing:
        out.append(finding("INCOME_MONTH_MISSING", months=", ".join(missing), missing=missing,
                           covered=f"{series.expected[0]}..{series.expected[-1]}", **series.evidence()))
    amounts = ", ".join(f"{m} {t:,.2f}" for m, t in totals.items())
    detail = (f"{len(totals)} salary month(s) in {', '.join(series.statements)}: {amounts}; "
              f"{len(series.bonuses)} bonus credit(s) and {len(series.others)} other credit(s) from the payer "
              "kept apart")
    return out[:MAX_FINDINGS], detail


def check_stated(results: list[DocumentResult], rules: Rules) -> tuple[list[Finding], str]:
    proofs = [p for p in of_kind(results, "employment_proof") if value(p, "monthly_income")]
    if not proofs:
        raise NotApplicable("no income proof with a monthly income")
    series = salary_series(results)
    totals = series.totals()
    months = len(totals)
    salary = sum(totals.values(), Decimal(0))
    bonus = sum((c.amount for c in series.bonuses), Decimal(0))
    # The proof may or may not spread bonuses over its monthly figure: the observed income lies between the two.
    low, high = salary / months, (salary + bonus) / months
    tolerance = Decimal(str(rules.stated_income_tolerance))
    out = []
    for proof in proofs:
        stated = Decimal(value(proof, "monthly_income"))
        basis = value(proof, "income_basis")
        floor = stated if basis == "税后" else stated * TAKE_HOME_FLOOR
        allowed = (floor * (1 - tolerance), stated * (1 + tolerance))
        if high < allowed[0] or low > allowed[1]:
            out.append(finding(
                "INCOME_STATED_MISMATCH", stated=f"{stated:.2f}", basis=basis or "unstated",
                observed=f"{low:.2f}", observed_with_bonuses=f"{high:.2f}", months=months,
                allowed=f"{allowed[0]:.2f}–{allowed[1]:.2f}", proof=field_at(proof, "monthly_income"),
                **series.evidence() | {"documents": [proof.file, *series.statements]}))
    files = ", ".join(p.file for p in proofs)
    return out, f"{files} against an observed {low:,.2f} a month ({months} month(s), {high:,.2f} with bonuses)"
