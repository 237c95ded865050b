"""Fixtures of the storage conformance suite: every test runs once per registered backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path

import pytest

from neural_memory import Brain
from neural_memory.storage import Storage
from tests.backends import BACKENDS

OpenStorage = Callable[[], AbstractAsyncContextManager[Storage]]


@pytest.fixture(params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    """The name of the backend under test."""
    name: str = request.param
    return name


@pytest.fixture
def open_storage(backend_name: str, tmp_path: Path) -> OpenStorage:
    """Open a fresh, empty storage of the backend under test (``async with open_storage()``)."""
    counter = iter(range(1_000_000))
    return lambda: BACKENDS[backend_name](tmp_path / f"s{next(counter)}")


@pytest.fixture
async def storage(open_storage: OpenStorage) -> AsyncIterator[Storage]:
    """An initialised storage with one brain created and selected."""
    async with open_storage() as opened:
        brain = Brain.create("test-brain")
        await opened.save_brain(brain)
        opened.set_brain(brain.id)
        yield opened
