"""Shared test fixtures: a private redis-server on a free loopback port, the sample documents, CLI runners."""
from __future__ import annotations

import os
import subprocess
import sys
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
