"""Faults done for real: killed work horses and workers, a Redis crash, lost jobs, overruns, memory limits.

Every test runs real `docverify worker` processes against a real redis-server and asserts the promise of
worker/queue.py: every accepted upload ends in exactly one stored result or a recorded failure, and a result
made after faults is the one the inline check makes.
"""
from __future__ import annotations

import io
import os
import random
import signal
import time

import redis
from PIL import Image
from rq.registry import StartedJobRegistry
from rq.serializers import JSONSerializer

from tests.conftest import Workers, run_cli, until, wait_ended
from tests.make import rewrite, text_pdf
from worker import client, config
from worker.localredis import LocalRedis
from worker.queue import fetch
from worker.result import verify
from worker.store import Store

def running_horse(conn, job_id: str) -> int | None:
    """The pid of the work horse running `job_id`, once it has said where it runs."""
    job = fetch(conn, job_id)
    if job is None or job.get_status() != "started":
        return None
    return job.get_meta(refresh=True).get("pid")


def long_statement(seed: int = 0) -> bytes:
    """A 60-page statement: a few seconds of work, so that a kill lands mid-job."""
    return text_pdf([f"2024-01-{d:02d} 消费 {d * 13 + seed}.50 余额 1,000.00" for d in range(1, 29)], pages=60)


def inline(name: str, data: bytes) -> list[dict]:
    return verify([(name, data)], bundle=False)["documents"]


def queued(result: dict) -> list[dict]:
    """A stored result's documents as the inline check gives them: only the queue looks documents up among
    earlier applicants' (worker/reuse.py), and with no earlier match that lookup adds only its own check run."""
    return [{**doc, "checks": [c for c in doc["checks"] if c["name"] != "reuse"]} for doc in result["documents"]]


def test_a_killed_work_horse_is_retried_and_gives_the_inline_result(fast, workers):
    settings = config.load()
    conn = redis.Redis.from_url(settings.redis_url)
    data = long_statement()
    job_id = client.submit_files([("long.pdf", data)], settings=settings)
    workers.start()
    pid = until(lambda: running_horse(conn, job_id), 60, "the job started")
    os.kill(pid, signal.SIGKILL)

    store = Store(settings.data_dir)
    wait_ended(store, [job_id], 120)
    assert store.get_failure(job_id) is None
    assert queued(store.get_result(job_id)) == inline("long.pdf", data)
    attempts = fetch(conn, job_id).get_meta(refresh=True)["failed_attempts"]
    assert attempts == [f"the work horse (pid {pid}) died: signal SIGKILL"]
    assert not list(store.pending())


def test_a_dead_worker_host_has_its_job_run_by_another_worker(fast, workers):
    settings = config.load()
    conn = redis.Redis.from_url(settings.redis_url)
    data = long_statement(1)
    job_id = client.submit_files([("long.pdf", data)], settings=settings)
    first = workers.start()
    until(lambda: running_horse(conn, job_id), 60, "the job started")
    workers.kill(first)  # parent, horse and scheduler: nothing is left to report the failure
    killed_at = time.monotonic()
    workers.start()

    store = Store(settings.data_dir)
    wait_ended(store, [job_id], 150)
    recovered_in = time.monotonic() - killed_at
    assert queued(store.get_result(job_id)) == inline("long.pdf", data)
    # 60 s after the last heartbeat (RQ's margin) plus a maintenance interval, plus the run itself
    assert recovered_in < 90, recovered_in
    print(f"a dead worker's job finished by another worker {recovered_in:.0f} s after the kill")


def test_a_redis_crash_mid_run_loses_no_upload(fast, tmp_path, monkeypatch):
    server = LocalRedis(appendonly=True, workdir=str(tmp_path / "aof"))
    os.makedirs(server.workdir)
    url = server.start()
    env = {**fast, "DOCVERIFY_REDIS_URL": url}
    monkeypatch.setenv("DOCVERIFY_REDIS_URL", url)
    pool = Workers(env, tmp_path)
    try:
        settings = config.load()
        docs = {f"s{i}.pdf": text_pdf([f"2024-03-{i + 1:02d} 代发工资 {9000 + i * 111}.00"], pages=20)
                for i in range(8)}
        ids = {name: client.submit_files([(name, data)], settings=settings) for name, data in docs.items()}
        store = Store(settings.data_dir)
        pool.start()
        until(lambda: any(store.get_result(j) for j in ids.values()), 60, "a first result")
        assert sum(store.get_result(j) is not None for j in ids.values()) < len(ids)
        server.proc.kill()  # a crash: whatever was not yet fsynced to the AOF is gone
        server.proc.wait(timeout=10)
        time.sleep(2)
        server.start()  # same port, same AOF
        wait_ended(store, list(ids.values()), 180)
        for name, job_id in ids.items():
            assert store.get_failure(job_id) is None, store.get_failure(job_id)
            assert queued(store.get_result(job_id)) == inline(name, docs[name])
        assert pool.procs[0].poll() is None, "the worker waited for Redis and went on"
    finally:
        pool.stop()
        server.stop()


