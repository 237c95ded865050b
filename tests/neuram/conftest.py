"""Fixtures of the neuram tests: an injectable clock, brains on every backend, Redis clean-up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from neural_memory.engine.embeddings import HashingEmbedder
from neural_memory.storage import InMemoryStorage, RedisStorage
from neuram import Brain
from tests.redis_server import RedisServer

START = 1_767_225_600.0  # 2026-01-01T00:00:00Z


class FakeClock:
    """A clock tests move by hand (POSIX seconds), so no test ever sleeps."""

    def __init__(self, start: float = START) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 0.0, *, hours: float = 0.0, days: float = 0.0) -> None:
        self.now += seconds + 3600.0 * hours + 86400.0 * days


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


OpenBrain = Callable[..., Awaitable[Brain]]


@pytest.fixture
async def open_brain(clock: FakeClock) -> AsyncIterator[OpenBrain]:
    """``await open_brain(**options)``: a Brain on the fake clock, closed after the test.

    Defaults: an in-memory storage and the deterministic hashing embedder (fast, offline).
    """
    opened: list[Brain] = []

    async def open_(**options: object) -> Brain:
        options.setdefault("clock", clock)
        if "redis_url" not in options and "path" not in options:
            options.setdefault("storage", InMemoryStorage())
        if options.get("embeddings", True):
            options.setdefault("embedder", HashingEmbedder(256))
        brain = await Brain.create(**options)  # type: ignore[arg-type]
        opened.append(brain)
        return brain

    yield open_
    for brain in opened:
        await brain.close()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "neuram.db"


async def _drop_default_brain(url: str) -> None:
    storage = RedisStorage(url)  # the seed samples use the default namespace and brain name
    try:
        for brain in await storage.list_brains():
            if brain.name == "neuram":
                await storage.delete_brain(brain.id)
    finally:
        await storage.close()


@pytest.fixture
async def default_redis_brain(redis_server: RedisServer) -> AsyncIterator[str]:
    """The session Redis URL, with the seed samples' default brain dropped around the test.

    The samples use the default namespace ("nm") and brain name ("neuram"), which a verbatim
    sample cannot change, so the brain is deleted before and after.
    """
    await _drop_default_brain(redis_server.url)
    yield redis_server.url
    await _drop_default_brain(redis_server.url)
