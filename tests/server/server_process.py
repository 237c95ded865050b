"""A real ``neural-memory-server`` process on a free loopback port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

__all__ = ["RunningServer", "free_port", "running_server"]

_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class RunningServer:
    """A started server: its URL, process and database file."""

    url: str
    process: subprocess.Popen[bytes]
    db: Path


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_server(
    db: Path, args: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> Iterator[RunningServer]:
    """Start the server over ``db`` (extra ``args`` and ``env``), wait for ``/health``.

    The server is stopped with SIGINT on exit; its exit code must then be 0.
    """
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if k != "NEURAL_MEMORY_API_KEY"}
    environment.update({"NEURAL_MEMORY_DB": str(db), "NEURAL_MEMORY_PORT": str(port)})
    environment.update(env or {})
    process = subprocess.Popen(
        [sys.executable, "-m", "neural_memory.server", "--log-level", "warning", *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process)
        yield RunningServer(url, process, db)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            if process.stderr:
                process.stderr.close()
    assert process.returncode == 0


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while True:
        if process.poll() is not None:
            error = process.stderr.read().decode() if process.stderr else ""
            raise AssertionError(f"the server exited with {process.returncode}: {error}")
        try:
            if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError("the server did not start")
        time.sleep(0.1)
