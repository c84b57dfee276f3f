"""Identity across the bundle: the applicant's name and 身份证号 on every document, the number's own check digit and
the age it gives, the employers' credit codes, and the bank card's check digit.

Bundle check (see checks/bundle.py) `check`: IDENTITY_MISMATCH, IDENTITY_ID_INVALID, IDENTITY_AGE,
EMPLOYER_USCC_INVALID, IDENTITY_CARD_CHECKSUM.

Check characters cost a forger nothing to get right with a generator, and nothing for us to test: a number that
fails one was typed by hand. A statement or social-insurance record of somebody else, or a proof for another
person, shows as a name or number that disagrees with the other documents. Banks and portals print masked values
(张*, 3101**********1234): a star stands for whatever the other document shows there.
"""
from __future__ import annotations

import re
from collections import Counter
from datetime import date

from stdnum import luhn, numdb
from stdnum.cn import ric
from stdnum.exceptions import InvalidComponent

from checks.bundle import NotApplicable, Rules, field_at, read_by_ocr, value
from checks.catalog import finding
from checks.company import clean
from checks.model import DocumentResult, Finding
from checks.normalize import credit_code, parse_date

NAME_FIELD = {"employment_proof": "name", "social_insurance": "name", "housing_fund": "name",
              "bank_statement": "account_name"}
ORDER = ("employment_proof", "social_insurance", "housing_fund", "bank_statement")  # who names the applicant first
DATE_FIELDS = ("date", "printed_at")  # when a document was issued: the age is taken at the latest of them
MIN_AGE, MAX_AGE = 18, 60  # lenders' usual limits (some go to 65)


def _agree(a: str, b: str) -> bool:
    def pattern(text: str) -> re.Pattern:
        return re.compile(re.sub(r"(?:\\\*)+", ".+", re.escape(text)))

    return bool(pattern(a).fullmatch(b) or pattern(b).fullmatch(a))


def _mismatches(values: list[tuple[DocumentResult, dict]], what: str) -> list[Finding]:
    """Each document whose value disagrees with the one most documents show."""
    if len(values) < 2:
        return []
    counts = Counter(clean(v["value"]) for _, v in values)
    common = max(counts, key=lambda text: (counts[text], "*" not in text))
    reference = next((r, v) for r, v in values if clean(v["value"]) == common)
    out = []
    for result, item in values:
        if not _agree(clean(item["value"]), common):
            out.append(finding("IDENTITY_MISMATCH", what=what, documents=[reference[0].file, result.file],
                               expected=reference[1]["value"], found=item["value"], expected_at=reference[1],
                               found_at=item))
    return out


def _valid_id(number: str) -> bool:
    """GB 11643: 18 characters, the check digit, a real birth date and an area code that GB/T 2260 lists.

    Built from stdnum.cn.ric's parts rather than `ric.is_valid`, which also wants the area code to have existed
    in the birth year: numbers are assigned at registration, for older people years after their birth, so that
    rule rejects genuine numbers of people born before their district was created."""
    if not re.fullmatch(r"\d{17}[\dX]", number) or ric.calc_check_digit(number) != number[-1]:
        return False
    try:
        ric.get_birth_date(number)
    except InvalidComponent:
        return False
    return any("county" in props for _, props in numdb.get("cn/loc").info(number[:6]))


def _age(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def _issued(results: list[DocumentResult]) -> date:
    days = [parsed[0] for r in results for name in DATE_FIELDS if (parsed := parse_date(value(r, name) or ""))]
    return max(days, default=date.today())


def _id_numbers(results: list[DocumentResult], ids: list[tuple[DocumentResult, dict]]) -> list[Finding]:
    out, seen = [], set()
    on = _issued(results)
    for result, item in ids:
        number = clean(item["value"]).upper()
        if "*" in number or number in seen:
            continue
        seen.add(number)
        if not _valid_id(number):
            out.append(finding("IDENTITY_ID_INVALID", severity="medium" if read_by_ocr(result) else None,
                               documents=[result.file], number=item["value"], at=item))
            continue
        age = _age(ric.get_birth_date(number), on)
        if not MIN_AGE <= age <= MAX_AGE:
            out.append(finding("IDENTITY_AGE", age=age, on=on.isoformat(), limits=f"{MIN_AGE}–{MAX_AGE}",
                               documents=[result.file], at=item))
    return out


def _distinct(results: list[DocumentResult], name: str) -> dict[str, list[tuple[DocumentResult, dict]]]:
    """A field's distinct values, each with the documents that show it: one finding for one number."""
    found: dict[str, list[tuple[DocumentResult, dict]]] = {}
    for result in results:
        item = field_at(result, name)
        if item["value"]:
            found.setdefault(item["value"], []).append((result, item))
    return found


def _credit_codes(results: list[DocumentResult]) -> tuple[list[Finding], int]:
    codes = _distinct(results, "employer_uscc")
    # Extraction already undid the OCR confusions that make a code valid: what is left fails for good.
    return [finding("EMPLOYER_USCC_INVALID", credit_code=code, documents=[r.file for r, _ in shown], at=shown[0][1])
            for code, shown in codes.items() if credit_code(code) != code], len(codes)


def _cards(results: list[DocumentResult]) -> tuple[list[Finding], int]:
    statements = [r for r in results if r.kind == "bank_statement"]
    # Masked numbers and account numbers of other lengths have no check digit to test.
    cards = {n: shown for n, shown in _distinct(statements, "account_number").items() if re.fullmatch(r"\d{16,19}", n)}
    return [finding("IDENTITY_CARD_CHECKSUM", number=number, documents=[r.file for r, _ in shown], at=shown[0][1])
            for number, shown in cards.items() if not luhn.is_valid(number)], len(cards)


def check(results: list[DocumentResult], rules: Rules) -> tuple[list[Finding], str]:
    ordered = sorted((r for r in results if r.kind in ORDER), key=lambda r: ORDER.index(r.kind))
    names = [(r, item) for r in ordered if (item := field_at(r, NAME_FIELD[r.kind]))["value"]]
    ids = [(r, item) for r in ordered if (item := field_at(r, "id_number"))["value"]]
    codes, uscc_count = _credit_codes(ordered)
    cards, card_count = _cards(ordered)
    if not (names or ids or uscc_count or card_count):
        raise NotApplicable("no document names the applicant, an ID number, a credit code or a card number")
    found = (_mismatches(names, "name") + _mismatches(ids, "ID number") + _id_numbers(results, ids) + codes
             + cards)
    return found, (f"{len(names)} name(s), {len(ids)} ID number(s), {uscc_count} credit code(s), "
                   f"{card_count} card number(s)")
