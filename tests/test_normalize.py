from datetime import date, time
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from checks.normalize import credit_code, id_number, parse_amount, parse_capitals, parse_date, parse_month


@pytest.mark.parametrize("text, value", [
    ("12,345.67", "12345.67"), ("-1,234.00", "-1234.00"), ("+800.00", "800.00"), ("(50.00)", "-50.00"),
    ("1,234.00-", "-1234.00"), ("¥1,000", "1000.00"), ("１２,３４５.６７", "12345.67"), ("3,000", "3000.00"),
    ("12.345.67", "12345.67"),  # OCR read the thousands comma as a point
    ("12,345,67", "12345.67"),  # …or the decimal point as a comma
    ("5,000.00元", "5000.00"),
])
def test_amounts(text, value):
    assert parse_amount(text) == Decimal(value)


@pytest.mark.parametrize("text", ["abc", "1.2.3", "", "-", "12,34,5.00", "2025-03-15", ".50", "33,88.27"])
def test_not_amounts(text):
    assert parse_amount(text) is None


@pytest.mark.parametrize("text, value", [
    (".727.36", "-727.36"), (".466.79", "-466.79"),  # a blurred minus read as a point (phone photos, CMB)
    ("一1,234.00", "-1234.00"), ("—56.10", "-56.10"), ("~12.00", "-12.00"),  # as the Chinese 一 or another dash
    ("4,18910", "4189.10"),  # the decimal point lost (a watermark across the cell)
])
def test_amounts_as_ocr_misreads_them(text, value):
    assert parse_amount(text) == Decimal(value)


@given(st.decimals(min_value=Decimal("-99999999.99"), max_value=Decimal("99999999.99"), places=2))
def test_amount_round_trip_through_print_formats(value):
    printed = f"{value:,.2f}"
    assert parse_amount(printed) == value
    assert parse_amount(printed.replace(",", "")) == value
    if value > 0:
        assert parse_amount("+" + printed) == value


@pytest.mark.parametrize("text, day, at", [
    ("2025-03-15", date(2025, 3, 15), None), ("20250315", date(2025, 3, 15), None),
    ("2025.03.15", date(2025, 3, 15), None), ("2025/3/5", date(2025, 3, 5), None),
    ("2025年3月5日", date(2025, 3, 5), None), ("2025-03-15 12:30:01", date(2025, 3, 15), time(12, 30, 1)),
    ("20250315 123001", date(2025, 3, 15), time(12, 30, 1)),
])
def test_dates(text, day, at):
    assert parse_date(text) == (day, at)


@pytest.mark.parametrize("text, day", [("2025-06~23", date(2025, 6, 23)), ("2024-12·17", date(2024, 12, 17)),
                                       ("2025-08:25", date(2025, 8, 25))])
def test_dates_with_separators_as_ocr_misreads_them(text, day):
    """Each lost its row before: the date anchors the row, so its cells went to the row above."""
    assert parse_date(text) == (day, None)


@pytest.mark.parametrize("text", ["2025315", "20251315", "2025-02-30", "12,345.67", "abc", "12:30:01"])
def test_not_dates(text):
    assert parse_date(text) is None


@given(st.dates(min_value=date(1990, 1, 1), max_value=date(2099, 12, 31)))
def test_date_round_trip(day):
    for fmt in ("%Y-%m-%d", "%Y%m%d", "%Y.%m.%d", "%Y年%m月%d日"):
        assert parse_date(day.strftime(fmt)) == (day, None)


@pytest.mark.parametrize("text, month", [("202503", "2025-03"), ("2025-03", "2025-03"), ("2025年03月", "2025-03"),
                                         ("2025.3", "2025-03"), ("202513", None), ("20253", None)])
def test_months(text, month):
    assert parse_month(text) == month


def test_id_numbers_repaired_only_when_the_check_digit_then_holds():
    assert id_number("330106199711207026") == "330106199711207026"
    assert id_number("33O1O6199711207O26") == "330106199711207026"  # O read for 0
    assert id_number("330106199711207027") is None  # wrong check digit: not "repaired" into something else
    assert id_number("33010619971120702") is None


def test_credit_codes_check_both_levels():
    assert credit_code("91310115MAWC5LJ60U") == "91310115MAWC5LJ60U"
    assert credit_code("9131O115MAWC5LJ6OU") == "91310115MAWC5LJ60U"
    assert credit_code("91310115MAWC5LJ61U") is None


@pytest.mark.parametrize("text, value", [
    ("人民币壹万贰仟元整", "12000"), ("（大写：壹万贰仟叁佰肆拾伍元陆角柒分）", "12345.67"),
    ("叁仟零伍元整", "3005"), ("壹拾万元整", "100000"), ("玖角", "0.9"),
])
def test_capitals(text, value):
    assert parse_capitals(text) == Decimal(value)


def test_not_capitals():
    assert parse_capitals("一万二千") is None