def test_jobs_redis_lost_are_enqueued_again_from_the_store(fast):
    settings = config.load()
    conn = redis.Redis.from_url(settings.redis_url)
    docs = {f"r{i}.pdf": text_pdf([f"2024-04-0{i + 1} 转账 {500 + i}.00"]) for i in range(3)}
    ids = [client.submit_files([(name, data)], settings=settings) for name, data in docs.items()]
    conn.flushdb()  # Redis lost its data; the store still has the submissions
    assert client.status(ids[0], settings)["status"] == "queued"  # accepted, not unknown
    again = run_cli(["reconcile"], fast)
    assert sorted(again.stdout.split()) == sorted(ids), again.stderr
    assert run_cli(["reconcile"], fast).stdout == ""  # enqueued once, not twice
    assert run_cli(["worker", "--burst"], fast).returncode == 0
    store = Store(settings.data_dir)
    for (name, data), job_id in zip(docs.items(), ids):
        assert queued(store.get_result(job_id)) == inline(name, data)
    assert not list(store.pending())


def test_a_job_over_the_memory_limit_fails_and_the_worker_goes_on(fast, workers, monkeypatch):
    monkeypatch.setenv("DOCVERIFY_MEMORY_LIMIT_MB", "900")
    workers.env = {**workers.env, "DOCVERIFY_MEMORY_LIMIT_MB": "900"}
    settings = config.load()
    buf = io.BytesIO()
    page = Image.new("RGB", (7000, 9000), "white")  # 63 MP, a small file: under the size and pixel limits
    page.paste(Image.effect_noise((2000, 2000), 40).convert("RGB"), (2500, 3500))
    page.save(buf, "PNG")
    big = client.submit_files([("huge-scan.png", buf.getvalue())], settings=settings)
    small_data = text_pdf(["2024-05-01 代发工资 8,000.00"])
    small = client.submit_files([("small.pdf", small_data)], settings=settings)
    workers.start()
    store = Store(settings.data_dir)
    wait_ended(store, [big, small], 240)
    failure = store.get_failure(big)
    assert failure is not None and ("MemoryError" in failure["reason"] or "died" in failure["reason"]), failure
    assert queued(store.get_result(small)) == inline("small.pdf", small_data)
    assert workers.procs[0].poll() is None


def test_two_hundred_jobs_through_two_workers_with_random_kills(fast, workers):
    """Every upload ends with exactly one result or a recorded failure, and every result is the inline one."""
    settings = config.load()
    conn = redis.Redis.from_url(settings.redis_url)
    store = Store(settings.data_dir)
    rng = random.Random(20261129)
    contents = []
    for i in range(20):
        data = text_pdf([f"2024-0{i % 9 + 1}-1{i % 10} 代发工资 {7000 + 37 * i}.00", f"余额 {20000 + i}.00"],
                        pages=1 + i % 4)
        contents.append(rewrite(data, info={"/Producer": "Foxit PDF Editor 12.1"}) if i % 5 == 0 else data)
    expected = {i: inline("x.pdf", data) for i, data in enumerate(contents)}
    # One applicant sending the same files again and again: not reuse across applicants, so no REUSE_ finding.
    jobs = {client.submit_files([(f"doc{n}.pdf", contents[n % 20])], settings=settings, applicant="A-200"): n
            for n in range(200)}
    assert len(jobs) == 200

    pool = [workers.start(), workers.start()]
    started = StartedJobRegistry(settings.queue, connection=conn, serializer=JSONSerializer)
    horse_kills = host_kills = 0
    while horse_kills < 25 and not all(store.get_result(j) or store.get_failure(j) for j in jobs):
        time.sleep(rng.uniform(0.05, 0.3))  # 200 jobs take two warm workers some 10 s: kill often enough to land 10
        running = [j for j in started.get_job_ids() if j in jobs]
        if not running:
            continue
        if host_kills == 0 and horse_kills == 5:  # early: 200 jobs take two warm workers well under a minute
            victim = rng.choice(pool)
            workers.kill(victim)
            pool[pool.index(victim)] = workers.start()
            host_kills += 1
        pid = running_horse(conn, rng.choice(running))
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
                horse_kills += 1
            except ProcessLookupError:
                pass  # it finished first
    wait_ended(store, jobs, 300)

    failed = 0
    for job_id, n in jobs.items():
        result, failure = store.get_result(job_id), store.get_failure(job_id)
        assert (result is None) != (failure is None), job_id
        if failure:  # killed on every attempt: allowed, but only that way
            failed += 1
            assert failure["attempts"] == settings.retries + 1 and "died" in failure["reason"], failure
            continue
        (doc,) = queued(result)
        assert {**doc, "file": "x.pdf"} == expected[n % 20][0]
    assert len(store.result_ids()) == 200 - failed
    assert not list(store.pending())
    assert horse_kills >= 10 and host_kills == 1
    print(f"200 jobs, {horse_kills} work horses and {host_kills} worker killed: {failed} ended as failures")
