"""The HTTP job service against a real redis-server and a real RQ worker."""
import json

import pytest
import redis
from fastapi.testclient import TestClient

from tests.conftest import ROOT, run_cli
from worker import config
from worker.api import create_app

STATEMENT = ROOT / "fixtures/samples/applicant_01/statement.pdf"
KEY = {"X-API-Key": "key-2"}


@pytest.fixture
def api(env, monkeypatch):
    monkeypatch.setenv("DOCVERIFY_API_KEYS", "key-1, key-2")
    return TestClient(create_app(config.load()))


def _untouched(env) -> bool:
    """Nothing in the store, nothing in Redis."""
    data = config.load().data_dir
    return not (data.exists() and any(data.rglob("*"))) and not redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"]).keys()


def _pdf(name="statement.pdf"):
    return ("file", (name, STATEMENT.read_bytes(), "application/pdf"))


def test_without_a_valid_key_401_and_nothing_touched(api, env):
    for headers in ({}, {"X-API-Key": "key-3"}, {"X-API-Key": ""}):
        assert api.post("/v1/jobs", files=[_pdf()], headers=headers).status_code == 401
        assert api.get("/v1/jobs/abc", headers=headers).status_code == 401
        assert api.get("/v1/jobs/abc/result", headers=headers).status_code == 401
    assert _untouched(env)


def test_no_keys_configured_refuses_every_request(env, monkeypatch):
    monkeypatch.delenv("DOCVERIFY_API_KEYS", raising=False)
    assert TestClient(create_app(config.load())).post("/v1/jobs", files=[_pdf()]).status_code == 401
    serve = run_cli(["serve", "--port", "1"], {k: v for k, v in env.items() if k != "DOCVERIFY_API_KEYS"})
    assert serve.returncode == 2 and "DOCVERIFY_API_KEYS" in serve.stderr


def test_keys_and_limit_from_the_config_file(tmp_path):
    toml = tmp_path / "docverify.toml"
    toml.write_text('api_keys = ["k1", "k2"]\nmax_request_bytes = 1234\n')
    settings = config.load({"DOCVERIFY_CONFIG": str(toml)})
    assert settings.api_keys == ("k1", "k2") and settings.max_request_bytes == 1234
    assert config.load({"DOCVERIFY_CONFIG": str(toml), "DOCVERIFY_API_KEYS": "k3"}).api_keys == ("k3",)


def test_oversized_request_is_413_and_nothing_touched(env, monkeypatch):
    monkeypatch.setenv("DOCVERIFY_API_KEYS", "key-2")
    monkeypatch.setenv("DOCVERIFY_MAX_REQUEST_BYTES", "2000")
    api = TestClient(create_app(config.load()))
    assert api.post("/v1/jobs", files=[_pdf()], headers=KEY).status_code == 413

    def chunked():  # no Content-Length: the limit must hold on what arrives
        yield b"--x\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n\r\n"
        for _ in range(10):
            yield b"%" * 500
        yield b"\r\n--x--\r\n"
    headers = {**KEY, "Content-Type": "multipart/form-data; boundary=x"}
    assert api.post("/v1/jobs", content=chunked(), headers=headers).status_code == 413
    assert _untouched(env)


def test_bad_submissions_are_refused_before_storing(api, env):
    two = [_pdf("a.pdf"), _pdf("b.pdf")]
    assert api.post("/v1/jobs", files=two, headers=KEY).status_code == 400  # several files need bundle=true
    assert api.post("/v1/jobs", data={"bundle": "true"}, headers=KEY).status_code == 422
    assert _untouched(env)


def test_submit_run_status_result_report(api, env, tmp_path):
    # One applicant, named by the caller: the second job's statement is a resubmission, not reuse (REUSE_SAME_FILE).
    single = api.post("/v1/jobs", files=[_pdf()], data={"applicant": "A-1"}, headers=KEY)
    assert single.status_code == 202
    job_id = single.json()["job_id"]
    bundle = api.post("/v1/jobs", files=[_pdf(), ("file", ("notes.txt", b"just some text\n", "text/plain"))],
                      data={"bundle": "true", "applicant": "A-1"}, headers=KEY)
    assert bundle.status_code == 202
    bundle_id = bundle.json()["job_id"]

    assert api.get(f"/v1/jobs/{job_id}", headers=KEY).json()["status"] == "queued"
    assert api.get(f"/v1/jobs/{job_id}/result", headers=KEY).status_code == 409
    assert api.get("/v1/jobs/nosuchjob/result", headers=KEY).status_code == 404
    assert api.get("/v1/jobs/no such job!", headers=KEY).status_code == 404

    work = run_cli(["worker", "--burst"], env)
    assert work.returncode == 0, work.stderr

    status = api.get(f"/v1/jobs/{job_id}", headers=KEY).json()
    assert status["status"] == "finished" and status["meta"]["stage"] == "done"
    assert status["meta"]["documents"] == 1

    inline_json = tmp_path / "inline.json"
    run_cli(["check", "--json", str(inline_json), str(STATEMENT)], env)
    inline = json.loads(inline_json.read_text())
    stored = api.get(f"/v1/jobs/{job_id}/result", headers=KEY).json()
    assert stored["job_id"] == job_id
    for key in ("file", "sha256", "kind", "verdict", "score", "pages"):
        assert stored["documents"][0][key] == inline["documents"][0][key]
    assert _codes(stored) == _codes(inline)

    # the unsupported file gets its INPUT_ error and the statement is still checked
    checked = api.get(f"/v1/jobs/{bundle_id}/result", headers=KEY).json()
    assert [e["code"] for e in checked["errors"]] == ["INPUT_UNSUPPORTED"]
    assert checked["errors"][0]["file"] == "notes.txt"
    assert _codes(checked) == _codes(inline) and "bundle" in checked

    page = api.get(f"/v1/jobs/{job_id}/report", headers=KEY)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text and job_id in page.text


def _codes(result: dict) -> list[list[str]]:
    return [sorted(f["code"] for f in doc["findings"]) for doc in result["documents"]]


def test_openapi_spec_lists_the_routes_and_the_key(api):
    spec = api.get("/openapi.json").json()
    assert {"/v1/jobs", "/v1/jobs/{job_id}", "/v1/jobs/{job_id}/result", "/v1/jobs/{job_id}/report"} <= set(spec["paths"])
    assert "multipart/form-data" in spec["paths"]["/v1/jobs"]["post"]["requestBody"]["content"]
    assert spec["components"]["securitySchemes"]["APIKeyHeader"]["name"] == "X-API-Key"
