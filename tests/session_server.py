"""One real server per test session, started on first use: what Redis and PostgreSQL share.

Lazy, because the conformance suite's backend factories (``tests/backends.py``) are not
fixtures and cannot request one; ``tests/conftest.py`` stops every session server in
``pytest_sessionfinish``. Without the server's binaries the tests are skipped, or fail when
the ``CI`` environment variable is set (so CI never silently skips a backend).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Generic, Protocol, TypeVar

import pytest

__all__ = ["SessionServer", "Stoppable", "free_port"]


class Stoppable(Protocol):
    """A running server."""

    def stop(self) -> None:
        """Stop it and wait for it to exit."""


ServerT = TypeVar("ServerT", bound=Stoppable)
BinaryT = TypeVar("BinaryT")


class SessionServer(Generic[BinaryT, ServerT]):
    """Starts a server with ``start(binary, workdir)`` on first :meth:`get`, once.

    Args:
        name: What is missing, for the skip or failure message ("redis-server").
        hint: How to install it.
        find: The binary (or its directory), or None when it is not installed.
        start: Starts the server in a fresh temporary directory.
    """

    def __init__(
        self,
        name: str,
        hint: str,
        find: Callable[[], BinaryT | None],
        start: Callable[[BinaryT, Path], ServerT],
    ) -> None:
        self._name, self._hint = name, hint
        self._find, self._start = find, start
        self._server: ServerT | None = None
        self._workdir: Path | None = None

    def get(self) -> ServerT:
        """The running server (started now if needed); skip or fail without the binary."""
        if self._server is None:
            binary = self._find()
            if binary is None:
                message = f"{self._name} not found: {self._hint}"
                if os.environ.get("CI"):
                    pytest.fail(message, pytrace=False)
                pytest.skip(message)
            self._workdir = Path(tempfile.mkdtemp(prefix=f"nm-{self._name}-"))
            self._server = self._start(binary, self._workdir)
        return self._server

    def stop(self) -> None:
        """Stop the server (if it was started) and remove its directory."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None


def free_port() -> int:
    """A loopback TCP port free right now (it may be taken before it is bound: retry)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
