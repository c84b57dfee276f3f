"""The work horse that runs several jobs (worker/horse.py), with real `docverify worker` processes and Redis: it
stays for the next job, makes way after a failure or its quota, and never outlives its worker."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import redis
from rq import Callback, Queue
from rq.command import send_stop_job_command
from rq.serializers import JSONSerializer

from tests.conftest import run_cli, until, wait_ended
from tests.make import text_pdf
from worker import client, config
from worker.queue import JOB_FUNCTION, fetch
from worker.store import Store


def horses(env, job_ids) -> list[int]:
    conn = redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"])
    return [fetch(conn, job_id).get_meta(refresh=True)["pid"] for job_id in job_ids]


def submit(n: int, first: int = 0) -> list[str]:
    settings = config.load()
    return [client.submit_files([(f"h{i}.pdf", text_pdf([f"2024-06-0{i % 9 + 1} 代发工资 {8000 + i}.00"]))],
                                settings=settings) for i in range(first, first + n)]


def gone(pid: int) -> bool:
    """Exited, whether reaped yet or not (a zombie has done its work)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True


def test_one_horse_runs_the_jobs_one_after_another(env):
    ids = submit(3)
    assert run_cli(["worker", "--burst"], env).returncode == 0
    store = Store(env["DOCVERIFY_DATA_DIR"])
    assert all(store.get_result(job_id) for job_id in ids)
    pids = horses(env, ids)
    assert len(set(pids)) == 1 and pids[0] != os.getpid()


def test_a_fresh_horse_per_job_when_told(env):
    ids = submit(3)
    assert run_cli(["worker", "--burst"], {**env, "DOCVERIFY_HORSE_JOBS": "1"}).returncode == 0
    assert len(set(horses(env, ids))) == 3


def test_a_horse_whose_job_failed_makes_way_for_a_fresh_one(env):
    conn = redis.Redis.from_url(env["DOCVERIFY_REDIS_URL"])
    q = Queue("docverify", connection=conn, serializer=JSONSerializer)
    bad = q.enqueue_call(JOB_FUNCTION, kwargs={"refs": [{"sha256": "not-a-hash", "name": "x.pdf"}], "bundle": False},
                         on_failure=Callback("worker.jobs.record_failure"))
    good = submit(2)
    assert run_cli(["worker", "--burst"], env).returncode == 0
    assert fetch(conn, bad.id).get_status() == "failed"
    first, *after = horses(env, [bad.id, *good])
    assert first not in after and len(set(after)) == 1


def test_an_idle_horse_leaves_with_its_worker(workers):
    """A warm shutdown takes the idle horse along; a worker killed outright leaves it to notice by itself."""
    store = Store(workers.env["DOCVERIFY_DATA_DIR"])
    for n, stop in enumerate((signal.SIGTERM, signal.SIGKILL)):
        job_id = submit(1, first=n)[0]
        worker = workers.start()
        until(lambda: store.get_result(job_id), 120, "the job's result")
        (horse,) = horses(workers.env, [job_id])
        assert not gone(horse), "the horse waits for the next job"
        worker.send_signal(stop)
        if stop == signal.SIGTERM:
            assert worker.wait(timeout=30) == 0
            assert gone(horse), "reaped by the worker on its way out"
        else:
            until(lambda: gone(horse), 15, "the orphaned horse exits")


def test_a_horse_killed_while_idle_costs_the_next_job_nothing(workers):
    first = submit(1, first=5)[0]
    worker = workers.start()
    store = Store(workers.env["DOCVERIFY_DATA_DIR"])
    until(lambda: store.get_result(first), 120, "the first job's result")
    (horse,) = horses(workers.env, [first])
    os.kill(horse, signal.SIGKILL)
    until(lambda: gone(horse), 10, "the idle horse is dead")
    second = submit(1, first=6)[0]
    wait_ended(store, [second], 120)
    assert store.get_result(second) is not None
    conn = redis.Redis.from_url(workers.env["DOCVERIFY_REDIS_URL"])
    assert "failed_attempts" not in fetch(conn, second).get_meta(refresh=True)
    assert horses(workers.env, [second]) != [horse]
    assert worker.poll() is None


def test_a_job_stopped_by_rq_takes_its_horse_and_the_next_job_gets_a_fresh_one(workers):
    """RQ's stop-job command kills the horse mid-job: the job ends as stopped, the worker goes on."""
    conn = redis.Redis.from_url(workers.env["DOCVERIFY_REDIS_URL"])
    settings = config.load()
    pages = [f"2024-01-{d:02d} 消费 {d * 13}.50 余额 1,000.00" for d in range(1, 29)]
    long_job = client.submit_files([("long.pdf", text_pdf(pages, pages=60))], settings=settings)
    worker = workers.start()
    until(lambda: (job := fetch(conn, long_job)) is not None and job.get_status() == "started"
          and "pid" in job.get_meta(refresh=True), 120, "the long job started")
    (horse,) = horses(workers.env, [long_job])
    send_stop_job_command(conn, long_job, serializer=JSONSerializer)
    until(lambda: fetch(conn, long_job).get_status() == "stopped", 60, "the job stopped")
    until(lambda: gone(horse), 10, "its horse is gone")
    after = submit(1, first=7)[0]
    store = Store(workers.env["DOCVERIFY_DATA_DIR"])
    until(lambda: store.get_result(after), 120, "the next job's result")
    assert horses(workers.env, [after]) != [horse] and worker.poll() is None
