"""Shared test fixtures: a private redis-server on a free loopback port, the sample documents, CLI runners."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parent.parent
DOCVERIFY = [sys.executable, "-m", "worker"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real redis-server of our own, never the machine's shared one on 6379."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run scripts/setup.sh (or `apt-get install redis-server`)")
    port = _free_port()
    workdir = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                             "--dir", str(workdir)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url)
    for _ in range(100):
        try:
            client.ping()
            break
        except redis.ConnectionError:
            time.sleep(0.05)
    else:
        proc.kill()
        pytest.fail(f"redis-server did not start on port {port}")
    yield url
    proc.terminate()
    proc.wait(timeout=10)


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
