"""End to end through the real queue: CLI enqueue → Redis → burst worker → stored result."""
import json
import os
import subprocess

import pytest
import redis
from rq import Callback, Queue, Retry, Worker
from rq.serializers import JSONSerializer

from tests.conftest import DOCVERIFY, run_cli
from tests.make import rewrite, text_pdf
from worker import config, jobs
from worker.queue import JOB_FUNCTION, fetch
from worker.store import Store


@pytest.fixture
def samples(tmp_path):
    """Three different statements, one of them saved by an editor."""
    for i in range(3):
        data = text_pdf(["中国工商银行借记账户历史明细（电子版）", f"2024-0{i + 1}-15 代发工资 12,000.00"])
        if i == 2:
            data = rewrite(data, info={"/Producer": "Foxit PDF Editor 12.1"})
        (tmp_path / f"statement{i}.pdf").write_bytes(data)
    return tmp_path


def _pdfs(samples, n):
    return [str(samples / f"statement{i}.pdf") for i in range(n)]


def test_enqueue_worker_result_matches_inline_check(env, samples, tmp_path):
    pdf = _pdfs(samples, 1)[0]
    enq = run_cli(["enqueue", pdf], env)
    assert enq.returncode == 0, enq.stderr
    job_ids = enq.stdout.split()
    assert len(job_ids) == 1 and "queued 1 job" in enq.stderr

    assert run_cli(["status", job_ids[0]], env).stdout.count('"queued"') == 1
    work = run_cli(["worker", "--burst"], env)
    assert work.returncode == 0, work.stderr

    stored = json.loads(run_cli(["result", job_ids[0], "--json"], env).stdout)
    inline = run_cli(["check", "--json", str(tmp_path / "inline.json"), pdf], env)
    inline_result = json.loads((tmp_path / "inline.json").read_text())
    assert stored["schema"] == "docverify.result/1" and stored["job_id"] == job_ids[0]
    for key in ("file", "sha256", "kind", "verdict", "score", "findings", "pages"):
        assert stored["documents"][0][key] == inline_result["documents"][0][key]
    # the result lives in the store, not only in Redis
    assert Store(env["DOCVERIFY_DATA_DIR"]).get_result(job_ids[0]) == stored
    assert json.loads(run_cli(["status", job_ids[0]], env).stdout)["status"] == "finished"
    assert inline.returncode == run_cli(["result", job_ids[0]], env).returncode


def test_bundle_is_one_job_and_documents_are_one_each(env, samples):
    files = _pdfs(samples, 3)
    bundle = run_cli(["enqueue", "--bundle", *files], env)
    single = run_cli(["enqueue", *files], env)
    assert len(bundle.stdout.split()) == 1
    assert len(single.stdout.split()) == 3
    run_cli(["worker", "--burst"], env)
    result = json.loads(run_cli(["result", bundle.stdout.split()[0], "--json"], env).stdout)
    assert len(result["documents"]) == 3 and result["bundle"]["verdict"] in ("pass", "review", "reject")
    # the same three files were uploaded twice: stored once each
    assert Store(env["DOCVERIFY_DATA_DIR"]).upload_count() == 3


def test_the_same_submission_is_one_job_and_a_finished_one_is_not_run_again(env, samples):
    pdf = _pdfs(samples, 1)[0]
    waiting = Queue(config.load().queue, connection=redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"]),
                    serializer=JSONSerializer)
    first = run_cli(["enqueue", pdf], env).stdout.split()
    assert run_cli(["enqueue", pdf], env).stdout.split() == first and waiting.count == 1
    run_cli(["worker", "--burst"], env)
    assert run_cli(["enqueue", pdf], env).stdout.split() == first and waiting.count == 0
    assert json.loads(run_cli(["status", first[0]], env).stdout)["status"] == "finished"
    # Another name, or the same file as a bundle, is another result: another job.
    renamed = samples / "renamed.pdf"
    renamed.write_bytes((samples / "statement0.pdf").read_bytes())
    assert run_cli(["enqueue", str(renamed)], env).stdout.split() != first
    assert run_cli(["enqueue", "--bundle", pdf], env).stdout.split() != first
    assert waiting.count == 2


