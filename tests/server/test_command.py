"""``neural-memory-server``: configuration from arguments and environment, a real process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from neural_memory.server import main
from neural_memory.server._run import DEFAULT_DB, parse_args
from neural_memory.storage import SQLiteStorage


def test_arguments_override_the_environment() -> None:
    env = {
        "NEURAL_MEMORY_DB": "/env.db",
        "NEURAL_MEMORY_HOST": "0.0.0.0",
        "NEURAL_MEMORY_PORT": "9",
    }
    from_env = parse_args([], env)
    assert (from_env.db, from_env.host, from_env.port) == ("/env.db", "0.0.0.0", 9)
    given = parse_args(["--db", "/arg.db", "--port", "8123"], env)
    assert (given.db, given.port) == ("/arg.db", 8123)
    assert parse_args([], {}).db == DEFAULT_DB


def test_bad_port_in_the_environment_exits_with_usage_error() -> None:
    with pytest.raises(SystemExit) as exited:
        parse_args([], {"NEURAL_MEMORY_PORT": "eighty"})
    assert exited.value.code == 2


def test_unusable_database_is_reported_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--db", str(tmp_path), "--port", "0"]) == 1
    assert str(tmp_path) in capsys.readouterr().err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def test_server_process_serves_a_sqlite_file(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    port = _free_port()
    env = {**os.environ, "NEURAL_MEMORY_DB": str(db), "NEURAL_MEMORY_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "neural_memory.server", "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            deadline = time.monotonic() + 30
            while True:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                try:
                    if (await http.get("/v1/storage/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "the server did not start"
                    time.sleep(0.1)
            brain = (await http.post("/brains", json={"name": "ops"})).json()
            stored = await http.post(
                f"/brains/{brain['id']}/memories", json={"text": "Backups run at 2am nightly"}
            )
            assert stored.status_code == 201, stored.text
            recalled = await http.post(
                f"/brains/{brain['id']}/recall", json={"query": "When do backups run?"}
            )
            assert "2am" in recalled.json()["context"]
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        if process.stderr:
            process.stderr.close()
    assert process.returncode == 0
    async with SQLiteStorage(db) as storage:
        brains = await storage.list_brains()
        assert [b.name for b in brains] == ["ops"]
        storage.set_brain(brains[0].id)
        assert (await storage.get_stats()).fiber_count == 1


def test_missing_extras_give_install_hints() -> None:
    # A fresh interpreter where the optional packages cannot be imported.
    code = """
import sys
sys.modules.update(httpx=None, fastapi=None, mcp=None)
from neural_memory.errors import StorageUnavailableError
from neural_memory.storage import SharedStorage
try:
    SharedStorage("http://localhost:8000")
except StorageUnavailableError as exc:
    print("shared:", exc)
import neural_memory.mcp, neural_memory.server
print("codes:", neural_memory.server.main([]), neural_memory.mcp.main([]))
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert (
        "shared: SharedStorage needs httpx: pip install neural-memory-brain[server]" in done.stdout
    )
    assert "codes: 1 1" in done.stdout
    assert "pip install 'neural-memory-brain[server]'" in done.stderr
    assert "pip install 'neural-memory-brain[mcp]'" in done.stderr
