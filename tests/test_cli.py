"""The command line as users call it: exit codes, the JSON contract, help and explain."""
import json

import pytest

from checks.catalog import CATALOG
from tests.conftest import run_cli
from tests.make import rewrite, text_pdf

CONTRACT_TOP = {"schema", "job_id", "created_at", "engine_version", "documents", "errors"}
CONTRACT_DOC = {"file", "sha256", "format", "kind", "pages", "verdict", "score", "findings", "extracted"}
CONTRACT_FINDING = {"code", "severity", "message", "evidence"}


@pytest.fixture
def pdfs(tmp_path):
    genuine = text_pdf(["中国工商银行借记账户历史明细（电子版）", "户名：张三 账号：6222021234567890123"])
    paths = {
        "genuine": genuine,
        "edited": rewrite(genuine, info={"/Producer": "Adobe Acrobat Pro DC 23.1"}),
        "bad": b"%PDF-1.7\nthis is not a pdf",
    }
    for name, data in paths.items():
        (tmp_path / f"{name}.pdf").write_bytes(data)
    return {name: str(tmp_path / f"{name}.pdf") for name in paths}


def test_exit_codes_follow_the_linter_convention(env, pdfs):
    assert run_cli(["check", pdfs["genuine"]], env).returncode == 0
    assert run_cli(["check", pdfs["edited"]], env).returncode == 1
    assert run_cli(["check", pdfs["genuine"], pdfs["bad"]], env).returncode == 2
    assert run_cli(["check"], env).returncode == 2  # usage error
    assert run_cli(["check", "/nonexistent/statement.pdf"], env).returncode == 2


def test_json_matches_the_contract(env, pdfs, tmp_path):
    out = tmp_path / "out.json"
    proc = run_cli(["check", "--bundle", "--json", str(out), pdfs["genuine"], pdfs["edited"], pdfs["bad"]], env)
    assert proc.returncode == 2
    result = json.loads(out.read_text())
    assert set(result) == CONTRACT_TOP | {"bundle"}
    assert result["schema"] == "docverify.result/1"
    assert [d["file"] for d in result["documents"]] == ["genuine.pdf", "edited.pdf"]
    for doc in result["documents"]:
        assert CONTRACT_DOC <= set(doc)
        assert doc["format"] == "pdf" and doc["kind"] == "bank_statement" and doc["pages"] == 1
        assert doc["extracted"]["fields"]["bank"]["value"] == "ICBC"
        assert doc["extracted"]["fields"]["account_number"]["value"] == "6222***********0123"  # masked by default
    edited = result["documents"][1]
    assert edited["verdict"] == "review" and 0 < edited["score"] < 1
    assert {f["code"] for f in edited["findings"]} == {"PDF_EDITOR_SOFTWARE", "PDF_REWRITTEN"}
    for finding in edited["findings"]:
        assert CONTRACT_FINDING <= set(finding) and finding["code"] in CATALOG
        assert finding["severity"] in ("low", "medium", "high")
    bundle = result["bundle"]
    assert bundle["verdict"] == "review"
    assert [f["code"] for f in bundle["findings"]] == ["IDENTITY_CARD_CHECKSUM"]  # the test's card fails Luhn
    assert {c["name"]: c["status"] for c in bundle["checks"]}["income_series"] == "not_applicable"
    (error,) = result["errors"]
    assert error["file"] == "bad.pdf" and error["code"] == "INPUT_CORRUPT" and error["message"]


def test_json_to_stdout_keeps_the_table_on_stderr(env, pdfs):
    proc = run_cli(["check", "--json", "-", pdfs["genuine"]], env)
    assert json.loads(proc.stdout)["documents"][0]["verdict"] == "pass"
    assert "genuine.pdf" in proc.stderr


