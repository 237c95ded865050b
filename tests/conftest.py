"""Shared pytest fixtures (append new ones; several test areas use this file)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from neural_memory.engine.embeddings import EMBEDDINGS_ENV, set_default_embedder
from tests.http_server import SESSION_HTTP
from tests.postgres_server import SESSION_POSTGRES, PostgresServer
from tests.redis_server import SESSION_REDIS, RedisServer, delete_namespace, new_namespace


def pytest_addoption(parser: pytest.Parser) -> None:
    """``--update-screenshots``: the browser tests rewrite docs/screenshots/*.png."""
    parser.addoption(
        "--update-screenshots",
        action="store_true",
        help="save the dashboard browser tests' pages as docs/screenshots/*.png",
    )


# -- Redis -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_server() -> RedisServer:
    """A real redis-server for the whole session (skipped without the binary, fails on CI)."""
    return SESSION_REDIS.get()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Stop the session's redis-server, PostgreSQL and HTTP server, if a test started them."""
    SESSION_REDIS.stop()
    SESSION_POSTGRES.stop()
    SESSION_HTTP.stop()


@pytest.fixture(scope="session")
def postgres_server() -> PostgresServer:
    """A real PostgreSQL for the whole session (skipped without the binaries, fails on CI)."""
    return SESSION_POSTGRES.get()


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


# -- the default embedding model ----------------------------------------------------------------

# Inherited by every command and server the suite starts: they stay lexical too. Off from
# the start in this process as well, for session fixtures built before the autouse one runs.
os.environ[EMBEDDINGS_ENV] = "off"
set_default_embedder(None)


@pytest.fixture(autouse=True)
def _default_embeddings_off() -> Iterator[None]:
    """The suite runs without the default embedding model (fast); tests opt in explicitly.

    A test that checks the default-on behaviour calls ``set_default_embedder(DEFAULT_EMBEDDER)``
    (or starts its process with ``NEURAL_MEMORY_EMBEDDINGS=on``); whatever it chose is turned
    off again afterwards.
    """
    set_default_embedder(None)
    yield
    set_default_embedder(None)
