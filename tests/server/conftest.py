"""Fixtures of the HTTP tests: real uvicorn on loopback, a fresh storage per test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from neural_memory.storage import InMemoryStorage, Storage
from tests.http_server import SESSION_HTTP, HttpServer, admin_headers


@dataclass(frozen=True)
class Served:
    """A storage served over HTTP at ``url``."""

    url: str
    storage: Storage


@pytest.fixture(scope="session")
def http_server() -> HttpServer:
    """The session's uvicorn server (started now, stopped when the session ends)."""
    return SESSION_HTTP.get()


@pytest.fixture
def serve(http_server: HttpServer) -> Iterator[Callable[..., Served]]:
    """``serve(storage, **create_app_options)`` mounts an app; all are unmounted afterwards."""
    mounted: list[str] = []

    def mount(storage: Storage, **options: Any) -> Served:
        url = http_server.mount(storage, **options)
        mounted.append(url)
        return Served(url, storage)

    yield mount
    for url in mounted:
        http_server.unmount(url)


@pytest.fixture
def served(serve: Callable[..., Served]) -> Served:
    """A fresh InMemoryStorage behind its own app."""
    return serve(InMemoryStorage())


@pytest.fixture
async def http(served: Served) -> AsyncIterator[Any]:
    """An httpx client (with the admin key) whose relative URLs go to ``served``."""
    import httpx

    async with httpx.AsyncClient(
        base_url=served.url, timeout=30, headers=admin_headers()
    ) as client:
        yield client
