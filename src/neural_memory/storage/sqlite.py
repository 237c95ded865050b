"""SQLiteStorage: the embedded default backend, one database file holding any number of brains.

One sqlite3 connection per storage, owned by one dedicated worker thread (the single writer),
WAL journal, ``synchronous=NORMAL``, foreign keys on (off while a write batch, which checks
its references itself, runs). Every operation runs as one synchronous
function on that thread, so a write batch is one ``BEGIN IMMEDIATE`` transaction and one hop
from the event loop. The worker is a ``concurrent.futures`` thread, which the interpreter
stops at exit, so a storage left open never keeps a process alive.
Several processes may share a file: the per-brain change sequence is bumped inside the write
transaction, so their writes get distinct, increasing seqs.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

import neural_memory.storage.memory as _memory
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import (
    AlreadyExistsError,
    NotFoundError,
    StorageClosedError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage import _sqlite_ops as ops
from neural_memory.storage import _sqlite_rows as rows
from neural_memory.storage import _sqlite_snapshot
from neural_memory.storage._core import FiberRows, GraphRows, IndexSnapshot, JSONValue
from neural_memory.storage._sqlite_write import (
    PUT_META,
    TOUCHING_IDS,
    create_brain,
    insert_sql,
    write_batch,
)
from neural_memory.storage._vectors import vector_from_bytes
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = ["SQLiteStorage"]

_T = TypeVar("_T")

# Every brain-scoped query takes the brain's row number as its first parameter.
_IN = "IN (SELECT value FROM json_each(?))"
_SUBSET = "NOT EXISTS (SELECT value FROM json_each(?) EXCEPT SELECT value FROM json_each({}))"
_NEURONS = f"SELECT {rows.NEURON.selected} FROM neurons"
_SYNAPSES = f"SELECT {rows.SYNAPSE.selected} FROM synapses"
_FIBERS = f"SELECT {rows.FIBER.selected} FROM fibers"
_TYPED = f"SELECT {rows.TYPED_MEMORY.selected} FROM typed_memories"
_TOUCHING = f"{_SYNAPSES} WHERE brain = ?1 AND id IN ({TOUCHING_IDS}) ORDER BY id"
_FIBERS_OF_NEURON = (
    "SELECT {} FROM fiber_neurons AS m CROSS JOIN fibers AS f "
    "ON f.brain = m.brain AND f.id = m.fiber_id WHERE m.brain = ? AND m.neuron_id = ?"
).format(", ".join(f"f.{c}" for c in rows.FIBER.fields))
_PUT_ALERT = insert_sql("alerts", rows.ALERT.columns, "update")
_ADD_RECALL = insert_sql("recall_events", rows.RECALL.columns)
_UNAVAILABLE = frozenset({"BUSY", "LOCKED", "CANTOPEN", "NOTADB", "IOERR", "READONLY", "FULL"})


class SQLiteStorage(Storage):
    """Persistent storage in one SQLite file (created with its directory on ``initialize()``).

    Args:
        path: The database file (``":memory:"`` for a private in-memory database).
        timeout: Seconds to wait for another process's write lock before failing.

    Metadata, tags and meta values must be JSON data (ValidationError otherwise).
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        super().__init__()
        if not isinstance(path, str | os.PathLike):
            raise ValidationError(f"path must be a str or os.PathLike, got {type(path).__name__}")
        self._path = os.fspath(path)
        if not isinstance(self._path, str) or not self._path:
            raise ValidationError("path must be a non-empty text path")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ValidationError(f"timeout must be a non-negative number, got {timeout!r}")
        self._timeout = float(timeout)
        self._worker: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    @property
    def path(self) -> str:
        """The database file."""
        return self._path

    def __repr__(self) -> str:
        return f"SQLiteStorage({self._path!r})"

    # -- lifecycle -------------------------------------------------------------------------

    async def _open(self) -> None:
        if self._path != ":memory:":
            directory = os.path.dirname(os.path.abspath(self._path))
            try:
                os.makedirs(directory, exist_ok=True)
            except OSError as exc:
                raise StorageUnavailableError(
                    f"cannot create the directory of SQLite database {self._path!r}: {exc}"
                ) from exc
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="neural-memory-sqlite")
        try:
            conn = await _on(worker, _connect, self._path, self._timeout)
        except sqlite3.Error as exc:
            worker.shutdown(wait=True)  # idle by now: joins at once
            raise StorageUnavailableError(
                f"cannot open SQLite database {self._path!r}: {exc}"
            ) from exc
        try:
            await _on(worker, ops.configure, conn, repr(self._path))
        except BaseException as exc:
            await _on(worker, conn.close)
            worker.shutdown(wait=True)  # idle by now: joins at once
            if isinstance(exc, sqlite3.Error):
                raise StorageUnavailableError(
                    f"cannot use SQLite database {self._path!r}: {exc}"
                ) from exc
            raise
        self._worker, self._conn = worker, conn

    async def _close(self) -> None:
        worker, conn, self._worker, self._conn = self._worker, self._conn, None, None
        if worker is not None and conn is not None:
            try:
                await _on(worker, conn.close)
            finally:
                worker.shutdown(wait=True)  # idle by now: joins at once

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(connection, *args)`` on the connection thread, mapping sqlite3 errors."""
        worker, conn = self._worker, self._conn
        if worker is None or conn is None:
            raise StorageClosedError(f"{self!r} is closed")
        try:
            return await _on(worker, fn, conn, *args)
        except sqlite3.Error as exc:
            raise _storage_error(exc, self._path) from exc
        except OverflowError as exc:
            raise ValidationError(f"a number is too large for SQLite: {exc}") from exc

    async def _select(
        self, brain_id: str, sql: str, params: list[object], build: Callable[[Any], _T]
    ) -> list[_T]:
        return await self._run(ops.select, brain_id, sql, params, build)

    # -- brains ----------------------------------------------------------------------------

    async def _save_brain(self, brain: Brain) -> None:
        await self._run(ops.save_brain, rows.BRAIN.cells(brain))

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        row = rows.BRAIN.cells(brain)
        return await self._run(create_brain, row, contents, _memory.CHANGE_LOG_LIMIT)

    async def _get_brain(self, brain_id: str) -> Brain | None:
        sql = f"SELECT {rows.BRAIN.selected} FROM brains WHERE id = ?"
        found = await self._run(ops.fetch_brains, sql, (brain_id,))
        return found[0] if found else None

    async def _get_brain_version(self, brain_id: str) -> BrainVersion | None:
        return await self._run(ops.brain_version, brain_id)

    async def _list_brains(self) -> list[Brain]:
        sql = f"SELECT {rows.BRAIN.selected} FROM brains ORDER BY created_at, num"
        return await self._run(ops.fetch_brains, sql, ())

    async def _delete_brain(self, brain_id: str) -> bool:
        return await self._run(ops.delete_brain, brain_id)

    # -- graph -----------------------------------------------------------------------------

    def _applies_access_deltas(self) -> bool:
        return True

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        # A brain keeps as many change-log entries as InMemoryStorage does.
        return await self._run(write_batch, brain_id, batch, _memory.CHANGE_LOG_LIMIT)

    async def _get_neurons(self, brain_id: str, ids: frozenset[str]) -> dict[str, Neuron]:
        sql = f"{_NEURONS} WHERE brain = ? AND id {_IN}"
        found = await self._select(brain_id, sql, [rows.id_list(ids)], rows.NEURON.record)
        return {n.id: n for n in found}

    async def _find_neurons(self, brain_id: str, query: NeuronFilter) -> list[Neuron]:
        params: list[object] = []
        if query.content is not None:
            sql = f"{_NEURONS} INDEXED BY neurons_by_content WHERE brain = ? AND content_key = ?"
            params.append(query.content.casefold())
            if query.type is not None:
                sql += " AND type = ?"
                params.append(query.type)
        elif query.type is not None:
            sql = f"{_NEURONS} INDEXED BY neurons_by_type WHERE brain = ? AND type = ?"
            params.append(query.type)
        else:
            sql = f"{_NEURONS} WHERE brain = ?"
        sql += " ORDER BY rowid LIMIT ?"
        params.append(_sql_limit(query.limit))
        return await self._select(brain_id, sql, params, rows.NEURON.record)

    async def _get_synapses(self, brain_id: str, ids: frozenset[str]) -> dict[str, Synapse]:
        sql = f"{_SYNAPSES} WHERE brain = ? AND id {_IN}"
        found = await self._select(brain_id, sql, [rows.id_list(ids)], rows.SYNAPSE.record)
        return {s.id: s for s in found}

    async def _find_synapses(self, brain_id: str, query: SynapseFilter) -> list[Synapse]:
        if query.source_id is not None:
            sql = f"{_SYNAPSES} INDEXED BY synapses_by_source WHERE brain = ?"
        elif query.target_id is not None:
            sql = f"{_SYNAPSES} INDEXED BY synapses_by_target WHERE brain = ?"
        else:
            sql = f"{_SYNAPSES} WHERE brain = ?"
        params: list[object] = []
        for column, value in (
            ("source_id", query.source_id),
            ("target_id", query.target_id),
            ("type", query.type),
        ):
            if value is not None:
                sql += f" AND {column} = ?"
                params.append(value)
        sql += " ORDER BY created_at, id LIMIT ?"
        params.append(_sql_limit(query.limit))
        return await self._select(brain_id, sql, params, rows.SYNAPSE.record)

    async def _synapses_touching(self, brain_id: str, neuron_ids: frozenset[str]) -> list[Synapse]:
        params: list[object] = [rows.id_list(neuron_ids)]
        return await self._select(brain_id, _TOUCHING, params, rows.SYNAPSE.record)

    async def _get_fibers(self, brain_id: str, ids: frozenset[str]) -> dict[str, Fiber]:
        sql = f"{_FIBERS} WHERE brain = ? AND id {_IN}"
        found = await self._select(brain_id, sql, [rows.id_list(ids)], rows.FIBER.record)
        return {f.id: f for f in found}

    async def _find_fibers(self, brain_id: str, query: FiberFilter) -> list[Fiber]:
        params: list[object] = []
        if query.neuron_id is not None:
            sql, prefix = _FIBERS_OF_NEURON, "f."
            params.append(query.neuron_id)
        else:
            sql, prefix = f"{_FIBERS} WHERE brain = ?", ""
        if query.tags:
            sql += " AND " + _SUBSET.format(f"{prefix}tags")
            params.append(rows.id_list(query.tags))
        if query.current:
            sql += f" AND {prefix}superseded_by IS NULL"
        sql += f" ORDER BY {prefix}created_at, {prefix}id LIMIT ?"
        params.append(_sql_limit(query.limit))
        return await self._select(brain_id, sql, params, rows.FIBER.record)

    # -- which ids exist -------------------------------------------------------------------

    async def _existing_neuron_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        sql = f"SELECT id FROM neurons WHERE brain = ? AND id {_IN}"
        return set(await self._select(brain_id, sql, [rows.id_list(ids)], _first_cell))

    async def _existing_synapse_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        sql = f"SELECT id FROM synapses WHERE brain = ? AND id {_IN}"
        return set(await self._select(brain_id, sql, [rows.id_list(ids)], _first_cell))

    # -- knowledge -------------------------------------------------------------------------

    async def _get_typed_memories(
        self, brain_id: str, ids: frozenset[str]
    ) -> dict[str, TypedMemory]:
        sql = f"{_TYPED} WHERE brain = ? AND id {_IN}"
        params: list[object] = [rows.id_list(ids)]
        found = await self._select(brain_id, sql, params, rows.TYPED_MEMORY.record)
        return {m.id: m for m in found}

    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]:
        sql, params = _typed_memory_query(query)
        return await self._select(brain_id, sql, params, rows.TYPED_MEMORY.record)

    async def _get_projects(self, brain_id: str, ids: frozenset[str] | None) -> list[Project]:
        sql = f"SELECT {rows.PROJECT.selected} FROM projects WHERE brain = ?"
        params: list[object] = []
        if ids is not None:
            sql += f" AND id {_IN}"
            params.append(rows.id_list(ids))
        sql += " ORDER BY created_at, id"
        return await self._select(brain_id, sql, params, rows.PROJECT.record)

    async def _put_alerts(self, brain_id: str, alerts: tuple[Alert, ...]) -> None:
        await self._run(ops.write_rows, brain_id, _PUT_ALERT, alerts, rows.ALERT.row)

    async def _find_alerts(self, brain_id: str, query: AlertFilter) -> list[Alert]:
        sql = f"SELECT {rows.ALERT.selected} FROM alerts WHERE brain = ?"
        params: list[object] = []
        for column, values in (
            ("id", query.ids),
            ("status", query.statuses),
            ("alert_type", query.types),
        ):
            if values is not None:
                sql += f" AND {column} {_IN}"
                params.append(rows.id_list(str(v) for v in values))
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        params.append(_sql_limit(query.limit))
        return await self._select(brain_id, sql, params, rows.ALERT.record)

    async def _add_recall_event(self, brain_id: str, event: RecallEvent) -> None:
        await self._run(ops.write_rows, brain_id, _ADD_RECALL, (event,), rows.RECALL.row)

    async def _get_recall_events(
        self, brain_id: str, since: datetime | None, limit: int | None
    ) -> list[RecallEvent]:
        if limit == 0:
            return []
        sql = f"SELECT {rows.RECALL.selected} FROM recall_events WHERE brain = ?"
        params: list[object] = []
        if since is not None:
            sql += " AND created_at >= ?"
            params.append(rows.to_micros(since))
        sql += " ORDER BY created_at DESC, rowid DESC LIMIT ?"
        params.append(_sql_limit(limit))
        newest_first = await self._select(brain_id, sql, params, rows.RECALL.record)
        return newest_first[::-1]

    async def _get_meta(self, brain_id: str, key: str) -> JSONValue | None:
        sql = "SELECT value FROM meta WHERE brain = ? AND key = ?"
        found = await self._select(brain_id, sql, [key], lambda row: row[0])
        return rows.load_json(found[0]) if found else None

    async def _meta_keys(self, brain_id: str) -> list[str]:
        keys = await self._select(
            brain_id, "SELECT key FROM meta WHERE brain = ?", [], lambda row: str(row[0])
        )
        return sorted(keys)

    async def _set_meta(self, brain_id: str, key: str, value: JSONValue) -> None:
        pair = (key, rows.dump_json(value, f"meta value {key!r}"))
        await self._run(ops.write_rows, brain_id, PUT_META, (pair,), _meta_row)

    async def _graph_rows(self, brain_id: str) -> GraphRows:
        return await self._run(ops.graph_rows, brain_id)

    async def _fiber_rows(self, brain_id: str) -> FiberRows:
        return await self._run(ops.fiber_rows, brain_id)

    async def _get_index_snapshot(self, brain_id: str) -> IndexSnapshot | None:
        return await self._run(_sqlite_snapshot.get_index_snapshot, brain_id)

    async def _put_index_snapshot(self, brain_id: str, snapshot: IndexSnapshot) -> bool:
        return await self._run(_sqlite_snapshot.put_index_snapshot, brain_id, snapshot)

    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        sql = "SELECT fiber_id, vector FROM vectors WHERE brain = ? AND model = ?"
        params: list[object] = [model]
        if ids is not None:
            sql += f" AND fiber_id {_IN}"
            params.append(rows.id_list(ids))
        found = await self._select(brain_id, sql, params, tuple)
        return {fiber_id: vector_from_bytes(blob) for fiber_id, blob in found}

    # -- change log, statistics ------------------------------------------------------------

    async def _get_change_seq(self, brain_id: str) -> int:
        return await self._run(ops.change_seq, brain_id)

    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        return await self._run(ops.changes_since, brain_id, since)

    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats:
        return await self._run(ops.stats, brain_id, rows.to_micros(now))


# -- connection thread ---------------------------------------------------------------------


async def _on(worker: ThreadPoolExecutor, fn: Callable[..., _T], *args: Any) -> _T:
    """Run ``fn(*args)`` on the storage's worker thread: one hop for a whole transaction."""
    return await asyncio.get_running_loop().run_in_executor(worker, fn, *args)


