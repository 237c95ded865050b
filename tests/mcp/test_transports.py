"""The MCP server over its real transports, driven by the official client.

stdio: ``python -m neural_memory.mcp`` as a child process. Streamable HTTP: the same command
with ``--transport http`` on a free port, path ``/mcp``, behind an API key.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import httpx2
from mcp.client.streamable_http import streamable_http_client

from mcp import Client, StdioServerParameters
from neural_memory.core.brain import Brain
from neural_memory.server.keys import ADMIN_KEY_FILE, KEY_STORE_FILE, Access, KeyStore
from neural_memory.storage.sqlite import SQLiteStorage

API_KEY = "test-admin-key-0123456789"


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def remember_recall_edit_forget(client: Client) -> None:
    """initialize (done by the client) -> list tools -> remember -> recall with explain ->
    edit -> forget -> stats."""
    assert client.server_info is not None and client.server_info.name == "neural-memory"
    assert client.instructions and "remember" in client.instructions
    names = {tool.name for tool in (await client.list_tools()).tools}
    assert {"remember", "recall", "edit", "forget", "stats"} <= names
    adopted = await call(
        client,
        "remember",
        text="Priya adopted a greyhound called Comet",
        speaker="Priya",
        when="2024-05-01T10:00:00+00:00",
        type="fact",
        tags=["pets"],
    )
    sofa = await call(client, "remember", text="Comet sleeps on the blue sofa")
    repeat = await call(client, "remember", text="Comet sleeps on the blue sofa")
    assert adopted["type"] == "fact" and not adopted["merged"] and repeat["merged"]
    recalled = await call(client, "recall", query="Which dog did Priya adopt?", explain=True)
    by_id = {m["memory_id"]: m for m in recalled["memories"]}
    assert recalled["memories"][0]["memory_id"] == adopted["memory_id"]
    why = by_id[sofa["memory_id"]]["why"]
    assert [step["neuron"] for step in why["path"]][-1] == "Comet"
    assert why["path"][0]["via"] == "anchor" and why["activation"] > 0
    edited = await call(
        client, "edit", memory_id=sofa["memory_id"], text="Comet sleeps on the green sofa"
    )
    assert edited["previous_id"] == sofa["memory_id"]
    assert edited["memory"]["versions"] == [sofa["memory_id"], edited["memory"]["memory_id"]]
    shown = await call(client, "show", memory_id=sofa["memory_id"])
    assert shown["superseded_by"] == edited["memory"]["memory_id"]
    green = await call(client, "recall", query="Where does Comet sleep?")
    assert green["memories"][0]["content"] == "Comet sleeps on the green sofa"
    forgotten = await call(client, "forget", memory_id=edited["memory"]["memory_id"])
    assert set(forgotten["deleted"]) == {sofa["memory_id"], edited["memory"]["memory_id"]}
    after = await call(client, "recall", query="Where does Comet sleep?")
    assert all("sofa" not in m["content"] for m in after["memories"])
    assert "sofa" not in after["context"]
    stats = await call(client, "stats")
    assert stats["memories"] == 1 and stats["typed_memories"] == 1
    missing = await client.call_tool("show", {"memory_id": sofa["memory_id"]})
    assert missing.is_error and "no memory" in missing.content[0].text  # type: ignore[union-attr]


def environment(db: Path) -> dict[str, str]:
    return {
        **os.environ,
        "NEURAL_MEMORY_DB": str(db),
        "NEURAL_MEMORY_BRAIN": "agent",
        "NEURAL_MEMORY_API_KEY": API_KEY,
    }


async def test_stdio(tmp_path: Path) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "neural_memory.mcp"], env=environment(tmp_path / "a.db")
    )
    async with Client(params) as client:
        await remember_recall_edit_forget(client)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def mcp_http(db: Path, env: dict[str, str]) -> Iterator[str]:
    """The real ``neural-memory-mcp --transport http`` over ``db`` on a free port; its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "neural_memory.mcp", "--transport", "http", "--port", str(port)],
        env={**env, "NEURAL_MEMORY_DB": str(db)},
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the MCP HTTP server did not start"
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()


@pytest.fixture
def http_url(tmp_path: Path) -> Iterator[str]:
    """The MCP HTTP server with the admin key from the environment; its /mcp URL."""
    with mcp_http(tmp_path / "h.db", environment(tmp_path / "h.db")) as url:
        yield url


async def test_streamable_http_with_a_bearer_key(http_url: str) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    async with (
        httpx2.AsyncClient(headers=headers, timeout=60) as http,
        Client(streamable_http_client(http_url, http_client=http)) as client,
    ):
        await remember_recall_edit_forget(client)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong-key-wrong-key"}, {"X-API-Key": "nope"}],
)
async def test_streamable_http_refuses_missing_or_wrong_keys(
    http_url: str, headers: dict[str, str]
) -> None:
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        response = await http.post(http_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"


async def test_x_api_key_header_is_accepted(http_url: str) -> None:
    async with (
        httpx2.AsyncClient(headers={"X-API-Key": API_KEY}, timeout=60) as http,
        Client(streamable_http_client(http_url, http_client=http)) as client,
    ):
        assert (await call(client, "stats"))["brain"] == "agent"


async def _stats_with(url: str, key: str) -> int:
    """401 when the key is refused; 200 once the official client used it to call a tool."""
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        response = await http.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
        if response.status_code == 401:  # a key that passes gets the MCP app's own answer
            return 401
        async with Client(streamable_http_client(url, http_client=http)) as client:
            assert (await call(client, "stats"))["brain"] == "agent"
        return 200


async def test_the_server_key_store_decides_and_scoped_keys_stay_in_their_brain(
    tmp_path: Path,
) -> None:
    """Without NEURAL_MEMORY_API_KEY the server's key file is used; scoped keys from the key
    store pass only for their own brain, with write access."""
    db = tmp_path / "scoped.db"
    async with SQLiteStorage(db) as storage:
        agent, other = Brain.create("agent"), Brain.create("other")
        for brain in (agent, other):
            await storage.save_brain(brain)
    keys = KeyStore(tmp_path / KEY_STORE_FILE)
    try:
        _, writer = keys.create([agent.id], Access.WRITE)
        _, reader = keys.create([agent.id], Access.READ)
        _, elsewhere = keys.create([other.id], Access.ADMIN)
        revoked_key, revoked = keys.create([agent.id], Access.WRITE)
        keys.revoke(revoked_key.id)
    finally:
        keys.close()
    env = {k: v for k, v in environment(db).items() if k != "NEURAL_MEMORY_API_KEY"}
    with mcp_http(db, env) as url:
        admin = (tmp_path / ADMIN_KEY_FILE).read_text().strip()  # written at start
        assert await _stats_with(url, admin) == 200
        assert await _stats_with(url, writer) == 200
        for refused in (reader, elsewhere, revoked, "nmk_not-a-key-at-all-0123456789"):
            assert await _stats_with(url, refused) == 401


def test_an_explicit_db_in_a_missing_folder_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from neural_memory.mcp._run import run_command

    missing = tmp_path / "missing" / "brain.db"
    assert run_command(["--db", str(missing)]) == 1
    assert "does not exist" in capsys.readouterr().err
    assert not missing.parent.exists()
