"""Behaviour only the PostgreSQL backend has: restarts, schema versions, several processes.

Everything runs against the real PostgreSQL server the fixtures start (tests/postgres_server.py),
each test in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest

from neural_memory import Brain
from neural_memory.core import (
    Alert,
    AlertSeverity,
    AlertType,
    ChangeKind,
    MemoryType,
    Project,
    RecallEvent,
    TypedMemory,
)
from neural_memory.errors import (
    AlreadyExistsError,
    NotFoundError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage import FiberVector, WriteBatch
from neural_memory.storage._core import IndexSnapshot
from neural_memory.storage._postgres_schema import SCHEMA_VERSION
from neural_memory.storage.postgres import PostgresStorage, redact_dsn
from tests.backends import drop_postgres_schema, new_postgres_schema
from tests.postgres_server import PostgresServer
from tests.processes import run_together
from tests.storage import _postgres_workers as workers
from tests.storage import _sqlite_workers as shared
from tests.storage.helpers import at, fiber, neuron, synapse

asyncpg = pytest.importorskip("asyncpg")


@pytest.fixture
def dsn(postgres_server: PostgresServer) -> str:
    """The DSN of the session server's ``postgres`` database."""
    return postgres_server.url("postgres", driver="postgresql")


@pytest.fixture
async def schema(dsn: str) -> AsyncIterator[str]:
    """A fresh schema name, dropped (with whatever was created in it) after the test."""
    name = new_postgres_schema()
    yield name
    await drop_postgres_schema(dsn, name)


async def _with_brain(dsn: str, schema: str) -> PostgresStorage:
    storage = PostgresStorage(dsn, schema=schema)
    await storage.initialize()
    brain = Brain.create("b")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return storage


async def _query(dsn: str, schema: str, sql: str) -> object:
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        return await connection.fetchval(sql)
    finally:
        await connection.close()


# -- persistence ---------------------------------------------------------------------------


async def test_everything_survives_a_restart(dsn: str, schema: str) -> None:
    storage = await _with_brain(dsn, schema)
    brain = await storage.get_brain(storage.brain_id)
    a, b = neuron("a", metadata={"k": [1, 2]}), neuron("b")
    s, f = synapse(a, b, weight=0.7), fiber(a, b, tags={"t"}, content="a and b")
    memory = TypedMemory.create(f.id, MemoryType.INSIGHT, tags={"x"}, created_at=at(1))
    project = Project.create("p", duration_days=3, created_at=at(2))
    alert = Alert.create(AlertType.STALE_FIBERS, AlertSeverity.INFO, "old", created_at=at(3))
    event = RecallEvent.create("what about a?", [f.id], confidence=0.5, created_at=at(4))
    vector = FiberVector(f.id, "mini", [0.25, -1.5, 3.0])
    seq = await storage.write(
        WriteBatch(
            insert_neurons=(a, b),
            insert_synapses=(s,),
            insert_fibers=(f,),
            put_typed_memories=(memory,),
            put_projects=(project,),
            put_vectors=(vector,),
        )
    )
    await storage.add_alerts([alert])
    await storage.add_recall_event(event)
    await storage.set_meta("m", {"v": 1})
    changes = await storage.get_changes(0)
    await storage.close()

    async with PostgresStorage(dsn, schema=schema) as again:
        assert await again.list_brains() == [brain]
        again.set_brain(brain.id)  # type: ignore[union-attr]
        assert await again.get_neurons([a.id, b.id]) == {a.id: a, b.id: b}
        assert await again.get_synapse(s.id) == s
        assert await again.get_fiber(f.id) == f
        assert await again.find_fibers(neuron_id=a.id) == [f]
        assert await again.get_typed_memory(memory.id) == memory
        assert await again.list_projects() == [project]
        assert await again.get_alerts() == [alert]
        assert await again.get_recall_events() == [event]
        assert await again.get_meta("m") == {"v": 1}
        stored = await again.get_vectors("mini")
        assert stored.keys() == {f.id}
        assert stored[f.id].tolist() == [0.25, -1.5, 3.0]
        assert await again.get_change_seq() == seq
        assert await again.get_changes(0) == changes
        assert await again.write(WriteBatch(delete_fiber_ids=(f.id,))) == seq + 1


