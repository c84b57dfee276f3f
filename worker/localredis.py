"""A private redis-server on a free loopback port, for tests, benchmarks and the demo — never the shared one."""
from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import redis


class LocalRedis:
    """Start with `with LocalRedis() as url:`; `appendonly=True` keeps an AOF in its directory."""

    def __init__(self, appendonly: bool = False, workdir: str | None = None):
        self.appendonly = appendonly
        self.workdir = workdir
        self.port = 0
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> str:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed: run scripts/setup.sh (or `apt-get install redis-server`)")
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="docverify-redis-")
        if not self.port:
            self.port = free_port()
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--dir", self.workdir,
             "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec"],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return self.url
            except redis.ConnectionError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
