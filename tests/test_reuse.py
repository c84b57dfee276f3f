"""Reuse across applicants with a real Redis: one statement edited for another holder, the same applicant again,
no applicant identity, the index rebuilt from the store, and the queue path with `docverify similar`."""
from __future__ import annotations

import json
import random
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest
import redis
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "fixtures"))

from people import make_applicant  # noqa: E402
from proof import make_proof  # noqa: E402
from statement import make_statement, render as render_statement  # noqa: E402

from checks.model import DocumentResult, Verdict  # noqa: E402
from tests.conftest import run_cli  # noqa: E402
from tests.make import text_pdf  # noqa: E402
from worker import config, report  # noqa: E402
from worker.cli import main  # noqa: E402
from worker.reuse import PREFIX, Index  # noqa: E402
from worker.result import verify  # noqa: E402
from worker.store import Store  # noqa: E402

ID_A, ID_B = "330106199711207026", "110105198803031239"


@pytest.fixture(scope="module")
def statements(tmp_path_factory) -> dict[str, Path]:
    """A genuine statement, and the same ledger re-issued under another holder's name and card number."""
    folder = tmp_path_factory.mktemp("reuse")
    a = make_applicant(random.Random("reuse:a"), 0, datetime(2025, 6, 2, 9))
    b = make_applicant(random.Random("reuse:b"), 2, datetime(2025, 6, 2, 9))
    st = make_statement(a, random.Random(1), np.random.default_rng(1))
    edited = render_statement(replace(a, name=b.name, card_number=b.card_number), st.ledger, st.period,
                              st.verification_code, np.random.default_rng(1))[0]
    other = make_statement(b, random.Random(2), np.random.default_rng(2)).pdf
    paths = {"genuine": folder / "statement.pdf", "edited": folder / "statement_b.pdf",
             "other": folder / "statement_other.pdf"}
    for key, data in (("genuine", st.pdf), ("edited", edited), ("other", other)):
        paths[key].write_bytes(data)
    return paths


@pytest.fixture
def index(env):
    settings = config.load()
    return Index(redis.Redis.from_url(settings.redis_url), Store(settings.data_dir))


def check(index: Index, path: Path, job_id: str, applicant: str | None) -> dict:
    return verify([(path.name, path.read_bytes())], bundle=False, job_id=job_id, reuse=index, applicant=applicant)


def reuse_codes(result: dict) -> set[str]:
    return {f["code"] for f in result["documents"][0]["findings"] if f["code"].startswith("REUSE_")}


def test_a_statement_edited_for_another_applicant_is_flagged_with_the_earlier_job(index, statements):
    first = check(index, statements["genuine"], "job-a", ID_A)
    assert reuse_codes(first) == set()
    assert {"name": "reuse", "status": "ran", "detail": "0 reuse finding(s)"} in first["documents"][0]["checks"]
    second = check(index, statements["edited"], "job-b", ID_B)
    doc = second["documents"][0]
    rows = next(f for f in doc["findings"] if f["code"] == "REUSE_TRANSACTIONS")
    assert rows["evidence"]["jobs"] == "job-a" and rows["evidence"]["similarity"] == 1.0
    assert rows["evidence"]["applicants"] == "3301**********7026" and rows["evidence"]["applicant_known"]
    assert doc["verdict"] == "reject"
    # The page image says the same, but it names the same earlier document: one finding is enough.
    assert reuse_codes(second) == {"REUSE_TRANSACTIONS"}
    # Neither the result nor the index holds an ID number in clear.
    stored = [index.conn.get(k) or b"" for k in index.conn.scan_iter(f"{PREFIX}:doc:*")]
    assert stored and not any(ID_A.encode() in v or ID_B.encode() in v for v in stored)
    assert ID_A not in json.dumps(second)
    assert "REUSE_TRANSACTIONS" in report.render(second, lambda sha: None, masked=True)
    # Another customer of the same bank shares the layout and template, and is not flagged.
    assert reuse_codes(check(index, statements["other"], "job-c", "C-3")) == set()


def test_the_same_applicant_resubmitting_is_not_a_finding(index, statements):
    check(index, statements["genuine"], "job-1", ID_A)
    again = check(index, statements["genuine"], "job-2", ID_A)
    assert reuse_codes(again) == set() and again["documents"][0]["verdict"] == "pass"
    assert reuse_codes(check(index, statements["genuine"], "job-3", ID_B)) == {"REUSE_SAME_FILE"}


def test_without_applicant_identity_the_finding_says_so(index, statements):
    check(index, statements["genuine"], "job-x", None)
    result = check(index, statements["edited"], "job-y", None)
    rows = next(f for f in result["documents"][0]["findings"] if f["code"] == "REUSE_TRANSACTIONS")
    assert rows["evidence"]["applicant_known"] is False and rows["evidence"]["applicants"] == "unknown"
    assert rows["severity"] == "medium" and result["documents"][0]["verdict"] == "review"
    assert "identity is missing" in rows["message"]
    assert "no applicant identity" in next(c for c in result["documents"][0]["checks"] if c["name"] == "reuse")["detail"]


def test_the_index_is_rebuilt_from_the_store(index, statements):
    check(index, statements["genuine"], "job-a", ID_A)
    index.conn.flushdb()
    assert index.reindex() == 1
    assert reuse_codes(check(index, statements["edited"], "job-b", ID_B)) == {"REUSE_TRANSACTIONS"}