async def test_schemas_keep_stores_apart(dsn: str, schema: str) -> None:
    other = new_postgres_schema()
    one = await _with_brain(dsn, schema)
    try:
        async with PostgresStorage(dsn, schema=other) as two:
            assert await two.list_brains() == []
            assert two.schema == other
    finally:
        await one.close()
        await drop_postgres_schema(dsn, other)


async def test_vectors_are_stored_natively(dsn: str, schema: str) -> None:
    storage = await _with_brain(dsn, schema)
    await storage.close()
    column = await _query(
        dsn,
        schema,
        "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
        "WHERE attrelid = 'vectors'::regclass AND attname = 'vector'",
    )
    has_pgvector = await _query(
        dsn, schema, "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
    )
    assert column == ("vector" if has_pgvector else "real[]")


async def test_vectors_on_pgvector(dsn: str, schema: str) -> None:
    if not await _query(dsn, schema, "SELECT count(*) FROM pg_available_extensions "
                                     "WHERE name = 'vector'"):  # fmt: skip
        pytest.skip("the pgvector extension is not installed on this server")
    storage = await _with_brain(dsn, schema)
    try:
        memory = fiber(neuron("a"))
        vector = FiberVector(memory.id, "mini", [0.5, 0.25])
        batch = WriteBatch(insert_neurons=(neuron("a"),), insert_fibers=(memory,))
        await storage.write(WriteBatch(**{**_fields(batch), "put_vectors": (vector,)}))
        assert (await storage.get_vectors("mini"))[memory.id].tolist() == [0.5, 0.25]
    finally:
        await storage.close()


def _fields(batch: WriteBatch) -> dict[str, object]:
    return {name: getattr(batch, name) for name in batch.__dataclass_fields__}


# -- schema versions -----------------------------------------------------------------------


async def test_newer_schema_version_is_refused(dsn: str, schema: str) -> None:
    storage = PostgresStorage(dsn, schema=schema)
    await storage.initialize()
    await storage.close()
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:
        await connection.execute(
            "INSERT INTO schema_version (version) VALUES ($1)", SCHEMA_VERSION + 1
        )
    finally:
        await connection.close()
    newer = PostgresStorage(dsn, schema=schema)
    with pytest.raises(StorageError, match="newer release"):
        await newer.initialize()
    assert not isinstance(newer, StorageUnavailableError)


async def test_a_v4_schema_is_migrated_to_record_versions(dsn: str, schema: str) -> None:
    storage = await _with_brain(dsn, schema)
    brain_id = storage.brain_id
    await storage.add_neuron(neuron("kept"))
    seq = await storage.get_change_seq()
    await storage.close()
    connection = await asyncpg.connect(dsn, server_settings={"search_path": schema})
    try:  # back to version 4: brains had no record version
        await connection.execute("ALTER TABLE brains DROP COLUMN record_version")
        await connection.execute("DELETE FROM schema_version WHERE version >= 5")
    finally:
        await connection.close()
    migrated = PostgresStorage(dsn, schema=schema)
    await migrated.initialize()
    try:
        brain = await migrated.get_brain(brain_id)
        assert brain is not None
        before = await migrated.get_brain_version(brain_id)
        assert before.change_seq == seq
        await migrated.save_brain(brain.with_name("renamed"))
        after = await migrated.get_brain_version(brain_id)
        assert (after.change_seq, after.record) == (seq, before.record + 1)
    finally:
        await migrated.close()
    found = await _query(dsn, schema, "SELECT max(version) FROM schema_version")
    assert found == SCHEMA_VERSION


async def test_index_snapshots_are_stored_without_pglz(dsn: str, schema: str) -> None:
    """Version 6: a snapshot's bytes go in with lz4 (or uncompressed), and read back whole."""
    storage = await _with_brain(dsn, schema)
    data = bytes(range(256)) * 40_000  # ~10 MB: stored out of line, compressible
    try:
        assert await storage.put_index_snapshot(IndexSnapshot(0, data))
        stored = await storage.get_index_snapshot()
    finally:
        await storage.close()
    assert stored == IndexSnapshot(0, data)
    method = await _query(
        dsn, schema, "SELECT coalesce(pg_column_compression(data), 'none') FROM index_snapshots"
    )
    assert method in {"lz4", "none"}


