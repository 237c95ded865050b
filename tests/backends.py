"""Registry of the storage backends the conformance suite in ``tests/storage`` runs against.

Every entry maps a name to a factory ``factory(tmp_path)`` returning an async context manager
that yields an initialised, empty :class:`~neural_memory.storage.Storage` and removes
everything it created on exit. ``tests/storage/conftest.py`` runs every conformance test once
per entry. Adding a backend is one function, for example::

    @backend("redis")
    @asynccontextmanager
    async def redis_storage(tmp_path: Path) -> AsyncIterator[Storage]:
        url = os.environ.get("NEURAL_MEMORY_TEST_REDIS_URL")
        if not url:
            pytest.skip("set NEURAL_MEMORY_TEST_REDIS_URL to test the redis backend")
        storage = RedisStorage(url, namespace=f"test-{uuid.uuid4().hex}")
        await storage.initialize()
        try:
            yield storage
        finally:
            ...  # drop the namespace
            await storage.close()

A factory that cannot run here (no server, missing extra) calls ``pytest.skip``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from neural_memory.storage import InMemoryStorage, RedisStorage, SQLiteStorage, Storage
from tests.http_server import ADMIN_KEY, SESSION_HTTP
from tests.postgres_server import SESSION_POSTGRES
from tests.redis_server import SESSION_REDIS, delete_namespace, new_namespace

BackendFactory = Callable[[Path], AbstractAsyncContextManager[Storage]]

BACKENDS: dict[str, BackendFactory] = {}
"""Backend name -> factory of an initialised, empty storage (cleaned up on exit)."""


def backend(name: str) -> Callable[[BackendFactory], BackendFactory]:
    """Register ``factory`` under ``name`` (decorator)."""

    def register(factory: BackendFactory) -> BackendFactory:
        if name in BACKENDS:
            raise ValueError(f"backend {name!r} is registered twice")
        BACKENDS[name] = factory
        return factory

    return register


@backend("memory")
@asynccontextmanager
async def memory_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    storage = InMemoryStorage()
    await storage.initialize()
    try:
        yield storage
    finally:
        await storage.close()


@backend("sqlite")
@asynccontextmanager
async def sqlite_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    storage = SQLiteStorage(tmp_path / "conformance" / "brain.db")
    await storage.initialize()
    try:
        yield storage
    finally:
        await storage.close()


@backend("redis")
@asynccontextmanager
async def redis_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    # One redis-server per session (skipped without the binary; fails when CI is set), one
    # fresh key namespace per storage, deleted on exit.
    server = SESSION_REDIS.get()
    namespace = new_namespace()
    storage = RedisStorage(server.url, namespace=namespace)
    await storage.initialize()
    try:
        yield storage
    finally:
        await storage.close()
        delete_namespace(server.url, namespace)


@backend("shared")
@asynccontextmanager
async def shared_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    # SharedStorage over real HTTP: one uvicorn server per session (tests/http_server.py),
    # one fresh InMemoryStorage behind its own app per storage, unmounted on exit.
    from neural_memory.storage import SharedStorage

    server = SESSION_HTTP.get()
    url = server.mount(InMemoryStorage())
    storage = SharedStorage(url, api_key=ADMIN_KEY)
    await storage.initialize()
    try:
        yield storage
    finally:
        await storage.close()
        server.unmount(url)


@backend("postgres")
@asynccontextmanager
async def postgres_storage(tmp_path: Path) -> AsyncIterator[Storage]:
    # One PostgreSQL cluster per session (tests/postgres_server.py), one fresh schema of the
    # ``postgres`` database per storage, dropped on exit.
    from neural_memory.storage import PostgresStorage

    server = SESSION_POSTGRES.get()
    schema = new_postgres_schema()
    storage = PostgresStorage(server.url("postgres", driver="postgresql"), schema=schema)
    await storage.initialize()
    try:
        yield storage
    finally:
        await storage.close()
        await drop_postgres_schema(server.url("postgres", driver="postgresql"), schema)


def new_postgres_schema() -> str:
    """A fresh schema name for one test storage."""
    return f"t_{uuid.uuid4().hex[:16]}"


async def drop_postgres_schema(dsn: str, schema: str) -> None:
    """Drop ``schema`` and everything in it."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()