def _connect(path: str, timeout: float) -> sqlite3.Connection:
    """Open the connection (on the worker thread that will own it)."""
    return sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)


def _storage_error(exc: sqlite3.Error, path: str) -> StorageError:
    """Translate a sqlite3 error into the StorageError family."""
    name = getattr(exc, "sqlite_errorname", "")
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return NotFoundError(f"a referenced id does not exist ({exc})")
    if name in ("SQLITE_CONSTRAINT_PRIMARYKEY", "SQLITE_CONSTRAINT_UNIQUE"):
        return AlreadyExistsError(f"an id is already taken ({exc})")
    if name.removeprefix("SQLITE_").split("_")[0] in _UNAVAILABLE:
        return StorageUnavailableError(f"SQLite database {path!r} is unavailable: {exc}")
    return StorageError(f"SQLite error on {path!r}: {exc}")


def _sql_limit(limit: int | None) -> int:
    return -1 if limit is None else limit


def _meta_row(brain: int, pair: tuple[str, str]) -> rows.Row:
    return (brain, *pair)


def _typed_memory_query(query: TypedMemoryFilter) -> tuple[str, list[object]]:
    sql = f"{_TYPED} WHERE brain = ?"
    params: list[object] = []
    expiry = rows.to_micros(query.not_expired_at) if query.not_expired_at else None
    for clause, value in (
        (" AND memory_type = ?", query.memory_type),
        (" AND priority >= ?", int(query.min_priority) if query.min_priority is not None else None),
        (" AND project_id = ?", query.project_id),
        (f" AND fiber_id {_IN}", rows.id_list(query.fiber_ids) if query.fiber_ids else None),
        (" AND (expires_at IS NULL OR expires_at > ?)", expiry),
        (" AND " + _SUBSET.format("tags"), rows.id_list(query.tags) if query.tags else None),
    ):
        if value is not None:
            sql += clause
            params.append(value)
    if query.fiber_ids is not None and not query.fiber_ids:
        sql += " AND 0"
    sql += " ORDER BY priority DESC, created_at DESC, id LIMIT ?"
    params.append(_sql_limit(query.limit))
    return sql, params


def _first_cell(row: Any) -> str:
    cell: str = row[0]
    return cell
