"""Normalise what a page says into typed values: amounts, dates, months, identifiers, capitals (大写).

Every parser returns None for text it cannot read with confidence, rather than guessing.
"""
from __future__ import annotations

import itertools
import re
import unicodedata
from datetime import date, time
from decimal import Decimal, InvalidOperation

import cn2an
from stdnum.cn import ric, uscc

CENT = Decimal("0.01")


def nfkc(text: str) -> str:
    """Full-width to half-width, one bracket style, no inner whitespace runs."""
    text = unicodedata.normalize("NFKC", text).replace("〔", "(").replace("〕", ")")
    return re.sub(r"\s+", " ", text).strip()


_AMOUNT = re.compile(r"^(?P<sign>[+-])?[¥$]?(?P<num>\d[\d,. ]*)(?P<trail>-)?(?:元)?$")
# How OCR reads a minus sign in front of an amount: a dash of another width, the Chinese 一, a tilde; in a
# blurred photo a short dash becomes a point, which cannot lead an amount that has its own decimal point.
_OCR_MINUS = re.compile(r"^(?:[−‐–—一~]|[.·](?=\d[\d,.]*[.,]\d{2}$))")


def parse_amount(text: str) -> Decimal | None:
    """'12,345.67', '-1,234.00', '+800.00', '(50.00)', '1,234.00-', '¥1,000', and OCR's '12.345.67', '4,18910',
    '一1,234.00' and '.1,234.00' (a misread minus) → Decimal."""
    s = _OCR_MINUS.sub("-", nfkc(text).replace("RMB", "").replace("CNY", "").replace(" ", ""))
    negative = False
    if s.startswith("(") and s.endswith(")"):
        s, negative = s[1:-1], True
    m = _AMOUNT.match(s)
    if not m:
        return None
    negative ^= (m["sign"] == "-") ^ bool(m["trail"])
    num = m["num"]
    # The last separator followed by exactly two digits is the decimal point, whatever OCR made of it; two digits
    # after a full thousands group are the cents of an amount whose decimal point OCR lost ('4,18910').
    sep = re.search(r"[.,](\d{2})$", num) or re.search(r"(?<=[.,]\d{3})(\d{2})$", num)
    if sep:
        whole, cents = num[: sep.start()], sep[1]
    else:
        whole, cents = num, "00"
    if re.search(r"[.,]", whole) and not re.fullmatch(r"\d{1,3}([.,]\d{3})+", whole):
        return None
    whole = re.sub(r"[.,]", "", whole)
    if not whole.isdigit():
        return None
    try:
        value = Decimal(f"{whole}.{cents}")
    except InvalidOperation:
        return None
    return -value if negative else value


# Date separators, with what OCR makes of a dash or a point: '2025-06~23', '2024-12·17', '2025-08:25'.
_DATE_SEP = "-./~:·一—–_"
_DATE = re.compile(rf"^(?P<y>(?:19|20)\d{{2}})[{_DATE_SEP}年]?(?P<m>\d{{1,2}})[{_DATE_SEP}月]?(?P<d>\d{{1,2}})日?"
                   r"(?:[ T]?(?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2}))?)?$")


def parse_date(text: str) -> tuple[date, time | None] | None:
    """'2025-03-15', '20250315', '2025.03.15', '2025/3/5', '2025年3月5日', with an optional time."""
    s = nfkc(text).replace(" ", " ")
    m = _DATE.match(s)
    if not m:
        return None
    if not any(ch in s[:10] for ch in _DATE_SEP + "年") and len(re.match(r"\d+", s)[0]) < 8:
        return None  # YYYYMMDD needs all eight digits; '2025315' is ambiguous
    try:
        day = date(int(m["y"]), int(m["m"]), int(m["d"]))
        at = time(int(m["H"]), int(m["M"]), int(m["S"] or 0)) if m["H"] else None
    except ValueError:
        return None
    return day, at


def parse_month(text: str) -> str | None:
    """'202503', '2025-03', '2025年03月', '2025.3' → '2025-03'."""
    m = re.fullmatch(r"((?:19|20)\d{2})[-./年]?(\d{1,2})月?", nfkc(text).replace(" ", ""))
    if not m or not 1 <= int(m[2]) <= 12:
        return None
    if not re.search(r"[-./年]", text) and len(m[2]) != 2:
        return None
    return f"{m[1]}-{int(m[2]):02d}"


# OCR confusions worth trying on identifiers: only kept when a checksum then validates.
_CONFUSED = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "B": "8", "G": "6"}


def _repaired(text: str, valid, alphabet: str) -> str | None:
    """The text if valid; else the one way of undoing OCR confusions that makes it valid, if exactly one does."""
    s = nfkc(text).upper().replace(" ", "")
    if valid(s):
        return s
    # A character outside the alphabet must be a confusion; a confusable one inside it may be.
    options = [(ch, _CONFUSED[ch]) if ch in _CONFUSED and ch in alphabet else
               (_CONFUSED.get(ch, ch),) for ch in s]
    if sum(len(o) > 1 for o in options) > 6:
        return None
    found = {"".join(choice) for choice in itertools.product(*options)}
    found = {c for c in found if valid(c)}
    return found.pop() if len(found) == 1 else None


def id_number(text: str) -> str | None:
    """A 身份证号 (GB 11643) that passes its check digit, repairing OCR confusions only if it then does."""
    return _repaired(text, lambda s: len(s) == 18 and ric.is_valid(s), "0123456789X")


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _uscc_valid(code: str) -> bool:
    """GB 32100 outer check, and the GB 11714 organisation code inside it (characters 9–17)."""
    if len(code) != 18 or not uscc.is_valid(code):
        return False
    org = code[8:17]
    values = [int(c) if c.isdigit() else ord(c) - 55 for c in org[:8]]
    check = 11 - sum(v * w for v, w in zip(values, _ORG_WEIGHTS)) % 11
    return org[8] == {10: "X", 11: "0"}.get(check, str(check))


def credit_code(text: str) -> str | None:
    """A 统一社会信用代码 that passes both checks, repairing OCR confusions only if it then does."""
    return _repaired(text, _uscc_valid, _USCC_ALPHABET)


_CAPITAL_DIGIT = "零壹贰叁肆伍陆柒捌玖"


def parse_capitals(text: str) -> Decimal | None:
    """人民币壹万贰仟叁佰元伍角整 → Decimal('12300.50'). cn2an reads the integer part; 角 and 分 are single digits."""
    s = nfkc(text).replace("人民币", "").replace("(", "").replace(")", "").replace("大写", "").strip(":： ")
    s = s.replace("圆", "元").replace("正", "整")
    m = re.fullmatch(r"(?:(?P<yuan>[零壹贰叁肆伍陆柒捌玖拾佰仟万亿]+)元)?(?:(?P<jiao>[零壹贰叁肆伍陆柒捌玖])角)?"
                     r"(?:(?P<fen>[零壹贰叁肆伍陆柒捌玖])分)?整?", s)
    if not m or not (m["yuan"] or m["jiao"] or m["fen"]):
        return None
    try:
        yuan = int(cn2an.cn2an(m["yuan"], "strict")) if m["yuan"] else 0
    except ValueError:
        return None
    jiao = _CAPITAL_DIGIT.index(m["jiao"]) if m["jiao"] else 0
    fen = _CAPITAL_DIGIT.index(m["fen"]) if m["fen"] else 0
    return Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100