async def test_concurrent_starters_create_the_schema_once(dsn: str, schema: str) -> None:
    storages = [PostgresStorage(dsn, schema=schema) for _ in range(4)]
    await asyncio.gather(*(s.initialize() for s in storages))
    for storage in storages:
        await storage.close()
    versions = await _query(
        dsn, schema, "SELECT string_agg(version::text, ',') FROM schema_version"
    )
    assert versions == ",".join(str(v) for v in range(1, SCHEMA_VERSION + 1))


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "postgresql://alice:s3cret-pw@127.0.0.1:1/db",  # nothing listens on port 1
        "postgresql://alice:s3cret-pw@127.0.0.1:notaport/db",  # not a DSN
        "host=127.0.0.1 port=1 user=alice password=s3cret-pw dbname=db",
    ],
)
async def test_bad_dsn_is_unavailable_without_the_password(bad: str) -> None:
    storage = PostgresStorage(bad, connect_timeout=5)
    with pytest.raises(StorageUnavailableError) as caught:
        await storage.initialize()
    assert "s3cret-pw" not in str(caught.value)
    assert caught.value.__cause__ is None
    assert "s3cret-pw" not in repr(storage)


async def test_missing_database_is_unavailable(postgres_server: PostgresServer) -> None:
    url = postgres_server.url("no_such_database", driver="postgresql")
    with pytest.raises(StorageUnavailableError, match="no_such_database"):
        await PostgresStorage(url).initialize()


async def test_a_killed_connection_is_unavailable_then_replaced(dsn: str, schema: str) -> None:
    storage = PostgresStorage(dsn, schema=schema, min_connections=1, max_connections=1)
    await storage.initialize()
    try:
        await storage.save_brain(Brain.create("b"))
        admin = await asyncpg.connect(dsn)
        try:
            killed = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE pid <> pg_backend_pid() AND datname = 'postgres' "
                "AND backend_type = 'client backend'"
            )
        finally:
            await admin.close()
        assert killed >= 1
        assert await _brains_once_recovered(storage) == 1  # the pool replaced the connection
    finally:
        await storage.close()


async def _brains_once_recovered(storage: PostgresStorage, attempts: int = 3) -> int:
    """How many brains ``storage`` lists, once a call no longer fails on the killed connection.

    The pool replaces a connection it sees closed; a call racing the closing socket fails,
    as StorageUnavailableError and nothing else.
    """
    for _ in range(attempts - 1):
        try:
            return len(await storage.list_brains())
        except StorageUnavailableError as exc:
            assert "unavailable" in str(exc)
    return len(await storage.list_brains())


def test_redact_dsn_hides_passwords() -> None:
    assert redact_dsn("postgresql://u:pw@h:5432/d") == "postgresql://u:***@h:5432/d"
    assert redact_dsn("host=h password='a b' user=u") == "host=h password=*** user=u"
    assert redact_dsn("error near pw!", "pw!") == "error near ***"


def test_constructor_validates_arguments() -> None:
    for kwargs in (
        {"dsn": ""},
        {"dsn": "postgresql://h/d", "schema": ""},
        {"dsn": "postgresql://h/d", "min_connections": 0},
        {"dsn": "postgresql://h/d", "max_connections": True},
        {"dsn": "postgresql://h/d", "min_connections": 3, "max_connections": 2},
        {"dsn": "postgresql://h/d", "connect_timeout": 0},
    ):
        with pytest.raises(ValidationError):
            PostgresStorage(**kwargs)  # type: ignore[arg-type]


async def test_numbers_beyond_bigint_are_validation_errors(dsn: str, schema: str) -> None:
    storage = await _with_brain(dsn, schema)
    try:
        with pytest.raises(ValidationError):
            await storage.add_neuron(replace(neuron("a"), access_count=2**70))
        assert await storage.get_change_seq() == 0
    finally:
        await storage.close()


