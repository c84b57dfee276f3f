"""The salary series, its month-to-month change, missing months and the stated income, over extracted statements."""
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings, strategies as st

from checks import income
from checks.bundle import NotApplicable, Rules
from checks.model import DocumentResult, Verdict

EMPLOYER = "上海星辰科技有限公司"


def result(kind: str, file: str = "", fields: dict | None = None, **lists) -> DocumentResult:
    """A checked document as the bundle checks receive it: extracted fields (page 1) and rows."""
    extracted = {"fields": {k: {"value": v, "page": 1, "bbox": [10, 10, 90, 20]} for k, v in (fields or {}).items()},
                 "transactions": [], **lists}
    return DocumentResult(file or f"{kind}.pdf", "0" * 64, "pdf", kind, 1, Verdict("pass", 0.0), [], [], extracted)


def txn(day: str, credit, description: str = "代发工资", payer: str | None = EMPLOYER) -> dict:
    return {"date": day, "description": description, "credit": f"{Decimal(credit):.2f}", "debit": None,
            "counterparty": payer, "page": 1, "bbox": [10, 100, 500, 110]}


def statement(amounts: list, start: str = "2025-01", pay_day: int = 10, extra: list = ()) -> DocumentResult:
    """Salary on `pay_day` of consecutive months from `start` (None: no salary that month); the period covers them."""
    first = date.fromisoformat(start + "-01")
    rows, month = [], first
    for amount in amounts:
        for part in amount if isinstance(amount, list) else [amount] if amount is not None else []:
            rows.append(txn(month.replace(day=pay_day).isoformat(), part))
        month = (month + timedelta(days=32)).replace(day=1)
    end = month - timedelta(days=1)
    return result("bank_statement", fields={"period_start": first.isoformat(), "period_end": end.isoformat()},
                  transactions=sorted(rows + list(extra), key=lambda t: t["date"]))


def proof(income_: str, basis: str | None = "税前") -> DocumentResult:
    fields = {"monthly_income": income_, "employer": EMPLOYER} | ({"income_basis": basis} if basis else {})
    return result("employment_proof", fields=fields)


def codes(results, rules=Rules(), check=income.check_series) -> list[str]:
    return [f.code for f in check(results, rules)[0]]


# --- the 30% rule ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("before, after, flagged", [
    (10000, 13000, False),  # exactly 30% up is not above 30%
    (10000, 7000, False),  # exactly 30% down
    ("10000.00", "13000.01", True),
    ("10000.00", "6999.99", True),
    (10000, 12999, False),
    (10000, 12500, False),
    (10000, 16000, True),
])
def test_change_above_the_threshold_flags(before, after, flagged):
    found = income.check_series([statement([before, before, after, after])], Rules())[0]
    assert [f.code for f in found] == (["INCOME_FLUCTUATION"] if flagged else [])
    if flagged:
        e = found[0].evidence
        assert (e["previous_month"], e["month"]) == ("2025-02", "2025-03")
        assert (e["previous_amount"], e["amount"]) == (f"{Decimal(before):.2f}", f"{Decimal(after):.2f}")


def test_the_threshold_comes_from_the_rules():
    bundle = [statement([10000, 14000])]
    assert codes(bundle) == ["INCOME_FLUCTUATION"]
    assert codes(bundle, Rules(income_fluctuation=0.5)) == []


# --- what counts as salary -------------------------------------------------------------------------------

def test_bonuses_and_reimbursements_stay_out_of_the_series():
    extra = [txn("2025-03-10", 20000, "代发奖金"), txn("2025-12-20", 30000, "年终奖"), txn("2025-04-22", 3000, "报销"),
             txn("2025-05-10", 5000, "绩效")]
    found, detail = income.check_series([statement([10000] * 12, extra=extra)], Rules())
    assert found == []
    assert "3 bonus credit(s) and 1 other credit(s)" in detail
    series = income.salary_series([statement([10000] * 12, extra=extra)])
    assert set(series.totals().values()) == {Decimal(10000)}
    assert [c.description for c in series.bonuses] == ["代发奖金", "绩效", "年终奖"]


def test_several_credits_in_a_month_are_summed():
    assert codes([statement([10000, [6000, 4000], [5000, 5500], 10000])]) == []
    assert income.salary_series([statement([10000, [6000, 4000]])]).totals()["2025-02"] == Decimal(10000)


@pytest.mark.parametrize("description, payer, counted", [
    ("工资", EMPLOYER, True),
    ("薪金", EMPLOYER, True),
    ("批量代发", EMPLOYER, True),  # a company paying monthly on a similar day
    ("跨行汇入", "上海云帆科技有限公司", True),
    ("转账", "王伟", False),  # a person, not a company
    ("代发养老金", "上海市社会保险事业管理中心", False),
    ("代发", "上海住房公积金管理中心", False),
    ("利息存入", None, False),
])
def test_recognition(description, payer, counted):
    rows = [txn(f"2025-0{m}-12", 9000, description, payer) for m in range(1, 5)]
    bundle = [result("bank_statement", transactions=rows)]
    if counted:
        assert len(income.salary_series(bundle).salary) == 4
    else:
        with pytest.raises(NotApplicable, match="no salary credits"):
            income.salary_series(bundle)


def test_a_weak_word_counts_once_when_the_payer_is_the_named_employer():
    rows = [txn("2025-01-12", 9000, "转账", "星辰科技（上海）有限公司")]
    bundle = [result("bank_statement", transactions=rows)]
    with pytest.raises(NotApplicable):
        income.salary_series(bundle)
    assert income.salary_series(bundle + [proof("12000.00")]).totals() == {"2025-01": Decimal(9000)}


