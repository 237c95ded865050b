"""The engine's tests run on the embedded backends and PostgreSQL: the engine never branches
on storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from neural_memory import Brain
from neural_memory.storage import Storage
from tests.backends import BACKENDS


@pytest.fixture(params=["memory", "sqlite", "postgres"])
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    """An empty brain, selected, in each embedded backend and in PostgreSQL."""
    async with BACKENDS[request.param](tmp_path) as store:
        brain = Brain.create("test")
        await store.save_brain(brain)
        store.set_brain(brain.id)
        yield store