async def test_a_failed_write_leaves_its_pooled_connection_clean(dsn: str, schema: str) -> None:
    # One connection, released without asyncpg's reset query: the failed batch's transaction
    # must still be rolled back before the next borrower writes on it.
    storage = PostgresStorage(dsn, schema=schema, max_connections=1)
    await storage.initialize()
    try:
        brain = Brain.create("b")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        failing = WriteBatch(insert_neurons=(neuron("a"), replace(neuron("b"), access_count=2**70)))
        with pytest.raises(ValidationError):
            await storage.write(failing)
        assert await storage.write(WriteBatch(insert_neurons=(neuron("c"),))) == 1
        stored = await _query(dsn, schema, "SELECT string_agg(id, ',') FROM neurons")
        assert stored == neuron("c").id  # nothing of the failed batch
    finally:
        await storage.close()


# -- several writers -----------------------------------------------------------------------


async def test_concurrent_writes_on_one_storage(dsn: str, schema: str) -> None:
    storage = await _with_brain(dsn, schema)
    try:
        batches = [WriteBatch(insert_neurons=(neuron(f"n{i}"),)) for i in range(50)]
        seqs = await asyncio.gather(*(storage.write(b) for b in batches))
        assert sorted(seqs) == list(range(1, 51))
        assert len(await storage.find_neurons()) == 50
    finally:
        await storage.close()


def test_two_processes_write_one_brain(dsn: str, schema: str) -> None:
    brain = Brain.create("shared")

    async def create() -> None:
        async with PostgresStorage(dsn, schema=schema) as storage:
            await storage.save_brain(brain)

    asyncio.run(create())
    count = 150
    args = [(dsn, schema, brain.id, w, count) for w in (1, 2)]
    assert run_together(workers.write_fibers, args) == [0, 0]

    async def check() -> None:
        async with PostgresStorage(dsn, schema=schema) as storage:
            storage.set_brain(brain.id)
            fibers = await storage.find_fibers()
            assert {f.id for f in fibers} == {f"f-{w}-{i}" for w in (1, 2) for i in range(count)}
            wanted = {n for f in fibers for n in f.neuron_ids}
            assert len(wanted) == shared.SHARED_NEURONS + 2 * count
            assert set(await storage.get_neurons(wanted)) == wanted
            changes = await storage.get_changes(0)
            assert changes is not None
            seqs = [c.seq for c in changes]
            assert seqs == list(range(1, len(seqs) + 1))
            assert len(seqs) == await storage.get_change_seq() > 2 * count
            writers = [c.entity_id.split("-")[1] for c in changes if c.kind is ChangeKind.FIBER]
            assert sum(x != y for x, y in itertools.pairwise(writers)) > 1  # they interleaved
            # Every reinforcement of the shared synapse counted, except by the batch creating it.
            hub = await storage.get_synapse(shared.shared_synapse().id)
            assert hub is not None
            assert hub.reinforced_count == 2 * count - 1
            assert hub.weight == pytest.approx(0.5 + (2 * count - 1) * 0.001)

    asyncio.run(check())


def test_driver_errors_map_to_storage_errors() -> None:
    storage = PostgresStorage("postgresql://alice:s3cret-pw@db.example/brains")
    for raised, expected in (
        (asyncpg.UniqueViolationError("duplicate key"), AlreadyExistsError),
        (asyncpg.ForeignKeyViolationError("missing key"), NotFoundError),
        (asyncpg.exceptions.NumericValueOutOfRangeError("out of range"), ValidationError),
        (OverflowError("int too big"), ValidationError),
        (asyncpg.InvalidPasswordError("for s3cret-pw"), StorageUnavailableError),
        (asyncpg.ConnectionDoesNotExistError("gone"), StorageUnavailableError),
        (ConnectionRefusedError(111, "refused"), StorageUnavailableError),
        (asyncpg.UndefinedTableError("no such table"), StorageError),
    ):
        mapped = storage._error(raised)
        assert type(mapped) is expected, raised
        assert "s3cret-pw" not in str(mapped)
