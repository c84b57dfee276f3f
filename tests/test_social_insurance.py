"""Social-insurance and housing-fund records: base against the average wage, gaps, employer changes, housing-fund
continuity."""
import re

import pytest

from checks import social_insurance as si
from checks.bundle import NotApplicable, Rules, add_months
from tests.test_income import result

COMPANY = "上海星辰科技有限公司"


def months(first: str, count: int) -> list[str]:
    return [add_months(first, i) for i in range(count)]


def record(periods, base="10000.00", employer=COMPANY, category="正常应缴", title="上海市社会保险参保缴费证明（个人）",
           printed=None, extra=()):
    rows = [{"period": p, "insurance": kind, "category": category, "base": base,
             "employer": employer(p) if callable(employer) else employer, "page": 1, "bbox": [30, 200, 560, 210]}
            for p in periods for kind in ("养老", "医疗")]
    fields = {"title": title, "employer": COMPANY} | ({"printed_at": printed} if printed else {})
    return result("social_insurance", "si.pdf", fields, contributions=rows + list(extra))


def found(results, check=si.check_contributions):
    return check(results, Rules())[0]


def test_a_base_below_60_percent_of_the_average_wage():
    (low,) = found([record(months("2024-07", 6), base="7000.00")])
    assert low.code == "SI_BASE_LOW"
    assert (low.evidence["city"], low.evidence["floor"], low.evidence["average"]) == ("上海", "7384.20", "12307.00")
    assert "2024年度" in low.evidence["source"] and low.evidence["months"].startswith("2024-07")
    assert found([record(months("2024-07", 6), base="7400.00")]) == []


def test_the_average_in_force_for_each_month():
    # 7350 is above 60% of 2023's average (7309.80) and below 2024's (7384.20).
    (low,) = found([record(months("2024-05", 4), base="7350.00")])
    assert low.evidence["months"] == "2024-07, 2024-08"


def test_a_city_without_an_average_is_not_compared():
    _, detail = si.check_contributions([record(months("2024-07", 6), base="3000.00", title="深圳市社会保险参保证明")],
                                       Rules())
    assert "base not compared" in detail
    _, detail = si.check_contributions([record(months("2020-01", 6), base="3000.00")], Rules())
    assert "no average wage for 上海 in force" in detail


def test_a_missing_month_is_a_gap_unless_paid_back():
    periods = months("2024-01", 12)
    (gap,) = found([record([p for p in periods if p != "2024-05"])])
    assert (gap.code, gap.evidence["missing"]) == ("SI_GAP", ["2024-05"])
    back_paid = [{"period": "2024-05", "insurance": "养老", "category": "补缴", "base": "10000.00",
                  "employer": COMPANY, "page": 1, "bbox": [30, 300, 560, 310]}]
    assert found([record([p for p in periods if p != "2024-05"], extra=back_paid)]) == []


def test_contributions_ending_before_the_print_date():
    periods = months("2024-01", 12)  # to 2024-12
    assert found([record(periods, printed="2025-02-14 15:00:30")]) == []  # January may not be posted yet
    (gap,) = found([record(periods, printed="2025-04-02")])
    assert gap.evidence["missing"] == ["2025-01", "2025-02"]


def test_an_employer_change_in_the_recent_months():
    periods = months("2024-01", 12)
    (change,) = found([record(periods, employer=lambda p: "上海云帆科技有限公司" if p < "2024-10" else COMPANY)])
    assert (change.code, change.evidence["month"]) == ("SI_EMPLOYER_CHANGED", "2024-10")
    assert found([record(periods, employer=lambda p: "上海云帆科技有限公司" if p < "2024-04" else COMPANY)]) == []
    assert found([record(periods, employer=lambda p: "星辰科技（上海）有限公司" if p < "2024-10" else COMPANY)]) == []


def hf(periods, kinds=None):
    rows = [{"period": p, "base": "10000.00", "deposit": "1400.00", "category": (kinds or {}).get(p, "汇缴"),
             "page": 1, "bbox": [30, 200, 560, 210]} for p in periods]
    return result("housing_fund", "hf.pdf", {"status": "正常"}, deposits=rows)


def test_housing_fund_continuity():
    check = si.check_housing_fund
    assert found([hf(months("2024-01", 12))], check) == []
    (short,) = found([hf(months("2024-02", 11))], check)
    assert (short.code, short.evidence["months"], short.evidence["start"]) == ("SI_HOUSING_FUND_SHORT", 11, "2024-02")
    gap = [p for p in months("2023-06", 18) if p != "2024-03"]
    assert found([hf(gap)], check)[0].evidence["months"] == 8
    late = gap + ["2024-03"]  # paid later as 补缴: no break
    assert found([hf(late, {"2024-03": "补缴"})], check) == []


def test_not_applicable_without_records():
    with pytest.raises(NotApplicable, match="social-insurance"):
        si.check_contributions([], Rules())
    with pytest.raises(NotApplicable, match="housing-fund"):
        si.check_housing_fund([record(months("2024-01", 3))], Rules())


def test_the_average_wage_table_is_data_with_sources():
    assert si.wages()
    for w in si.wages():
        assert re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", w.start) and w.source and w.average > 3000