def test_reindex_passes_over_a_record_a_power_cut_emptied(index, statements):
    check(index, statements["genuine"], "job-a", ID_A)
    check(index, statements["other"], "job-c", ID_B)
    # Fingerprint records are not flushed to disk before the job goes on: after a power cut one may be empty.
    (Path(index.store.blobs.root) / "fingerprints" / "job-c.json").write_bytes(b"")
    assert index.store.get_fingerprints("job-c") is None
    index.conn.flushdb()
    assert index.reindex() == 1
    assert reuse_codes(check(index, statements["edited"], "job-b", "SOMEONE-ELSE")) == {"REUSE_TRANSACTIONS"}


def test_each_document_is_indexed_once_by_its_own_lookup(index, statements):
    docs = [(name, statements[name].read_bytes()) for name in ("genuine", "other")]
    verify(docs, bundle=True, job_id="job-bundle", reuse=index, applicant=ID_A)
    ids = [k.decode().rsplit(":", 1)[1] for k in index.conn.scan_iter(f"{PREFIX}:doc:*")]
    assert sorted(ids) == ["job-bundle/0", "job-bundle/1"]
    sha = json.loads(index.conn.get(f"{PREFIX}:doc:job-bundle/1"))["fingerprints"]["sha256"]
    assert index.conn.smembers(f"{PREFIX}:sha:{sha}") == {b"job-bundle/1"}


def test_queue_applicant_option_and_similar(env, statements):
    # In-process CLI calls (the environment is the test's), the worker as its own process as in production.
    cli = CliRunner()
    a = cli.invoke(main, ["enqueue", "--applicant", "APPLICANT-A", str(statements["genuine"])]).stdout.strip()
    b = cli.invoke(main, ["enqueue", "--applicant", "APPLICANT-B", str(statements["edited"])]).stdout.strip()
    assert a and b and a != b
    assert run_cli(["worker", "--burst"], env).returncode == 0
    result = json.loads(cli.invoke(main, ["result", "--json", b]).stdout)
    assert "REUSE_TRANSACTIONS" in reuse_codes(result)
    similar = cli.invoke(main, ["similar", "--json", b])
    assert similar.exit_code == 0, similar.output
    nearest = json.loads(similar.stdout)[0]["nearest"]
    assert nearest[0]["job_id"] == a and nearest[0]["applicant"] == "APPLICANT-A"
    assert nearest[0]["scores"]["rows"] == 1.0 and nearest[0]["scores"]["template"] > 0.9
    # Statements carry figures, so neither keeps a page hash; nor a seal hash: "not measured", not 0.
    assert nearest[0]["scores"]["page"] is None and nearest[0]["scores"]["seal"] is None
    table = cli.invoke(main, ["similar", str(statements["edited"])])
    assert table.exit_code == 0 and a in table.stdout and b in table.stdout
    missing = cli.invoke(main, ["similar", "no-such-job"])
    assert missing.exit_code == 2


def test_the_id_number_on_the_proof_is_the_applicant_when_the_caller_names_nobody(index, tmp_path):
    a = make_applicant(random.Random("reuse:a"), 0, datetime(2025, 6, 2, 9))
    b = make_applicant(random.Random("reuse:b"), 2, datetime(2025, 6, 2, 9))
    genuine = make_proof(a, random.Random(1), np.random.default_rng(1)).pdf
    swapped = make_proof(replace(a, name=b.name, id_number=b.id_number), random.Random(1),
                         np.random.default_rng(1)).pdf
    first = verify([("proof.pdf", genuine)], bundle=True, job_id="job-1", reuse=index)
    assert reuse_codes(first) == set()
    # The same person again (their ID number on the letter): a resubmission.
    again = verify([("proof.pdf", genuine + b"\n")], bundle=True, job_id="job-2", reuse=index)
    assert reuse_codes(again) == set()
    ring = verify([("proof.pdf", swapped)], bundle=True, job_id="job-3", reuse=index)
    found = next(f for f in ring["documents"][0]["findings"] if f["code"] == "REUSE_TEMPLATE_FILLED")
    assert found["evidence"]["jobs"] == "job-1, job-2" and found["evidence"]["applicant_known"]
    assert found["evidence"]["applicants"] == f"{a.id_number[:4]}**********{a.id_number[-4:]}"
    assert ring["bundle"]["verdict"] == "reject"


def test_a_document_whose_fingerprints_fail_is_reviewed_not_lost(index):
    result = DocumentResult(file="x.pdf", sha256="0" * 64, format="pdf", kind="other", pages=1,
                            verdict=Verdict("pass", 0.0), findings=[], checks=[])
    index.check("job-e", None, [result], [RuntimeError("page 1 cannot be rendered")])
    assert result.checks[-1].status == "error" and "cannot be rendered" in result.checks[-1].detail
    assert result.verdict.verdict == "review"
    assert index.store.get_fingerprints("job-e")["documents"] == []


def test_near_blank_pages_of_other_applicants_are_not_the_same_page(index, tmp_path):
    """A perceptual hash sees every page with one short line as alike; their text tells them apart."""
    for i, applicant in enumerate(("P-1", "P-2", "P-3")):
        path = tmp_path / f"note{i}.pdf"
        path.write_bytes(text_pdf([f"2024-03-0{i + 1} 代发工资 {9000 + i * 111}.00"]))
        assert reuse_codes(check(index, path, f"job-n{i}", applicant)) == set()
    recycled = tmp_path / "recycled.pdf"  # the first one's page, saved again by someone else
    recycled.write_bytes(text_pdf(["2024-03-01 代发工资 9000.00"], producer="another tool"))
    assert reuse_codes(check(index, recycled, "job-n9", "P-9")) == {"REUSE_SAME_PAGE_IMAGE"}
