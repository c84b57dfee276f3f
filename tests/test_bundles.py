"""Bundles made by the fixtures (statement, proof and social-insurance PDFs), read by the real extractor and checked
as one applicant's application, the way `docverify check --bundle` checks them."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))

import bundles  # noqa: E402
from worker.result import verify  # noqa: E402

SEED = 20251128
CASES = ["match_traditional", "match_bracket_region", "sister", "ocr_lookalike", "branch", "change_exactly_30_up",
         "change_31_60", "bonus_month", "missing_month", "raised_broken", "housing_fund_short"]


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> dict[str, tuple[dict, dict, Path]]:
    """case → (truth, result, folder) for one bundle of each case."""
    out = tmp_path_factory.mktemp("bundles")
    bundles.generate_bundles(out, seed=SEED, per_case=1, cases=CASES)
    found = {}
    for truth_path in sorted(out.glob("*/bundle.truth.json")):
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
        files = [(name, (truth_path.parent / name).read_bytes()) for name in truth["files"]]
        found[truth["case"]] = truth, verify(files, bundle=True), truth_path.parent
    assert sorted(found) == sorted(CASES)
    return found


@pytest.mark.parametrize("case", CASES)
def test_the_bundle_raises_exactly_the_expected_codes(checked, case):
    truth, result, _ = checked[case]
    assert sorted({f["code"] for f in result["bundle"]["findings"]}) == truth["expected"]["codes"]


def test_every_bundle_finding_names_its_documents(checked):
    for _, result, _ in checked.values():
        json.dumps(result)  # the result contract is JSON
        files = {d["file"] for d in result["documents"]}
        for f in result["bundle"]["findings"]:
            assert f["evidence"]["documents"] and set(f["evidence"]["documents"]) <= files


def test_employer_evidence(checked):
    _, result, _ = checked["sister"]
    mismatch = next(f for f in result["bundle"]["findings"] if f["evidence"]["other"]["source"] == "social_insurance")
    assert mismatch["severity"] == "high"
    e = mismatch["evidence"]
    assert e["claimed"]["file"] == "proof.pdf" and e["other"]["file"] == "social_insurance.pdf"
    assert e["claimed"]["page"] == 1 and len(e["claimed"]["bbox"]) == 4 and e["claimed"]["units"] == "pt"
    assert e["claimed"]["normalized"] != e["other"]["normalized"] and "sister" in e["reason"]
    assert result["bundle"]["verdict"] == "reject"


def test_the_boundary_and_its_evidence(checked):
    truth, result, _ = checked["change_exactly_30_up"]
    assert truth["salary"]["max_change"] == "0.3000"
    assert result["bundle"]["findings"] == [] and result["bundle"]["verdict"] == "pass"
    _, result, _ = checked["change_31_60"]
    (jump,) = [f for f in result["bundle"]["findings"] if f["code"] == "INCOME_FLUCTUATION"]
    e = jump["evidence"]
    assert {"month", "previous_month", "amount", "previous_amount", "change", "series"} <= set(e)
    assert result["bundle"]["verdict"] == "review"


def test_bonuses_are_reported_beside_the_series(checked):
    truth, result, _ = checked["bonus_month"]
    series = next(c for c in result["bundle"]["checks"] if c["name"] == "income_series")
    assert series["status"] == "ran" and "1 bonus credit(s)" in series["detail"]
    assert len(truth["salary"]["bonuses"]) == 1


def test_a_careless_forgery_breaks_the_statement_and_the_series(checked):
    truth, result, _ = checked["raised_broken"]
    assert not truth["balances_reconcile"]
    statement = next(d for d in result["documents"] if d["file"] == "statement.pdf")
    assert "BALANCE_ROW_BROKEN" in {f["code"] for f in statement["findings"]}
    assert result["bundle"]["verdict"] == "reject"


def test_the_bundle_says_what_it_checked(checked):
    _, result, _ = checked["match_traditional"]
    status = {c["name"]: c["status"] for c in result["bundle"]["checks"]}
    assert status == {"employer": "ran", "income_series": "ran", "income_stated": "ran", "social_insurance": "ran",
                      "housing_fund": "not_applicable", "identity": "ran"}
    assert result["bundle"]["verdict"] == "pass" and result["bundle"]["score"] == 0.0


def test_not_checked_differs_from_nothing_found(checked):
    *_, folder = checked["bonus_month"]
    result = verify([("proof.pdf", (folder / "proof.pdf").read_bytes()), ("statement.pdf", b"")], bundle=True)
    status = {c["name"]: (c["status"], c.get("detail", "")) for c in result["bundle"]["checks"]}
    assert status["income_series"] == ("not_applicable", "no bank statement in the bundle")
    assert status["employer"] == ("not_applicable", "fewer than two documents name an employer (only proof.pdf)")
    assert status["identity"][0] == "ran"
    assert result["bundle"]["verdict"] == "review"  # the unreadable statement
