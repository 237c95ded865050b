"""Two ``neural-memory-server`` processes on one PostgreSQL serve the same brains.

A memory stored through one server is recalled through the other by the very next recall:
each recall catches the process's index up from the brain's change sequence first, and the
write's response came after its commit. Real processes, a real PostgreSQL, real HTTP.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from neural_memory.storage import PostgresStorage
from tests.http_server import ADMIN_KEY, admin_headers
from tests.postgres_server import PostgresServer
from tests.server.server_process import RunningServer, running_server


@pytest.fixture
async def database(postgres_server: PostgresServer) -> str:
    """The URL of a fresh database of the session's PostgreSQL."""
    return postgres_server.url(await postgres_server.create_database(), driver="postgresql")


@pytest.fixture
def servers(database: str, tmp_path: Path) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Two server processes on ``database`` (the second starts on the migrated schema)."""
    env = {"NEURAL_MEMORY_DB": database, "NEURAL_MEMORY_API_KEY": ADMIN_KEY, "HOME": str(tmp_path)}
    with ExitStack() as stack:
        first = stack.enter_context(running_server(tmp_path / "unused-a.db", env=env))
        second = stack.enter_context(running_server(tmp_path / "unused-b.db", env=env))
        yield first, second


@pytest.fixture
async def clients(
    servers: tuple[RunningServer, RunningServer],
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """An admin client of each server."""
    first, second = servers
    async with (
        httpx.AsyncClient(base_url=first.url, timeout=60, headers=admin_headers()) as a,
        httpx.AsyncClient(base_url=second.url, timeout=60, headers=admin_headers()) as b,
    ):
        yield a, b


async def _remember(http: httpx.AsyncClient, brain_id: str, text: str) -> str:
    response = await http.post(f"/brains/{brain_id}/memories", json={"text": text})
    assert response.status_code == 201, response.text
    fiber_id: str = response.json()["fiber_id"]
    return fiber_id


async def _recalled(http: httpx.AsyncClient, brain_id: str, query: str) -> list[str]:
    response = await http.post(f"/brains/{brain_id}/recall", json={"query": query})
    assert response.status_code == 200, response.text
    return [fiber["fiber_id"] for fiber in response.json()["fibers"]]


async def test_a_memory_stored_through_one_server_is_recalled_through_the_other(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient],
) -> None:
    a, b = clients
    created = await a.post("/brains", json={"name": "shared"})
    assert created.status_code == 201, created.text
    brain_id = created.json()["id"]
    await _remember(a, brain_id, "Alice moved the standup to Tuesday mornings")
    assert await _recalled(b, brain_id, "When is the standup?")  # b's index is built now
    # From here on each side holds a warm index: every new memory must reach the other's.
    for turn, (writer, reader) in enumerate([(a, b), (b, a), (a, b), (a, b), (b, a)]):
        fiber_id = await _remember(writer, brain_id, f"Carol deployed billing build {turn}")
        assert fiber_id in await _recalled(reader, brain_id, f"billing build {turn}")


async def test_a_brain_created_through_one_server_is_served_by_the_other(
    clients: tuple[httpx.AsyncClient, httpx.AsyncClient], database: str
) -> None:
    a, b = clients
    brain_id = (await a.post("/brains", json={"name": "team"})).json()["id"]
    fiber_id = await _remember(b, brain_id, "The wifi password is hunter2")
    assert fiber_id in await _recalled(a, brain_id, "wifi password")
    assert (await b.delete(f"/brains/{brain_id}")).status_code == 200
    assert (await a.post(f"/brains/{brain_id}/recall", json={"query": "wifi"})).status_code == 404
    async with PostgresStorage(database) as storage:
        assert await storage.list_brains() == []