def test_a_weak_word_on_scattered_days_is_not_salary():
    rows = [txn(d, 9000, "转账", "上海云帆科技有限公司") for d in ("2025-01-02", "2025-02-17", "2025-03-28")]
    with pytest.raises(NotApplicable):
        income.salary_series([result("bank_statement", transactions=rows)])


# --- months ----------------------------------------------------------------------------------------------

def test_a_missing_month_is_its_own_finding_and_not_a_change():
    found = income.check_series([statement([10000, 10000, None, 16000, 16000])], Rules())[0]
    assert [f.code for f in found] == ["INCOME_MONTH_MISSING"]
    assert found[0].evidence["missing"] == ["2025-03"]


def test_salary_stopping_before_the_statement_ends_is_missing():
    found = income.check_series([statement([10000, 10000, 10000, None, None])], Rules())[0]
    assert found[0].evidence["missing"] == ["2025-04", "2025-05"]


def test_payroll_moved_across_a_month_end_counts_for_its_own_month():
    # Paid on the 1st; February's pay came on 30 January before the holiday.
    rows = [txn(d, 10000) for d in ("2025-01-01", "2025-01-30", "2025-03-03", "2025-04-01")]
    bundle = [result("bank_statement", fields={"period_start": "2024-12-20", "period_end": "2025-04-15"},
                     transactions=rows)]
    found, _ = income.check_series(bundle, Rules())
    assert found == []
    assert list(income.salary_series(bundle).totals()) == ["2025-01", "2025-02", "2025-03", "2025-04"]


def test_a_period_ending_before_pay_day_does_not_expect_that_month():
    bundle = [result("bank_statement", fields={"period_start": "2025-01-01", "period_end": "2025-03-20"},
                     transactions=[txn(f"2025-0{m}-25", 10000) for m in (1, 2)])]
    assert income.check_series(bundle, Rules())[0] == []


def test_not_applicable_without_statement_or_salary():
    with pytest.raises(NotApplicable, match="no bank statement"):
        income.check_series([proof("10000.00")], Rules())
    spending = result("bank_statement", transactions=[txn("2025-01-03", 50, "退款", "京东")])
    with pytest.raises(NotApplicable, match="no salary credits"):
        income.check_series([spending], Rules())


# --- stated income ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("stated, basis, observed, flagged", [
    ("10000.00", "税前", 7800, False),  # net of contributions and tax
    ("10000.00", "税前", 5300, False),  # at the edge of 65% less the 20% tolerance (5200)
    ("10000.00", "税前", 5100, True),
    ("20000.00", "税前", 8000, True),  # a proof overstating pay
    ("10000.00", "税后", 8100, False),
    ("10000.00", "税后", 7000, True),
    ("10000.00", None, 6000, False),  # no basis stated: the pre-tax allowance
    ("10000.00", "税前", 12500, True),  # more than the stated gross, beyond the tolerance
])
def test_stated_income_against_the_salary(stated, basis, observed, flagged):
    found = codes([statement([observed] * 6), proof(stated, basis)], check=income.check_stated)
    assert found == (["INCOME_STATED_MISMATCH"] if flagged else [])


def test_bonuses_may_be_part_of_the_stated_income():
    # 6 × 6000 salary + 12000 bonus = 8000 a month: a stated 10000 税后 holds with bonuses spread.
    extra = [txn("2025-06-20", 12000, "年终奖")]
    assert codes([statement([6000] * 6, extra=extra), proof("10000.00", "税后")], check=income.check_stated) == []
    assert codes([statement([6000] * 6), proof("10000.00", "税后")], check=income.check_stated) == [
        "INCOME_STATED_MISMATCH"]


def test_stated_income_needs_a_proof():
    with pytest.raises(NotApplicable, match="no income proof"):
        income.check_stated([statement([10000])], Rules())


# --- properties ------------------------------------------------------------------------------------------

amounts = st.lists(st.integers(min_value=100_00, max_value=80_000_00), min_size=2, max_size=12)


@given(amounts, st.sampled_from([0.2, 0.3, 0.45]))
@settings(max_examples=200, deadline=None)
def test_flags_exactly_the_changes_above_the_threshold(cents, threshold):
    bundle = [statement([Decimal(c) / 100 for c in cents])]
    flagged = [f.evidence["month"] for f in income.check_series(bundle, Rules(income_fluctuation=threshold))[0]]
    limit = Fraction(str(threshold))
    expected = [f"2025-{i + 1:02d}" for i in range(1, len(cents))
                if Fraction(abs(cents[i] - cents[i - 1]), cents[i - 1]) > limit]
    assert flagged == expected[:income.MAX_FINDINGS]


@given(amounts, st.data())
@settings(max_examples=100, deadline=None)
def test_splitting_a_salary_or_adding_a_bonus_changes_nothing(cents, data):
    month = data.draw(st.integers(0, len(cents) - 1))
    part = data.draw(st.integers(1, cents[month] - 1))
    split = [Decimal(c) / 100 for c in cents]
    split[month] = [Decimal(part) / 100, Decimal(cents[month] - part) / 100]
    bonus = [txn(f"2025-{month + 1:02d}-20", Decimal(data.draw(amounts)[0]) / 100, "代发奖金")]
    plain = statement([Decimal(c) / 100 for c in cents])
    expected = [(f.code, f.evidence.get("month")) for f in income.check_series([plain], Rules())[0]]
    for variant in (statement(split), statement([Decimal(c) / 100 for c in cents], extra=bonus)):
        assert [(f.code, f.evidence.get("month")) for f in income.check_series([variant], Rules())[0]] == expected
