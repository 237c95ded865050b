"""PostgresStorage: the storage interface on a PostgreSQL server, shared by many processes.

Needs the ``postgres`` extra (``pip install neural-memory-brain[postgres]``: asyncpg). Every
operation borrows a connection from an asyncpg pool; a write batch is one transaction that
locks its brain's row first, so any number of processes, on any number of machines, write
one brain with distinct, increasing change seqs (see ``_postgres_write``). The tables live in
one schema (``public`` by default; pass ``schema=`` to keep several stores in one database)
and are created or migrated on ``initialize()`` (see ``_postgres_schema``).
Brain-scoped reads resolve the brain's row number in the same statement, so each read is one
round trip (their SQL: ``_postgres_sql``).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

import neural_memory.storage.memory as _memory
from neural_memory.core._validation import require_text
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import (
    BrainStats,
    BrainVersion,
    ChangeKind,
    ChangeRecord,
    RecallEvent,
)
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.project import Project
from neural_memory.core.synapse import Direction, Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import (
    AlreadyExistsError,
    BrainNotFoundError,
    NeuralMemoryError,
    NotFoundError,
    StorageClosedError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)

try:
    import asyncpg
except ImportError as _missing:  # pragma: no cover - the extra is installed in the test env
    raise StorageUnavailableError(
        "PostgresStorage needs asyncpg: pip install 'neural-memory-brain[postgres]'"
    ) from _missing

from neural_memory.storage import _postgres_snapshot
from neural_memory.storage import _postgres_sql as pgsql
from neural_memory.storage import _sqlite_rows as rows
from neural_memory.storage._core import FiberRows, GraphRows, IndexSnapshot, JSONValue
from neural_memory.storage._postgres_schema import BRAIN_TABLES, migrate, quote_identifier
from neural_memory.storage._postgres_write import (
    PUT_ALERTS,
    PUT_META,
    PUT_RECALL_EVENTS,
    bulk_args,
    create_brain,
    write_batch,
)
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = ["PostgresStorage"]

_T = TypeVar("_T")
Connection = Any
"""An asyncpg connection (asyncpg ships no type information)."""

_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^/@:]*:)[^@/]*@")
_PASSWORD_PARAM = re.compile(r"(?P<head>password\s*=\s*)('[^']*'|\S+)", re.IGNORECASE)
_INT_TOO_LARGE = "a number is too large for PostgreSQL"
_INTERNAL = asyncpg.exceptions._base.InternalClientError  # a connection lost mid-operation
_DRIVER_ERRORS = (
    TimeoutError,
    OSError,
    OverflowError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    _INTERNAL,
)


class PostgresStorage(Storage):
    """Persistent storage in a PostgreSQL database, through a pool of asyncpg connections.

    Args:
        dsn: A libpq connection string (``postgresql://user:password@host:5432/db`` or
            ``host=... dbname=...``).
        schema: The schema holding the tables (created on ``initialize()`` if missing);
            several stores can share one database under different schemas.
        min_connections: Connections the pool keeps open.
        max_connections: Connections the pool opens at most (concurrent operations).
        connect_timeout: Seconds to wait for the server when connecting.

    Metadata, tags and meta values must be JSON data (ValidationError otherwise). Errors
    name the server by its DSN with the password hidden.
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str = "public",
        min_connections: int = 1,
        max_connections: int = 10,
        connect_timeout: float = 30.0,
    ) -> None:
        super().__init__()
        self._dsn = require_text(dsn, "dsn")
        self._schema = require_text(schema, "schema")
        for name, value in (
            ("min_connections", min_connections),
            ("max_connections", max_connections),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValidationError(f"{name} must be a positive integer, got {value!r}")
        if min_connections > max_connections:
            raise ValidationError("min_connections must not exceed max_connections")
        if (
            isinstance(connect_timeout, bool)
            or not isinstance(connect_timeout, int | float)
            or connect_timeout <= 0
        ):
            raise ValidationError(
                f"connect_timeout must be a positive number, got {connect_timeout!r}"
            )
        self._min, self._max = min_connections, max_connections
        self._timeout = float(connect_timeout)
        self._where = redact_dsn(self._dsn)
        self._pool: Any = None

    @property
    def schema(self) -> str:
        """The schema holding the tables."""
        return self._schema

    def __repr__(self) -> str:
        return f"PostgresStorage({self._where!r}, schema={self._schema!r})"

    # -- lifecycle -------------------------------------------------------------------------

    async def _open(self) -> None:
        search_path = f"{quote_identifier(self._schema)}, public"
        try:
            pool = await asyncpg.create_pool(
                self._dsn,
                min_size=self._min,
                max_size=self._max,
                timeout=self._timeout,
                server_settings={"search_path": search_path},
                reset=_keep_session,
            )
        except (TimeoutError, OSError, ValueError, asyncpg.PostgresError) as exc:
            raise StorageUnavailableError(
                f"cannot connect to PostgreSQL at {self._where}: {self._scrub(exc)}"
            ) from None
        try:
            async with pool.acquire() as conn:
                await migrate(conn, self._schema, f"PostgreSQL schema {self._schema!r}")
        except _DRIVER_ERRORS as exc:
            await pool.close()
            raise self._error(exc) from exc
        except BaseException:  # a refused schema version, a cancellation: close, then raise
            await pool.close()
            raise
        self._pool = pool

    async def _close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Connection]:
        """A pooled connection; asyncpg and socket errors become StorageError subclasses."""
        pool = self._pool
        if pool is None:
            raise StorageClosedError(f"{self!r} is closed")
        try:
            async with pool.acquire() as conn:
                yield conn
        except NeuralMemoryError:
            raise
        except _DRIVER_ERRORS as exc:
            raise self._error(exc) from exc

    def _error(self, exc: BaseException) -> StorageError | ValidationError:
        """Translate an asyncpg or socket error into the NeuralMemoryError family."""
        detail = self._scrub(exc)
        if isinstance(exc, asyncpg.UniqueViolationError):
            return AlreadyExistsError(f"an id is already taken ({detail})")
        if isinstance(exc, asyncpg.ForeignKeyViolationError):
            return NotFoundError(f"a referenced id does not exist ({detail})")
        if isinstance(exc, OverflowError | asyncpg.exceptions.NumericValueOutOfRangeError):
            return ValidationError(f"{_INT_TOO_LARGE}: {detail}")
        if isinstance(exc, asyncpg.DataError | asyncpg.exceptions._base.DataError):
            return ValidationError(f"PostgreSQL refused a value: {detail}")
        if isinstance(
            exc,
            OSError
            | TimeoutError
            | asyncpg.InterfaceError
            | _INTERNAL
            | asyncpg.PostgresConnectionError
            | asyncpg.InvalidAuthorizationSpecificationError
            | asyncpg.InvalidCatalogNameError
            | asyncpg.CannotConnectNowError
            | asyncpg.TooManyConnectionsError
            | asyncpg.exceptions.OperatorInterventionError,
        ):
            return StorageUnavailableError(f"PostgreSQL at {self._where} is unavailable: {detail}")
        return StorageError(f"PostgreSQL error on {self._where}: {detail}")

    def _scrub(self, exc: BaseException) -> str:
        """The error's message without the DSN's password."""
        return redact_dsn(str(exc) or type(exc).__name__, _password(self._dsn))

    async def _fetch(self, sql: str, *args: Any) -> list[Any]:
        async with self._connection() as conn:
            found: list[Any] = await conn.fetch(sql, *args)
            return found

    async def _brain_number(self, conn: Connection, brain_id: str) -> int:
        """The brain's row number, key-share locked until the end of the transaction.

        The lock keeps a concurrent ``delete_brain`` from leaving rows of a deleted brain
        behind; it does not wait for (or hold up) write batches.
        """
        sql = "SELECT num FROM brains WHERE id = $1 FOR KEY SHARE"
        number = await conn.fetchval(sql, brain_id)
        if number is None:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
        return int(number)

    # -- brains ----------------------------------------------------------------------------

    async def _save_brain(self, brain: Brain) -> None:
        async with self._connection() as conn:
            await conn.execute(pgsql.SAVE_BRAIN, *rows.BRAIN.cells(brain))

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        async with self._connection() as conn:
            return await create_brain(
                conn, rows.BRAIN.cells(brain), contents, _memory.CHANGE_LOG_LIMIT
            )

    async def _get_brain(self, brain_id: str) -> Brain | None:
        sql = f"SELECT {rows.BRAIN.selected} FROM brains WHERE id = $1"
        found = await self._fetch(sql, brain_id)
        return rows.BRAIN.record(found[0]) if found else None

    async def _get_brain_version(self, brain_id: str) -> BrainVersion | None:
        # The generation is the brain's row number (an identity: never handed out twice).
        sql = "SELECT seq, record_version, num FROM brains WHERE id = $1"
        found = await self._fetch(sql, brain_id)
        if not found:
            return None
        return BrainVersion(int(found[0][0]), int(found[0][1]), int(found[0][2]))

    async def _list_brains(self) -> list[Brain]:
        sql = f"SELECT {rows.BRAIN.selected} FROM brains ORDER BY created_at, num"
        return [rows.BRAIN.record(row) for row in await self._fetch(sql)]

    async def _delete_brain(self, brain_id: str) -> bool:
        # FOR UPDATE waits for the brain's writers and makes later ones find no brain.
        sql = "SELECT num FROM brains WHERE id = $1 FOR UPDATE"
        async with self._connection() as conn, conn.transaction():
            brain = await conn.fetchval(sql, brain_id)
            if brain is None:
                return False
            for table in BRAIN_TABLES:
                await conn.execute(f"DELETE FROM {table} WHERE brain = $1", brain)
            await conn.execute("DELETE FROM brains WHERE num = $1", brain)
            return True

    # -- graph -----------------------------------------------------------------------------

    def _applies_access_deltas(self) -> bool:
        return True

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        # A brain keeps as many change-log entries as InMemoryStorage does.
        async with self._connection() as conn:
            return await write_batch(conn, brain_id, batch, _memory.CHANGE_LOG_LIMIT)

    async def _get_neurons(self, brain_id: str, ids: frozenset[str]) -> dict[str, Neuron]:
        sql = f"{pgsql.NEURONS} AND id = ANY($2::text[])"
        found = await self._fetch(sql, brain_id, list(ids))
        return {row[0]: rows.NEURON.record(row) for row in found}

    async def _find_neurons(self, brain_id: str, query: NeuronFilter) -> list[Neuron]:
        sql, params = pgsql.NEURONS, [brain_id]
        if query.content is not None:
            # The index holds md5(content_key): a neuron's text may exceed a btree entry.
            match = " AND md5(content_key) = md5($2) AND content_key = $2"
            sql, params = sql + match, [*params, query.content.casefold()]
        if query.type is not None:
            sql += f" AND type = ${len(params) + 1}"
            params.append(query.type)
        sql += f" ORDER BY ord LIMIT ${len(params) + 1}"
        found = await self._fetch(sql, *params, query.limit)
        return [rows.NEURON.record(row) for row in found]

    async def _get_synapses(self, brain_id: str, ids: frozenset[str]) -> dict[str, Synapse]:
        sql = f"{pgsql.SYNAPSES} AND id = ANY($2::text[])"
        found = await self._fetch(sql, brain_id, list(ids))
        return {row[0]: rows.SYNAPSE.record(row) for row in found}

    async def _find_synapses(self, brain_id: str, query: SynapseFilter) -> list[Synapse]:
        sql, params = pgsql.SYNAPSES, [brain_id]
        for column, value in (
            ("source_id", query.source_id),
            ("target_id", query.target_id),
            ("type", query.type),
        ):
            if value is not None:
                params.append(value)
                sql += f" AND {column} = ${len(params)}"
        sql += f" ORDER BY created_at, id LIMIT ${len(params) + 1}"
        found = await self._fetch(sql, *params, query.limit)
        return [rows.SYNAPSE.record(row) for row in found]

    async def _synapses_touching(self, brain_id: str, neuron_ids: frozenset[str]) -> list[Synapse]:
        sql = (
            f"{pgsql.SYNAPSES} AND (source_id = ANY($2::text[]) OR target_id = ANY($2::text[])) "
            "ORDER BY id"
        )
        found = await self._fetch(sql, brain_id, list(neuron_ids))
        return [rows.SYNAPSE.record(row) for row in found]

    async def _get_fibers(self, brain_id: str, ids: frozenset[str]) -> dict[str, Fiber]:
        sql = f"{pgsql.FIBERS} AND id = ANY($2::text[])"
        found = await self._fetch(sql, brain_id, list(ids))
        return {row[0]: rows.FIBER.record(row) for row in found}

    async def _find_fibers(self, brain_id: str, query: FiberFilter) -> list[Fiber]:
        if query.neuron_id is not None:
            sql, prefix, params = pgsql.FIBERS_OF_NEURON, "f.", [brain_id, query.neuron_id]
        else:
            sql, prefix, params = pgsql.FIBERS, "", [brain_id]
        if query.tags:
            params.append(rows.id_list(query.tags))
            sql += f" AND {prefix}tags::jsonb @> ${len(params)}::jsonb"
        if query.current:
            sql += f" AND {prefix}superseded_by IS NULL"
        sql += f" ORDER BY {prefix}created_at, {prefix}id LIMIT ${len(params) + 1}"
        found = await self._fetch(sql, *params, query.limit)
        return [rows.FIBER.record(row) for row in found]

    # -- which ids exist -------------------------------------------------------------------

    async def _existing_neuron_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        sql = f"SELECT id FROM neurons WHERE brain = {pgsql.B} AND id = ANY($2::text[])"
        return {row[0] for row in await self._fetch(sql, brain_id, list(ids))}

    async def _existing_synapse_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        sql = f"SELECT id FROM synapses WHERE brain = {pgsql.B} AND id = ANY($2::text[])"
        return {row[0] for row in await self._fetch(sql, brain_id, list(ids))}

    # -- knowledge -------------------------------------------------------------------------

    async def _get_typed_memories(
        self, brain_id: str, ids: frozenset[str]
    ) -> dict[str, TypedMemory]:
        sql = f"{pgsql.TYPED} AND id = ANY($2::text[])"
        found = await self._fetch(sql, brain_id, list(ids))
        return {row[0]: rows.TYPED_MEMORY.record(row) for row in found}

    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]:
        sql, params = pgsql.typed_memory_query(query)
        found = await self._fetch(sql, brain_id, *params)
        return [rows.TYPED_MEMORY.record(row) for row in found]

    async def _get_projects(self, brain_id: str, ids: frozenset[str] | None) -> list[Project]:
        sql = f"SELECT {rows.PROJECT.selected} FROM projects WHERE brain = {pgsql.B}"
        params: list[object] = [brain_id]
        if ids is not None:
            sql += " AND id = ANY($2::text[])"
            params.append(list(ids))
        found = await self._fetch(sql + " ORDER BY created_at, id", *params)
        return [rows.PROJECT.record(row) for row in found]

    async def _put_alerts(self, brain_id: str, alerts: tuple[Alert, ...]) -> None:
        await self._put_rows(brain_id, PUT_ALERTS, alerts, rows.ALERT.row)

    async def _put_rows(
        self,
        brain_id: str,
        sql: str,
        items: Sequence[_T],
        to_row: Callable[[int, _T], rows.Row],
    ) -> None:
        """Write ``items`` with one statement of :func:`side_write_sql` (one round trip).

        Of several items with one id, the last wins.
        """
        by_id = {row[1]: row[1:] for row in (to_row(0, item) for item in items)}
        async with self._connection() as conn:
            brain = await conn.fetchval(sql, brain_id, *bulk_args(list(by_id.values())))
        if brain is None:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")

    async def _find_alerts(self, brain_id: str, query: AlertFilter) -> list[Alert]:
        sql = f"SELECT {rows.ALERT.selected} FROM alerts WHERE brain = {pgsql.B}"
        params: list[object] = [brain_id]
        for column, values in (
            ("id", query.ids),
            ("status", query.statuses),
            ("alert_type", query.types),
        ):
            if values is not None:
                params.append([str(v) for v in values])
                sql += f" AND {column} = ANY(${len(params)}::text[])"
        sql += f" ORDER BY created_at DESC, id DESC LIMIT ${len(params) + 1}"
        found = await self._fetch(sql, *params, query.limit)
        return [rows.ALERT.record(row) for row in found]

    async def _add_recall_event(self, brain_id: str, event: RecallEvent) -> None:
        await self._put_rows(brain_id, PUT_RECALL_EVENTS, (event,), rows.RECALL.row)

    async def _get_recall_events(
        self, brain_id: str, since: datetime | None, limit: int | None
    ) -> list[RecallEvent]:
        if limit == 0:
            return []
        sql = f"SELECT {rows.RECALL.selected} FROM recall_events WHERE brain = {pgsql.B}"
        params: list[object] = [brain_id]
        if since is not None:
            params.append(rows.to_micros(since))
            sql += " AND created_at >= $2"
        sql += f" ORDER BY created_at DESC, ord DESC LIMIT ${len(params) + 1}"
        newest_first = await self._fetch(sql, *params, limit)
        return [rows.RECALL.record(row) for row in reversed(newest_first)]

    async def _get_meta(self, brain_id: str, key: str) -> JSONValue | None:
        sql = f"SELECT value FROM meta WHERE brain = {pgsql.B} AND key = $2"
        found = await self._fetch(sql, brain_id, key)
        return rows.load_json(found[0][0]) if found else None

    async def _meta_keys(self, brain_id: str) -> list[str]:
        found = await self._fetch(f"SELECT key FROM meta WHERE brain = {pgsql.B}", brain_id)
        return sorted(str(row[0]) for row in found)

    async def _set_meta(self, brain_id: str, key: str, value: JSONValue) -> None:
        text = rows.dump_json(value, f"meta value {key!r}")
        async with self._connection() as conn, conn.transaction():
            brain = await self._brain_number(conn, brain_id)
            await conn.execute(PUT_META, brain, [key], [text])

    async def _get_index_snapshot(self, brain_id: str) -> IndexSnapshot | None:
        async with self._connection() as conn:
            return await _postgres_snapshot.get_index_snapshot(conn, brain_id)

    async def _put_index_snapshot(self, brain_id: str, snapshot: IndexSnapshot) -> bool:
        async with self._connection() as conn:
            return await _postgres_snapshot.put_index_snapshot(conn, brain_id, snapshot)

    async def _graph_rows(self, brain_id: str) -> GraphRows:
        neurons_sql = f"SELECT id, type FROM neurons WHERE brain = {pgsql.B} ORDER BY ord"
        synapses_sql = (
            f"SELECT id, source_id, target_id, weight, direction = $2 FROM synapses "
            f"WHERE brain = {pgsql.B}"
        )
        # One snapshot: no synapse is read without the neurons it links.
        async with self._connection() as conn, conn.transaction(isolation="repeatable_read"):
            neurons = await conn.fetch(neurons_sql, brain_id)
            synapses = await conn.fetch(synapses_sql, brain_id, Direction.BIDIRECTIONAL.value)
        return GraphRows(
            [(i, NeuronType(t)) for i, t in neurons],
            [(i, a, b, w, both) for i, a, b, w, both in synapses],
        )

    async def _fiber_rows(self, brain_id: str) -> FiberRows:
        prefix = rows.TERMS_PREFIX
        found = await self._fetch(pgsql.FIBER_ROWS, brain_id, len(prefix), prefix)
        return rows.fiber_rows_from([tuple(row) for row in found])

    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        sql = f"SELECT fiber_id, vector::real[] FROM vectors WHERE brain = {pgsql.B} AND model = $2"
        params: list[object] = [brain_id, model]
        if ids is not None:
            sql += " AND fiber_id = ANY($3::text[])"
            params.append(list(ids))
        found = await self._fetch(sql, *params)
        return {row[0]: np.array(row[1], dtype=np.float32) for row in found}

    # -- change log, statistics ------------------------------------------------------------

    async def _get_change_seq(self, brain_id: str) -> int:
        found = await self._fetch("SELECT seq FROM brains WHERE id = $1", brain_id)
        return int(found[0][0]) if found else 0

    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        found = await self._fetch(pgsql.CHANGES, brain_id, since)
        if not found or since >= found[0][0]:
            return []
        if found[0][1] != since + 1:
            return None
        kinds = {kind.value: kind for kind in ChangeKind}
        return [ChangeRecord(row[1], kinds[row[2]], row[3]) for row in found]

    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats:
        found = await self._fetch(pgsql.STATS, brain_id, rows.to_micros(now))
        row = found[0]
        if row[8] is None:
            return BrainStats()
        return rows.STATS.record(row)


async def _keep_session(conn: Connection) -> None:
    """Release a connection to the pool as it is (the pool's ``reset``).

    asyncpg's default reset runs ``RESET ALL``, ``UNLISTEN *``, ``CLOSE ALL`` and
    ``pg_advisory_unlock_all()``: a round trip per checkout, undoing session state this class
    never leaves (its settings are the pool's connection settings, its advisory locks are
    transaction-scoped, it listens to nothing). An open transaction is still rolled back.
    """


def redact_dsn(dsn: str, password: str | None = None) -> str:
    """``dsn`` (or any text) with the password of a URL or ``password=`` pair hidden.

    ``password``, when given, is also replaced wherever it appears.
    """
    text = _PASSWORD_IN_URL.sub(r"\g<head>***@", dsn)
    text = _PASSWORD_PARAM.sub(r"\g<head>***", text)
    if password:
        text = text.replace(password, "***")
    return text


def _password(dsn: str) -> str | None:
    """The password written in ``dsn``, if any (to scrub it from error messages)."""
    match = _PASSWORD_IN_URL.search(dsn)
    if match is not None:
        return match.group(0)[len(match.group("head")) : -1] or None
    match = _PASSWORD_PARAM.search(dsn)
    return match.group(2).strip("'") if match is not None else None
