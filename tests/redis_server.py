"""A throwaway ``redis-server`` on a free loopback port, for the Redis backend tests.

The session fixture ``redis_server`` (see ``tests/conftest.py``) starts one per test session;
every test then works in its own key namespace (fixture ``redis_namespace``), whose keys are
deleted afterwards. Without the ``redis-server`` binary the tests are skipped, or fail when the
``CI`` environment variable is set (so CI never silently skips the backend).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

__all__ = ["RedisServer", "delete_namespace", "new_namespace", "redis_server_or_skip"]

_BINARY_HINT = "install it with `apt-get install redis-server` (or put redis-server on PATH)"
_START_TIMEOUT = 10.0


@dataclass(frozen=True)
class RedisServer:
    """A running redis-server: its port and process."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Stop the server and wait for it to exit."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def find_binary() -> str | None:
    """The redis-server executable, or None when it is not installed."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.access("/usr/bin/redis-server", os.X_OK) else None
    )


@contextlib.contextmanager
def redis_server_or_skip(workdir: Path) -> Iterator[RedisServer]:
    """Run a redis-server for the duration of the block (skip / fail when it is missing)."""
    binary = find_binary()
    if binary is None:
        message = f"redis-server not found: {_BINARY_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    server = _start(binary, workdir)
    try:
        yield server
    finally:
        server.stop()


def _start(binary: str, workdir: Path) -> RedisServer:
    last_error = ""
    for _ in range(3):  # the free port may be taken between probing and binding
        port = _free_port()
        log = workdir / f"redis-{port}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [
                    binary,
                    "--port", str(port),
                    "--bind", "127.0.0.1",
                    "--save", "",
                    "--appendonly", "no",
                    "--dir", str(workdir),
                    "--daemonize", "no",
                    "--loglevel", "warning",
                ],
                stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        server = RedisServer(port, process)
        if _wait_for_pong(server):
            return server
        server.stop()
        last_error = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"redis-server did not start:\n{last_error}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_for_pong(server: RedisServer) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", server.port), timeout=1) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(64).startswith(b"+PONG"):
                    return True
        time.sleep(0.05)
    return False


def new_namespace() -> str:
    """A key namespace no other test uses."""
    return f"t{uuid.uuid4().hex[:16]}"


def delete_namespace(url: str, namespace: str) -> None:
    """Delete every key of ``namespace`` (SCAN, never KEYS)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        doomed = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        for start in range(0, len(doomed), 500):
            client.unlink(*doomed[start : start + 500])
    finally:
        client.close()
