"""EMPLOYER_MISMATCH over extracted documents: the proof's employer against social insurance, housing fund and the
salary payer."""
import random
import sys
from pathlib import Path

import pytest

from checks import employer
from checks.bundle import NotApplicable, Rules
from checks.model import CheckRun
from tests.test_income import result, txn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))
from people import make_uscc  # noqa: E402

COMPANY = "上海星辰科技有限公司"


def proof(name: str, uscc: str | None = None):
    return result("employment_proof", "proof.pdf", {"employer": name} | ({"employer_uscc": uscc} if uscc else {}))


def insurance(*names: str, uscc: str | None = None):
    """A record whose months are paid by `names` in turn, two months each, the last name the latest."""
    rows = [{"period": f"2025-{i + 1:02d}", "insurance": "养老", "category": "正常应缴", "base": "10000.00",
             "employer": name, "page": 1, "bbox": [30, 200 + 14 * i, 560, 210 + 14 * i]}
            for i, name in enumerate(n for n in names for _ in range(2))]
    return result("social_insurance", "si.pdf", {"employer": names[0]} | ({"employer_uscc": uscc} if uscc else {}),
                  contributions=rows)


def paid_by(payer: str):
    return result("bank_statement", "statement.pdf",
                  transactions=[txn(f"2025-0{m}-10", 9000, "代发工资", payer) for m in range(1, 4)])


def mismatches(results):
    return employer.check(results, Rules())[0]


@pytest.mark.parametrize("written", ["星辰科技（上海）有限公司", "上海市星辰科技有限责任公司", "上海 星辰科技 有限公司"])
def test_one_company_written_two_ways_matches(written):
    found, detail = employer.check([proof(written), insurance(COMPANY), paid_by(COMPANY)], Rules())
    assert found == []
    assert detail == "proof.pdf (proof) against si.pdf (social_insurance), statement.pdf (salary_payer)"


def test_a_sister_company_on_the_proof_is_rejected_with_its_evidence():
    (found,) = mismatches([proof("上海星辰网络科技有限公司"), insurance(COMPANY)])
    assert (found.code, found.severity) == ("EMPLOYER_MISMATCH", "high")
    e = found.evidence
    assert e["documents"] == ["proof.pdf", "si.pdf"]
    assert "sister company" in e["reason"] and 0 < e["similarity"] < 1
    assert (e["claimed"]["name"], e["claimed"]["normalized"]) == ("上海星辰网络科技有限公司", "星辰网络科技(上海)有限公司")
    assert (e["other"]["name"], e["other"]["normalized"]) == (COMPANY, "星辰科技(上海)有限公司")
    assert e["claimed"]["page"] == 1 and e["claimed"]["bbox"] and e["other"]["bbox"] == [30, 214, 560, 224]
    assert "proof.pdf names 上海星辰网络科技有限公司 as the employer but si.pdf" in found.message


def test_the_latest_contribution_months_count():
    # The applicant moved from 云帆 to 星辰 in the record: a proof from 星辰 matches, one from 云帆 does not.
    assert mismatches([proof(COMPANY), insurance("上海云帆科技有限公司", COMPANY)]) == []
    (found,) = mismatches([proof("上海云帆科技有限公司"), insurance("上海云帆科技有限公司", COMPANY)])
    assert found.evidence["other"]["name"] == COMPANY


def test_salary_payer_and_hr_agency_mismatches_ask_for_review():
    (payer,) = mismatches([proof(COMPANY), paid_by("上海云帆科技有限公司")])
    assert (payer.severity, payer.evidence["other"]["source"]) == ("medium", "salary_payer")
    (agency,) = mismatches([proof(COMPANY), insurance("上海外服（集团）有限公司")])
    assert agency.severity == "medium"


def test_an_ocr_read_name_asks_for_review():
    photo = proof("上海星展科技有限公司")
    photo.checks.append(CheckRun("ocr", "ran", "rapidocr"))
    (found,) = mismatches([photo, insurance(COMPANY)])
    assert found.severity == "medium"


def test_credit_codes_decide():
    rng = random.Random(3)
    code, other = make_uscc(rng, "310115"), make_uscc(rng, "310115")
    assert mismatches([proof("上海辰星智能科技有限公司", code), insurance(COMPANY, uscc=code)]) == []
    (found,) = mismatches([proof(COMPANY, code), insurance(COMPANY, uscc=other)])
    assert found.evidence["reason"].startswith("different credit codes")


def test_a_branch_is_not_its_head_office():
    (found,) = mismatches([proof("上海星辰科技有限公司杭州分公司"), insurance(COMPANY)])
    assert "branch" in found.evidence["reason"]


def test_one_employer_alone_is_not_compared():
    with pytest.raises(NotApplicable, match="only proof.pdf"):
        employer.check([proof(COMPANY), paid_by("王伟")], Rules())
    with pytest.raises(NotApplicable, match="fewer than two"):
        employer.check([], Rules())
