"""Shared pytest fixtures (append new ones; several test areas use this file)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.redis_server import RedisServer, delete_namespace, new_namespace, redis_server_or_skip

# -- Redis -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """A real redis-server for the whole session (skipped without the binary, fails on CI)."""
    with redis_server_or_skip(tmp_path_factory.mktemp("redis")) as server:
        yield server


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of the session's redis-server."""
    return redis_server.url


@pytest.fixture
def redis_namespace(redis_server: RedisServer) -> Iterator[str]:
    """A key namespace of its own for one test; its keys are deleted afterwards."""
    namespace = new_namespace()
    yield namespace
    delete_namespace(redis_server.url, namespace)
