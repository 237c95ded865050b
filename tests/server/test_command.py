"""``neural-memory-server``: configuration from arguments and environment, a real process."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from neural_memory.server import main
from neural_memory.server._run import DEFAULT_DB, parse_args
from neural_memory.server.keys import KeyStore
from neural_memory.storage import SQLiteStorage
from tests.http_server import ADMIN_KEY
from tests.server.server_process import running_server


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
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURAL_MEMORY_API_KEY", ADMIN_KEY)
    assert main(["--db", str(tmp_path), "--port", "0"]) == 1
    assert str(tmp_path) in capsys.readouterr().err


async def test_server_process_serves_a_sqlite_file_with_a_generated_key(tmp_path: Path) -> None:
    db = tmp_path / "served.db"
    with running_server(db) as server:
        key_file = tmp_path / "api-key"
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        key = key_file.read_text().strip()
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as anonymous:
            assert (await anonymous.get("/health")).json() == {"ok": True}
            assert (await anonymous.get("/brains")).status_code == 401
        headers = {"x-api-key": key}
        async with httpx.AsyncClient(base_url=server.url, timeout=10, headers=headers) as http:
            brain = (await http.post("/brains", json={"name": "ops"})).json()
            stored = await http.post(
                f"/brains/{brain['id']}/memories", json={"text": "Backups run at 2am nightly"}
            )
            assert stored.status_code == 201, stored.text
            recalled = await http.post(
                f"/brains/{brain['id']}/recall", json={"query": "When do backups run?"}
            )
            assert "2am" in recalled.json()["context"]
    async with SQLiteStorage(db) as storage:
        brains = await storage.list_brains()
        assert [b.name for b in brains] == ["ops"]
        storage.set_brain(brains[0].id)
        assert (await storage.get_stats()).fiber_count == 1


def test_a_non_loopback_address_needs_the_explicit_flag(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEURAL_MEMORY_API_KEY", ADMIN_KEY)
    assert main(["--db", str(tmp_path / "b.db"), "--host", "0.0.0.0", "--port", "0"]) == 1
    assert "--allow-remote" in capsys.readouterr().err


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


def test_keys_command_creates_lists_and_revokes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = str(tmp_path / "brain.db")
    assert (
        main(["keys", "--db", db, "create", "--brain", "a", "--brain", "b", "--access", "read"])
        == 0
    )
    created = json.loads(capsys.readouterr().out)
    assert created["key"].startswith("nmk_") and created["access"] == "read"
    store = KeyStore(tmp_path / "keys.db")
    assert store.find(created["key"]) is not None
    assert main(["keys", "--db", db, "list"]) == 0
    assert capsys.readouterr().out.split() == [created["id"], "read", "a,b"]
    assert main(["keys", "--db", db, "revoke", created["id"]]) == 0
    assert store.find(created["key"]) is None
    assert main(["keys", "--db", db, "revoke", created["id"]]) == 1
    store.close()
