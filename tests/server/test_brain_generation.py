"""A brain deleted and created again under its id is a new brain to every server worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from neural_memory import Brain
from neural_memory.codec import encode_record
from neural_memory.storage import SQLiteStorage
from tests.http_server import admin_headers
from tests.server.conftest import Served


async def _remember(http: httpx.AsyncClient, brain_id: str, text: str) -> None:
    response = await http.post(f"/brains/{brain_id}/memories", json={"text": text})
    assert response.status_code == 201, response.text


async def _recall(http: httpx.AsyncClient, brain_id: str, query: str) -> str:
    response = await http.post(f"/brains/{brain_id}/recall", json={"query": query})
    assert response.status_code == 200, response.text
    context: str = response.json()["context"]
    return context


def _client(served: Served) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=served.url, timeout=30, headers=admin_headers())


async def test_a_worker_sees_a_brain_recreated_by_another_worker(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    db = tmp_path / "shared.db"
    async with (
        SQLiteStorage(db) as first_storage,
        SQLiteStorage(db) as second_storage,  # two workers, one file
        _client(serve(first_storage)) as one,
        _client(serve(second_storage)) as two,
    ):
        response = await one.post("/brains", json={"name": "old"})
        assert response.status_code == 201, response.text
        brain_id: str = response.json()["id"]
        for text in (
            "Heidi keeps the backup tapes in the basement",
            "Heidi labels every tape by week",
            "The basement door sticks in winter",
        ):
            await _remember(one, brain_id, text)
        assert "Heidi" in await _recall(one, brain_id, "Who keeps the backup tapes?")
        # The other worker deletes the brain and creates it again, smaller than before.
        assert (await two.delete(f"/brains/{brain_id}")).status_code == 200
        again: Any = {"brain": encode_record(Brain.create("new", brain_id=brain_id))}
        assert (await two.post("/v1/storage/save_brain", json=again)).status_code == 200
        await _remember(two, brain_id, "Ivan keeps the backup tapes in the attic")
        # The first worker's cached record and recall index are of the old brain.
        assert (await one.get(f"/brains/{brain_id}")).json()["name"] == "new"
        context = await _recall(one, brain_id, "Who keeps the backup tapes?")
        assert "Ivan" in context
        assert "Heidi" not in context