def test_table_names_file_kind_verdict_and_reasons(env, pdfs):
    proc = run_cli(["check", pdfs["edited"], pdfs["bad"]], env)
    assert "edited.pdf" in proc.stdout and "review" in proc.stdout and "PDF_EDITOR_SOFTWARE" in proc.stdout
    assert "INPUT_CORRUPT" in proc.stdout and "Traceback" not in proc.stdout + proc.stderr


def test_personal_numbers_are_masked_unless_asked(env, tmp_path):
    path = tmp_path / "流水_6222021234567890123.pdf"
    path.write_bytes(rewrite(text_pdf(["交易明细"]), info={"/Producer": "Foxit PDF Editor"}))
    masked = run_cli(["check", "--json", "-", str(path)], env)
    assert "6222021234567890123" not in masked.stdout and "6222***********0123" in masked.stdout
    raw = run_cli(["check", "--no-mask", "--json", "-", str(path)], env)
    assert "6222021234567890123" in raw.stdout


def test_report_is_written(env, pdfs, tmp_path):
    proc = run_cli(["check", "--report", str(tmp_path / "rep"), pdfs["edited"]], env)
    (html,) = [p for p in (tmp_path / "rep").glob("*.html") if p.name != "index.html"]
    text = html.read_text()
    assert "PDF_EDITOR_SOFTWARE" in text and "Adobe Acrobat Pro DC" in text and str(html) in proc.stderr


def test_extract_prints_fields_and_rows_as_table_json_csv(env, tmp_path):
    from tests.conftest import ROOT

    statement = str(ROOT / "fixtures" / "samples" / "applicant_01" / "statement.pdf")
    as_json = json.loads(run_cli(["extract", "--format", "json", statement], env).stdout)
    assert as_json["kind"] == "bank_statement" and len(as_json["transactions"]) == 38
    assert as_json["fields"]["account_number"]["value"].count("*") == 11
    csv_text = run_cli(["extract", "--format", "csv", statement], env).stdout.splitlines()
    assert csv_text[0].startswith("date,time,description,credit,debit,balance,counterparty") and len(csv_text) == 39
    table = run_cli(["extract", statement], env)
    assert table.returncode == 0 and "代发工资" in table.stdout and "ICBC" in table.stdout
    assert run_cli(["extract", str(tmp_path / "missing.pdf")], env).returncode == 2


@pytest.mark.parametrize("command", ["check", "enqueue", "worker", "status", "result", "report", "explain", "extract"])
def test_every_command_has_help(env, command):
    proc = run_cli([command, "--help"], env)
    assert proc.returncode == 0 and "Usage: docverify " + command in proc.stdout


def test_explain_every_code(env):
    listing = run_cli(["explain"], env).stdout
    for code in CATALOG:
        assert code in listing
    entry = run_cli(["explain", "pdf_revision_content_changed"], env)
    assert entry.returncode == 0 and "Why it matters" in entry.stdout and "genuine" in entry.stdout
    assert run_cli(["explain", "NO_SUCH_CODE"], env).returncode == 2


def test_catalog_entries_are_complete():
    for entry in CATALOG.values():
        assert entry.code.split("_")[0] in ("PDF", "IMG", "TEXT", "BALANCE", "EMPLOYER", "INCOME", "IDENTITY", "SI",
                                            "INPUT", "REUSE")
        assert entry.severity in ("low", "medium", "high")
        assert entry.why and entry.genuine and entry.false_positives


def test_masking_keeps_identifiers_of_the_result():
    from worker.privacy import mask

    result = {"job_id": "832d7010e2c240ca8fd19761981197b6", "sha256": "0123456789012345678901234567890123456789",
              "documents": [{"file": "a_13812345678.pdf", "message": "卡号 6222021234567890123"}]}
    masked = mask(result)
    assert masked["job_id"] == result["job_id"] and masked["sha256"] == result["sha256"]
    assert masked["documents"][0] == {"file": "a_138****5678.pdf", "message": "卡号 6222***********0123"}