def test_jobs_carry_references_and_a_timeout(env, samples):
    pdf = _pdfs(samples, 1)[0]
    job_id = run_cli(["enqueue", pdf], env).stdout.strip()
    job = fetch(redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"]), job_id)
    assert job.func_name == JOB_FUNCTION
    assert job.timeout == config.load().job_timeout
    (ref,) = job.kwargs["refs"]
    assert set(ref) == {"sha256", "name"} and len(ref["sha256"]) == 64
    raw = redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"]).hget(f"rq:job:{job_id}", "data")
    assert len(raw) < 1000  # JSON of references, not the PDF


def test_wait_prints_verdicts_and_exit_status(env, samples):
    pdf = _pdfs(samples, 1)[0]
    worker = subprocess.Popen(DOCVERIFY + ["worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        done = run_cli(["enqueue", "--wait", "--timeout", "120", "--json", pdf], env)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    payload = json.loads(done.stdout)
    assert len(payload["jobs"]) == 1 and payload["results"][0]["job_id"] == payload["jobs"][0]
    assert done.returncode in (0, 1)


def test_failing_job_is_recorded_with_its_reason_and_not_retried(env):
    """A job that fails on what it was given fails the same way every time: it ends at once, retries or not."""
    conn = redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"])
    q = Queue("docverify", connection=conn, serializer=JSONSerializer)
    job = q.enqueue_call(JOB_FUNCTION, kwargs={"refs": [{"sha256": "not-a-hash", "name": "x.pdf"}],
                                               "bundle": False},
                         retry=Retry(max=3), on_failure=Callback("worker.jobs.record_failure"))
    run_cli(["worker", "--burst"], env)
    status = json.loads(run_cli(["status", job.id], env).stdout)
    assert status["status"] == "failed"
    assert "not a sha256" in status["failure"]["reason"] and status["failure"]["attempts"] == 1
    assert fetch(conn, job.id).get_status() == "failed"
    res = run_cli(["result", job.id], env)
    assert res.returncode == 2 and "failed" in res.stderr


def test_unreachable_redis_is_one_clear_line_and_check_still_works(env, samples):
    dead = {**env, "DOCVERIFY_REDIS_URL": "redis://127.0.0.1:1/0"}
    pdf = _pdfs(samples, 1)[0]
    enq = run_cli(["enqueue", pdf], dead)
    assert enq.returncode == 2
    lines = enq.stderr.strip().splitlines()
    assert len(lines) == 1 and "redis-server" in lines[0] and "Traceback" not in enq.stderr
    assert run_cli(["check", pdf], dead).returncode in (0, 1)


def test_job_over_its_timeout_is_killed_and_recorded(env, tmp_path):
    long_pdf = tmp_path / "long.pdf"
    long_pdf.write_bytes(text_pdf([f"2024-01-{d:02d} 消费 {d * 13}.50 余额 1,000.00" for d in range(1, 29)], pages=150))
    slow = {**env, "DOCVERIFY_JOB_TIMEOUT": "1"}
    job_id = run_cli(["enqueue", str(long_pdf)], slow).stdout.strip()
    run_cli(["worker", "--burst"], slow)
    status = json.loads(run_cli(["status", job_id], slow).stdout)
    assert status["status"] == "failed"
    assert "exceeded its timeout of 1 s" in status["failure"]["reason"]
    assert status["failure"]["attempts"] == 1  # an overrun is not retried: it would overrun again
    assert Store(env["DOCVERIFY_DATA_DIR"]).get_result(job_id) is None


def test_ocr_threads_are_the_setting_or_the_cores_shared_among_this_hosts_workers(env):
    conn = redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"])
    registered = [Worker(["docverify"], connection=conn) for _ in range(2)]
    for w in registered:
        w.register_birth()
    try:
        assert jobs._workers_here(conn) == 2
        cores = len(os.sched_getaffinity(0))
        assert config.ocr_threads(config.load({}), jobs._workers_here(conn)) == max(1, cores // 2)
    finally:
        for w in registered:  # later tests' jobs count this host's workers too
            w.register_death()
    assert config.ocr_threads(config.load({}), 1) == cores
    assert config.ocr_threads(config.load({"DOCVERIFY_OCR_THREADS": "3"}), 2) == 3
    with pytest.raises(SystemExit, match="ocr_threads"):
        config.load({"DOCVERIFY_OCR_THREADS": "-1"})


def test_a_job_counts_this_hosts_workers_again_only_once_the_last_count_is_old(env):
    conn = redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"])
    registered = [Worker(["docverify"], connection=conn) for _ in range(2)]
    registered[0].register_birth()
    try:
        jobs._counted["at"] = float("-inf")
        assert jobs._workers_here_lately(conn) == 1
        registered[1].register_birth()
        assert jobs._workers_here_lately(conn) == 1  # counted moments ago
        jobs._counted["at"] -= jobs.WORKERS_RECOUNT + 1
        assert jobs._workers_here_lately(conn) == 2
    finally:
        for w in registered:
            w.register_death()
        jobs._counted["at"] = float("-inf")


def test_replies_are_parsed_by_hiredis(env):
    """Every RQ and index call parses Redis's replies; redis-py does it in Python unless hiredis is installed."""
    conn = redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"])
    connection = conn.connection_pool.get_connection()
    try:
        assert "Hiredis" in type(connection._parser).__name__, "pip install -e . (pyproject.toml pins hiredis)"
    finally:
        conn.connection_pool.release(connection)
