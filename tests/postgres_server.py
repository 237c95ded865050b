"""A throwaway PostgreSQL server on a free loopback port, for the database-training tests.

One server runs per test session (fixture ``postgres_server`` in ``tests/conftest.py``): a
fresh cluster made by ``initdb`` in a temporary directory (trust authentication, fsync off),
started on first use and stopped, with its directory removed, when the session ends. Each test
creates its own database. Run as root, the cluster belongs to the ``postgres`` user (PostgreSQL
refuses to run as root). Without the PostgreSQL binaries the tests are skipped, or fail when
the ``CI`` environment variable is set.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.session_server import SessionServer, free_port

__all__ = ["SESSION_POSTGRES", "PostgresServer", "find_bin_dir"]

_BINARY_HINT = "install it with `apt-get install postgresql` (or put initdb and postgres on PATH)"
_START_TIMEOUT = 30.0
_USER = "postgres"


@dataclass(frozen=True)
class PostgresServer:
    """A running PostgreSQL server: its port, process and superuser."""

    port: int
    process: subprocess.Popen[bytes]
    user: str

    def url(self, database: str, driver: str = "postgresql+asyncpg") -> str:
        """The SQLAlchemy URL of ``database`` (superuser, no password: trust authentication)."""
        return f"{driver}://{self.user}@127.0.0.1:{self.port}/{database}"

    async def create_database(self, *statements: str) -> str:
        """Create a database of its own, run ``statements`` in it, and return its name."""
        import asyncpg

        name = f"t{uuid.uuid4().hex[:12]}"
        admin = await asyncpg.connect(host="127.0.0.1", port=self.port, user=self.user)
        try:
            await admin.execute(f'CREATE DATABASE "{name}"')
        finally:
            await admin.close()
        connection = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user=self.user, database=name
        )
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()
        return name

    def stop(self) -> None:
        """Stop the server (fast shutdown) and wait for it to exit."""
        if self.process.poll() is None:
            self.process.send_signal(2)  # SIGINT: fast shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def find_bin_dir() -> Path | None:
    """The directory holding ``initdb`` and ``postgres`` (PATH or Debian's layout), or None."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent  # Debian links them from its versioned directory
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    return Path(versions[-1]).parent if versions else None


def _version_key(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0


def _cluster_owner() -> dict[str, Any]:
    """Popen options running a command as the ``postgres`` user when we are root.

    PostgreSQL refuses to run as root. The server process itself switches user (no ``su``
    wrapper in between), so signals sent to it reach PostgreSQL.
    """
    if os.geteuid() != 0:
        return {}
    owner = pwd.getpwnam(_USER)
    return {"user": owner.pw_uid, "group": owner.pw_gid, "extra_groups": []}


def _start(bin_dir: Path, workdir: Path) -> PostgresServer:
    data, sockets = workdir / "data", workdir / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        owner = pwd.getpwnam(_USER)
        os.chown(workdir, owner.pw_uid, owner.pw_gid)
        os.chown(sockets, owner.pw_uid, owner.pw_gid)
    user = _USER if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    init = [str(bin_dir / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "--no-sync"]
    subprocess.run(
        init, check=True, capture_output=True, timeout=120, cwd=workdir, **_cluster_owner()
    )
    last_error = ""
    for _ in range(3):  # the free port may be taken between probing and binding
        port = free_port()
        log = workdir / f"postgres-{port}.log"
        with log.open("wb") as out:
            command = [
                str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                "-k", str(sockets), "-c", "listen_addresses=127.0.0.1",
                "-c", "fsync=off", "-c", "full_page_writes=off",
            ]  # fmt: skip
            process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, cwd=workdir, **_cluster_owner()
            )
        server = PostgresServer(port, process, user)
        try:
            if _wait_until_accepting(server, bin_dir):
                return server
        except BaseException:
            server.stop()
            raise
        server.stop()
        last_error = log.read_text(errors="replace")[-2000:]
    raise RuntimeError(f"PostgreSQL did not start:\n{last_error}")


def _wait_until_accepting(server: PostgresServer, bin_dir: Path) -> bool:
    ready = [str(bin_dir / "pg_isready"), "-h", "127.0.0.1", "-p", str(server.port), "-q"]
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        with contextlib.suppress(subprocess.TimeoutExpired):
            if subprocess.run(ready, timeout=5, check=False).returncode == 0:
                return True
        time.sleep(0.1)
    return False


SESSION_POSTGRES: SessionServer[Path, PostgresServer] = SessionServer(
    "PostgreSQL", _BINARY_HINT, find_bin_dir, _start
)
"""The session's PostgreSQL server (see :class:`~tests.session_server.SessionServer`)."""
