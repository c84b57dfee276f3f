"""Completion callbacks: a real HTTP receiver on a free loopback port, a real redis-server and RQ worker."""
import json
import signal
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import redis
from rq import Callback, Queue
from rq.serializers import JSONSerializer

from tests.conftest import ROOT, run_cli
from worker import callback, client, jobs
from worker.queue import FAILURE_CALLBACK, JOB_FUNCTION, fetch
from worker.result import verify
from worker.store import Store

SAMPLES = ROOT / "fixtures/samples/applicant_01"
SECRET = "s3cret"


@pytest.fixture
def receiver():
    """A server that answers each POST with the next status of `answers` (200 once they run out) and keeps what
    it was sent."""
    received, answers = [], []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((body, self.headers.get(callback.HEADER)))
            self.send_response(answers.pop(0) if answers else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received, answers
    server.shutdown()


@pytest.fixture
def signed(env, monkeypatch):
    monkeypatch.setenv("DOCVERIFY_CALLBACK_SECRET", SECRET)
    return {**env, "DOCVERIFY_CALLBACK_SECRET": SECRET}


def test_a_finished_job_posts_its_signed_summary(signed, receiver):
    url, received, _ = receiver
    job_id = client.submit([SAMPLES / "statement_overlay.pdf"], callback_url=url)
    assert run_cli(["worker", "--burst"], signed).returncode == 0
    ((body, header),) = received
    assert callback.verify(body, header, SECRET) and not callback.verify(body, header, "other")
    summary = json.loads(body)
    result = Store(signed["DOCVERIFY_DATA_DIR"]).get_result(job_id)
    assert summary["job_id"] == job_id and summary["status"] == "finished"
    (doc,) = summary["documents"]
    assert doc["verdict"] == result["documents"][0]["verdict"] == "reject"
    assert doc["codes"] == [f["code"] for f in result["documents"][0]["findings"]]
    assert client.status(job_id)["meta"]["callback"]["status"] == "delivered"


def test_a_receiver_that_errors_is_retried_and_a_refusal_is_not(receiver):
    url, received, answers = receiver
    answers += [503, 502]
    waits = []
    outcome = callback.deliver(url, {"job_id": "x"}, SECRET, sleep=waits.append)
    assert outcome == {"status": "delivered", "attempts": 3, "http_status": 200} and len(received) == 3
    assert waits == [callback.BACKOFF, 2 * callback.BACKOFF]
    answers += [400]
    assert callback.deliver(url, {"job_id": "y"}, SECRET, sleep=waits.append)["status"] == "failed"
    assert len(received) == 4


def test_an_unreachable_receiver_ends_as_a_recorded_failure_of_the_callback_only():
    outcome = callback.deliver("http://127.0.0.1:9/hook", {"job_id": "x"}, SECRET, sleep=lambda s: None)
    assert outcome["status"] == "failed" and outcome["attempts"] == callback.ATTEMPTS


def test_a_failed_job_posts_its_reason(signed, receiver):
    url, received, _ = receiver
    q = Queue("docverify", connection=redis.Redis.from_url(signed["DOCVERIFY_REDIS_URL"]), serializer=JSONSerializer)
    job = q.enqueue_call(JOB_FUNCTION, kwargs={"refs": [{"sha256": "not-a-hash", "name": "x.pdf"}], "bundle": False,
                                               "callback_url": url}, on_failure=Callback(FAILURE_CALLBACK))
    run_cli(["worker", "--burst"], signed)
    ((body, header),) = received
    assert callback.verify(body, header, SECRET)
    assert json.loads(body)["status"] == "failed" and "not a sha256" in json.loads(body)["reason"]
    assert Store(signed["DOCVERIFY_DATA_DIR"]).get_failure(job.id)["callback"]["status"] == "delivered"


def test_an_attempt_that_dies_after_storing_its_result_ends_the_job_with_it(signed, receiver):
    # A horse killed between storing its result and RQ's success handling cannot be produced on demand: the
    # handler for a dead horse is called here as the worker calls it after the last attempt.
    url, received, _ = receiver
    job_id = client.submit([SAMPLES / "statement.pdf"], callback_url=url)
    store = Store(signed["DOCVERIFY_DATA_DIR"])
    store.put_result(job_id, verify([("statement.pdf", (SAMPLES / "statement.pdf").read_bytes())], bundle=False,
                                    job_id=job_id))
    job = fetch(redis.Redis.from_url(signed["DOCVERIFY_REDIS_URL"]), job_id)
    job.retries_left = 0
    jobs._settings.cache_clear()  # this test's store and secret
    jobs.horse_killed(job, 4242, signal.SIGKILL, None)
    assert store.get_failure(job_id) is None and client.status(job_id)["status"] == "finished"
    ((body, header),) = received
    assert callback.verify(body, header, SECRET) and json.loads(body)["status"] == "finished"
    assert job.get_meta(refresh=True)["failed_attempts"] == ["the work horse (pid 4242) died: signal SIGKILL"]


def test_callbacks_need_a_secret_and_an_http_url(env, receiver):
    with pytest.raises(callback.BadCallback, match="DOCVERIFY_CALLBACK_SECRET"):
        client.submit([SAMPLES / "statement.pdf"], callback_url=receiver[0])
    with pytest.raises(callback.BadCallback, match="http"):
        client.submit([SAMPLES / "statement.pdf"], callback_url="file:///etc/passwd")
    assert Store(env["DOCVERIFY_DATA_DIR"]).upload_count() == 0
