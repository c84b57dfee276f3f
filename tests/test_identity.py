"""Identity across the bundle: names and ID numbers, check digits, age, credit codes, card numbers."""
import random
import sys
from datetime import date
from pathlib import Path

import pytest

from checks import identity
from checks.bundle import NotApplicable, Rules
from checks.model import CheckRun
from tests.test_income import result

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
from people import luhn_check, make_id_number, make_uscc  # noqa: E402

RNG = random.Random(7)
ID = make_id_number(RNG, date(1990, 5, 17), "男")
USCC = make_uscc(RNG, "310115")
CARD = "622202123456789012" + luhn_check("622202123456789012")


def bundle(name="王伟", id_number=ID, account_name="王伟", card=CARD, uscc=USCC, printed="2025-03-01"):
    return [result("employment_proof", "proof.pdf", {"name": name, "id_number": id_number, "employer_uscc": uscc,
                                                      "date": printed}),
            result("social_insurance", "si.pdf", {"name": "王伟", "id_number": ID, "printed_at": printed}),
            result("bank_statement", "statement.pdf", {"account_name": account_name, "account_number": card})]


def codes(results) -> list[str]:
    return [f.code for f in identity.check(results, Rules())[0]]


def test_one_person_throughout():
    found, detail = identity.check(bundle(), Rules())
    assert found == []
    assert detail == "3 name(s), 2 ID number(s), 1 credit code(s), 1 card number(s)"


def test_a_statement_of_somebody_else():
    (found,) = identity.check(bundle(account_name="李娜"), Rules())[0]
    assert found.code == "IDENTITY_MISMATCH" and found.severity == "high"
    assert found.evidence["documents"] == ["proof.pdf", "statement.pdf"]
    assert (found.evidence["expected"], found.evidence["found"]) == ("王伟", "李娜")
    assert found.evidence["found_at"]["file"] == "statement.pdf"


def test_an_id_number_of_somebody_else():
    other = make_id_number(random.Random(8), date(1988, 2, 3), "女")
    (found,) = identity.check(bundle(id_number=other), Rules())[0]
    assert found.code == "IDENTITY_MISMATCH" and found.evidence["what"] == "ID number"


@pytest.mark.parametrize("account_name, id_number", [
    ("王*", ID), ("*伟", ID), ("王 伟", ID), ("王偉", ID),  # masked, spaced, traditional
    ("王伟", ID[:4] + "*" * 10 + ID[-4:]),
])
def test_masked_and_written_variants_agree(account_name, id_number):
    assert codes(bundle(account_name=account_name, id_number=id_number)) == []


def test_an_id_number_failing_its_check_digit():
    broken = ID[:-1] + ("0" if ID[-1] != "0" else "1")
    results = bundle(id_number=broken)
    assert set(codes(results)) == {"IDENTITY_MISMATCH", "IDENTITY_ID_INVALID"}
    results[0].checks.append(CheckRun("ocr", "ran", "rapidocr"))
    invalid = [f for f in identity.check(results, Rules())[0] if f.code == "IDENTITY_ID_INVALID"]
    assert invalid[0].severity == "medium"


@pytest.mark.parametrize("born, flagged", [(date(2007, 3, 1), False), (date(2007, 3, 2), True),
                                           (date(1964, 3, 2), False), (date(1964, 3, 1), True)])
def test_age_from_the_id_number(born, flagged):
    number = make_id_number(random.Random(1), born, "女")
    results = [result("employment_proof", "proof.pdf", {"name": "王芳", "id_number": number, "date": "2025-03-01"})]
    assert codes(results) == (["IDENTITY_AGE"] if flagged else [])


def test_an_older_number_from_a_district_created_later_is_valid():
    # 320102 (玄武区) is listed from 1983: someone born in 1970 was registered there later.
    assert codes([result("employment_proof", "proof.pdf", {"id_number": make_id_number(random.Random(1),
                                                                                      date(1970, 1, 1), "女")})]) == []


def test_credit_code_and_card_checksums():
    bad_code = USCC[:-1] + ("0" if USCC[-1] != "0" else "1")
    bad_card = CARD[:-1] + str((int(CARD[-1]) + 1) % 10)
    found = identity.check(bundle(uscc=bad_code, card=bad_card), Rules())[0]
    assert {(f.code, f.severity) for f in found} == {("EMPLOYER_USCC_INVALID", "medium"),
                                                     ("IDENTITY_CARD_CHECKSUM", "low")}
    assert codes(bundle(card="6222****1234")) == []  # a masked card has no digit to check


def test_nothing_to_compare():
    with pytest.raises(NotApplicable):
        identity.check([result("other", "x.pdf")], Rules())
