"""Shared test fixtures: a private redis-server on a free loopback port, the sample documents, CLI runners."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from worker.localredis import LocalRedis

ROOT = Path(__file__).resolve().parent.parent
DOCVERIFY = [sys.executable, "-m", "worker"]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server of our own, never the machine's shared one on 6379."""
    server = LocalRedis(workdir=str(tmp_path_factory.mktemp("redis")))
    try:
        url = server.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield url
    server.stop()


@pytest.fixture
def env(tmp_path, redis_server, monkeypatch):
    """Environment for one test: its own data directory and Redis database, flushed first."""
    redis.Redis.from_url(redis_server).flushdb()
    values = {"DOCVERIFY_REDIS_URL": redis_server, "DOCVERIFY_DATA_DIR": str(tmp_path / "data")}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return {**os.environ, **values}


def run_cli(args: list[str], env: dict, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(DOCVERIFY + args, env=env, capture_output=True, text=True, timeout=300, **kw)


# Short intervals so that a dead host's job is given up in about a minute here (60 s after its last
# heartbeat is RQ's own margin), and retries come after a second.
FAST = {"DOCVERIFY_HEARTBEAT_INTERVAL": "2", "DOCVERIFY_MAINTENANCE_INTERVAL": "2", "DOCVERIFY_WORKER_TTL": "10",
        "DOCVERIFY_RETRY_INTERVALS": "1", "DOCVERIFY_RECONCILE_AFTER": "0"}


@pytest.fixture
def fast(env, monkeypatch):
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)
    return {**env, **FAST}


class Workers:
    """`docverify worker` processes, each in its own process group so that a test can kill a whole one."""

    def __init__(self, env, logdir):
        self.env, self.logdir, self.procs = env, logdir, []

    def start(self) -> subprocess.Popen:
        log = open(self.logdir / f"worker{len(self.procs)}.log", "wb")
        proc = subprocess.Popen(DOCVERIFY + ["worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, proc) -> None:
        """SIGKILL the worker, its work horse and its scheduler at once, as when the host dies."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    def stop(self) -> None:
        """Kill what is left of every worker's group, the scheduler of a worker that exited included."""
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=30)


@pytest.fixture
def workers(fast, tmp_path):
    pool = Workers(fast, tmp_path)
    yield pool
    pool.stop()


def until(condition, timeout: float, what: str):
    """Poll `condition` until it gives something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout} s: {what}")


def wait_ended(store, job_ids, timeout: float) -> None:
    """Until every job has a result or a failure and is no longer pending. A horse killed between storing the
    result and striking the pending record leaves both until RQ's retry runs the job again and strikes it."""
    remaining = set(job_ids)

    def ended() -> bool:  # each finished job is read once, not on every poll
        remaining.difference_update({j for j in remaining if (store.get_result(j) or store.get_failure(j))
                                     and store.get_pending(j) is None})
        return not remaining

    until(ended, timeout, f"{len(remaining)} jobs ended")
