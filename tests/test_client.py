"""The Python client against a real redis-server and a real RQ worker."""
import pytest
import redis
from rq import Callback, Queue
from rq.serializers import JSONSerializer

from tests.conftest import ROOT, run_cli
from worker import client
from worker.queue import FAILURE_CALLBACK, JOB_FUNCTION, RedisUnavailable
from worker.store import Store

SAMPLES = ROOT / "fixtures/samples/applicant_01"


def test_submit_status_result(env):
    single = client.submit([SAMPLES / "statement.pdf"])
    bundle = client.submit([SAMPLES / "statement.pdf", SAMPLES / "proof.pdf"], bundle=True)
    assert client.status(single)["status"] == "queued"
    with pytest.raises(TimeoutError):
        client.result(single, timeout=0.3)

    assert run_cli(["worker", "--burst"], env).returncode == 0

    result = client.result(single, timeout=10)
    assert result == Store(env["DOCVERIFY_DATA_DIR"]).get_result(single)
    assert [d["file"] for d in result["documents"]] == ["statement.pdf"]
    both = client.result(bundle)
    assert [d["file"] for d in both["documents"]] == ["statement.pdf", "proof.pdf"] and "bundle" in both
    meta = client.status(bundle)["meta"]
    assert {k: meta[k] for k in ("stage", "document", "documents")} == {"stage": "done", "document": 2, "documents": 2}
    assert meta["pid"] > 0 and meta["host"]


def test_failed_job_raises_with_its_reason(env):
    q = Queue("docverify", connection=redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"]), serializer=JSONSerializer)
    job = q.enqueue_call(JOB_FUNCTION, kwargs={"refs": [{"sha256": "not-a-hash", "name": "x.pdf"}], "bundle": False},
                         on_failure=Callback(FAILURE_CALLBACK))
    run_cli(["worker", "--burst"], env)
    with pytest.raises(client.JobFailed, match="not a sha256"):
        client.result(job.id)


def test_refusals_store_nothing(env, monkeypatch):
    pdfs = [SAMPLES / "statement.pdf", SAMPLES / "proof.pdf"]
    with pytest.raises(ValueError, match="bundle"):
        client.submit(pdfs)
    monkeypatch.setenv("DOCVERIFY_REDIS_URL", "redis://127.0.0.1:1/0")
    with pytest.raises(RedisUnavailable):
        client.submit(pdfs[:1])
    assert Store(env["DOCVERIFY_DATA_DIR"]).upload_count() == 0
