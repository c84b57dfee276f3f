"""Hostile and broken uploads end to end: inline (`docverify check`) and through the queue (a real burst worker).

One bundle holds a genuine statement and every kind of bad file; the statement gets its verdict, each bad file an
INPUT_ error under its sanitised name, nothing is written outside the data directory, and the worker goes on to
the next job.
"""
import json

import redis
from rq import Callback, Queue
from rq.serializers import JSONSerializer

from tests.conftest import run_cli
from tests.make import OVERSIZED, hostile_files, text_pdf
from worker import client
from worker.queue import FAILURE_CALLBACK, JOB_FUNCTION
from worker.store import Store

LIMIT = OVERSIZED - 200_000  # max_file_bytes for these runs: the oversized upload is above it, the rest far below

# The name each bad file is reported under (a label: directories and control characters dropped) → its code.
EXPECTED = {
    "encrypted.pdf": "INPUT_ENCRYPTED",
    "truncated.pdf": "INPUT_CORRUPT",
    "truncated.jpg": "INPUT_CORRUPT",
    "corrupt.png": "INPUT_CORRUPT",
    "empty.pdf": "INPUT_EMPTY",
    "javascript.pdf": "INPUT_ACTIVE_CONTENT",
    "attachment.pdf": "INPUT_ACTIVE_CONTENT",
    "bomb.png": "INPUT_TOO_MANY_PIXELS",
    "oversized.pdf": "INPUT_TOO_LARGE",
    "photo.jpg": "INPUT_UNSUPPORTED",
    "passwd.pdf": "INPUT_UNSUPPORTED",
    "x.pdf": "INPUT_CORRUPT",
    "bad[31mname.pdf": "INPUT_CORRUPT",
    "<img src=x onerror=alert(1)>.jpg": "INPUT_UNSUPPORTED",
}


def _assert_outcome(result: dict) -> None:
    documents = {d["file"]: d for d in result["documents"]}
    assert set(documents) == {"statement.pdf", "screenshot.pdf"}
    statement = documents["statement.pdf"]
    assert statement["format"] == "pdf" and statement["kind"] == "bank_statement" and statement["verdict"] == "pass"
    assert not [c for c in statement["checks"] if c["status"] == "error"]
    # sniffed by its bytes, not its name: a PNG named .pdf is checked as the image it is
    assert documents["screenshot.pdf"]["format"] == "image"
    assert {e["file"]: e["code"] for e in result["errors"]} == EXPECTED
    for error in result["errors"]:
        assert error["message"] and "Traceback" not in error["message"] and "BytesIO" not in error["message"]
    assert result["bundle"]["verdict"] == "review"  # files of the bundle could not be read


def _tree(root):
    return {p.relative_to(root).as_posix() for p in root.rglob("*")}


def test_hostile_bundle_inline(env, tmp_path):
    env = {**env, "DOCVERIFY_MAX_FILE_BYTES": str(LIMIT)}
    inputs, cwd = tmp_path / "in", tmp_path / "cwd"
    cwd.mkdir()
    (inputs / "a" / "b").mkdir(parents=True)
    (inputs / "etc").mkdir()
    paths = []
    for name, data in hostile_files().items():
        path = inputs / name  # '../../etc/passwd.pdf' is reached as in/a/b/../../etc/passwd.pdf
        if name.startswith("../"):
            (inputs / name.removeprefix("../../")).write_bytes(data)
            path = inputs / "a" / "b" / name
        else:
            path.write_bytes(data)
        paths.append(str(path))
    before = _tree(tmp_path)
    done = run_cli(["check", "--bundle", "--json", str(tmp_path / "out.json"), "--report", str(tmp_path / "reports"),
                    *paths], env, cwd=cwd)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "\x1b[31m" not in done.stdout
    result = json.loads((tmp_path / "out.json").read_text())
    _assert_outcome(result)
    report = (tmp_path / "reports" / f"{result['job_id']}.html").read_text(encoding="utf-8")
    assert "passwd.pdf" in report and "<img src=x" not in report and "&lt;img src=x" in report
    assert {p.split("/")[0] for p in _tree(tmp_path) - before} == {"out.json", "reports"}


def test_hostile_bundle_through_the_queue_and_the_worker_goes_on(env, tmp_path, monkeypatch):
    monkeypatch.setenv("DOCVERIFY_MAX_FILE_BYTES", str(LIMIT))
    env = {**env, "DOCVERIFY_MAX_FILE_BYTES": str(LIMIT)}
    data_dir, cwd = tmp_path / "data", tmp_path / "cwd"
    cwd.mkdir()
    hostile = client.submit_files(list(hostile_files().items()), bundle=True)
    # A backend enqueueing with plain RQ may pass any name: it stays a label.
    raw = Store(data_dir).put_upload(b"\x00" * 64, "raw.bin")
    plain = Queue("docverify", connection=redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"]), serializer=JSONSerializer)
    raw_job = plain.enqueue_call(JOB_FUNCTION, kwargs={"refs": [{"sha256": raw.sha256,
                                                                  "name": "../../../../tmp/evil\x1b.pdf"}],
                                                       "bundle": False}, on_failure=Callback(FAILURE_CALLBACK)).id
    following = client.submit_files([("next.pdf", text_pdf(["中国工商银行借记账户历史明细（电子版）",
                                                             "2024-03-15 代发工资 12,000.00"]))])
    outside = _tree(tmp_path) - {p for p in _tree(tmp_path) if p == "data" or p.startswith("data/")}

    work = run_cli(["worker", "--burst"], env, cwd=cwd)
    assert work.returncode == 0, work.stderr

    _assert_outcome(client.result(hostile))
    assert client.result(raw_job)["errors"] == [
        {"file": "evil.pdf", "code": "INPUT_UNSUPPORTED",
         "message": "The file type is not supported (unknown); expected PDF, JPEG, PNG, TIFF, WebP, BMP or HEIC."}]
    assert client.result(following)["documents"][0]["file"] == "next.pdf"  # the worker took the next job
    # Nothing outside the data directory, and inside it only the store's own layout.
    assert _tree(tmp_path) - {p for p in _tree(tmp_path) if p == "data" or p.startswith("data/")} == outside
    assert not any(cwd.iterdir())
    for path in _tree(data_dir):
        parts = path.split("/")
        assert parts[0] in ("uploads", "results", "fingerprints", "pending"), path
        assert parts[0] != "pending" or len(parts) == 1, path  # every accepted submission has ended
        if parts[0] == "uploads":
            assert len(parts) < 4 or parts[3] in ("content", "meta.json"), path
        elif len(parts) > 1:
            assert parts[1] in (f"{hostile}.json", f"{raw_job}.json", f"{following}.json"), path
