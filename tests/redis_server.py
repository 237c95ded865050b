"""A throwaway ``redis-server`` on a free loopback port, for the Redis backend tests.

One server runs per test session (:data:`SESSION_REDIS`, fixture ``redis_server`` in
``tests/conftest.py``, the "redis" entry of ``tests/backends.py``); every test works in its own
key namespace (fixture ``redis_namespace``), whose keys are deleted afterwards. Without the
``redis-server`` binary the tests are skipped, or fail when the ``CI`` environment variable is
set (so CI never silently skips the backend).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.session_server import SessionServer, free_port

__all__ = ["SESSION_REDIS", "RedisServer", "delete_namespace", "new_namespace", "session_redis"]

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


def _start(binary: str, workdir: Path) -> RedisServer:
    last_error = ""
    for _ in range(3):  # the free port may be taken between probing and binding
        port = free_port()
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


def _wait_for_pong(server: RedisServer) -> bool:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with (
            contextlib.suppress(OSError),
            socket.create_connection(("127.0.0.1", server.port), timeout=1) as conn,
        ):
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


def session_redis(find: Callable[[], str | None] = find_binary) -> SessionServer[str, RedisServer]:
    """A session redis-server, started on first use (see :class:`SessionServer`)."""
    return SessionServer("redis-server", _BINARY_HINT, find, _start)


SESSION_REDIS = session_redis()
"""The session's redis-server."""
