"""Applying a WriteBatch to SQLite: one ``BEGIN IMMEDIATE`` transaction, all or nothing.

Synchronous code that runs on the storage's connection thread, so a whole batch costs one
hop from the event loop. The semantics copy InMemoryStorage exactly: the batch is checked
against the state before it (duplicates, missing ids, missing neurons), then applied in the
WriteBatch order, then logged with one change-log entry per touched id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from neural_memory.core.fiber import CONDUCT_REINFORCEMENT, Fiber
from neural_memory.errors import AlreadyExistsError, BrainNotFoundError
from neural_memory.storage import _integrity as integrity
from neural_memory.storage import _sqlite_rows as codec
from neural_memory.storage import _write_common as common
from neural_memory.storage._sqlite_changes import log_changes
from neural_memory.storage._vectors import vector_to_bytes
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "PUT_META",
    "brain_number",
    "batch_write_transaction",
    "create_brain",
    "existing_ids",
    "insert_sql",
    "write_batch",
    "write_transaction",
]

_T = TypeVar("_T")


@contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``; rolled back when anything in the block fails."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


@contextmanager
def batch_write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """:func:`write_transaction` without SQLite's foreign-key checks, for batch writes.

    The batch code checks every reference itself before it writes (a synapse's ends are
    stored or created by the same batch, a deleted neuron's synapses are deleted with it),
    so the per-row lookups of the two synapse foreign keys are redundant work. The pragma is
    a no-op inside a transaction, so it is set around it and always set back.
    """
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        with write_transaction(conn):
            yield conn
    finally:
        conn.execute("PRAGMA foreign_keys = ON")


def insert_sql(table: str, columns: str, on_conflict: str = "") -> str:
    """``INSERT`` of ``brain`` + ``columns``; ``on_conflict`` is "", "ignore" or "update".

    "update" is an upsert on ``(brain, <first column>)`` that keeps the row (and its rowid).
    """
    names = [c.strip() for c in columns.split(",")]
    marks = ", ".join("?" * (len(names) + 1))
    sql = f"INSERT INTO {table} (brain, {', '.join(names)}) VALUES ({marks})"
    return sql + common.conflict_clause(names, on_conflict)


def brain_number(conn: sqlite3.Connection, brain_id: str) -> int:
    """Return the row number of ``brain_id`` in ``brains``; BrainNotFoundError when unknown."""
    row = conn.execute("SELECT num FROM brains WHERE id = ?", (brain_id,)).fetchone()
    if row is None:
        raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
    number: int = row[0]
    return number


_ENSURE_NEURON = insert_sql("neurons", codec.NEURON_COLUMNS, "ignore")
_PUT_NEURON = insert_sql("neurons", codec.NEURON_COLUMNS, "update")
_ENSURE_SYNAPSE = insert_sql("synapses", codec.SYNAPSE_COLUMNS, "ignore")
_PUT_SYNAPSE = insert_sql("synapses", codec.SYNAPSE_COLUMNS, "update")
_INSERT_FIBER = insert_sql("fibers", codec.FIBER_WRITE_COLUMNS)
_PUT_FIBER = insert_sql("fibers", codec.FIBER_WRITE_COLUMNS, "update")
_PUT_TYPED_MEMORY = insert_sql("typed_memories", codec.TYPED_MEMORY_COLUMNS, "update")
_PUT_PROJECT = insert_sql("projects", codec.PROJECT_COLUMNS, "update")
_PUT_VECTOR = (
    "INSERT INTO vectors (brain, model, fiber_id, vector) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (brain, model, fiber_id) DO UPDATE SET vector = excluded.vector"
)
PUT_META = (
    "INSERT INTO meta (brain, key, value) VALUES (?, ?, ?) "
    "ON CONFLICT (brain, key) DO UPDATE SET value = excluded.value"
)
"""Upsert of one meta value (brain number, key, JSON text)."""
_SYNAPSE_DELTA = (
    "UPDATE synapses SET weight = min(1.0, max(0.0, weight + ?1)), "
    "last_activated = CASE WHEN ?1 > 0 THEN ?2 ELSE last_activated END, "
    "reinforced_count = reinforced_count + (?1 > 0) WHERE brain = ?3 AND id = ?4"
)
_NEURON_ACCESS = (
    "UPDATE neurons SET activation = min(1.0, max(0.0, activation + ?1)), "
    "access_count = access_count + 1, last_accessed = ?2 WHERE brain = ?3 AND id = ?4"
)
_FIBER_CONDUCT = (
    f"UPDATE fibers SET conductivity = min(1.0, conductivity + {CONDUCT_REINFORCEMENT!r}), "
    "last_conducted = ?1, access_count = access_count + 1 WHERE brain = ?2 AND id = ?3"
)
_IN_IDS = "IN (SELECT value FROM json_each(?))"
TOUCHING_IDS = (
    "SELECT s.id FROM json_each(?2) AS j CROSS JOIN synapses AS s "
    "ON s.brain = ?1 AND s.source_id = j.value "
    "UNION SELECT s.id FROM json_each(?2) AS j CROSS JOIN synapses AS s "
    "ON s.brain = ?1 AND s.target_id = j.value"
)
"""The ids of the synapses of brain ``?1`` touching a neuron in the JSON array ``?2``."""


def write_batch(
    conn: sqlite3.Connection, brain_id: str, batch: WriteBatch, change_log_limit: int
) -> int:
    """Apply ``batch`` to ``brain_id`` atomically, log its changes, return the new seq."""
    with batch_write_transaction(conn):
        return _write_in_transaction(conn, brain_id, batch, change_log_limit)


def create_brain(
    conn: sqlite3.Connection,
    brain_row: tuple[object, ...],
    batch: WriteBatch,
    change_log_limit: int,
) -> int:
    """Insert the brain of ``brain_row`` and apply ``batch`` to it in one transaction.

    AlreadyExistsError when the id is taken; on any failure nothing is kept.
    """
    brain_id = str(brain_row[0])
    with batch_write_transaction(conn):
        if conn.execute("SELECT 1 FROM brains WHERE id = ?", (brain_id,)).fetchone():
            raise AlreadyExistsError(f"brain {brain_id!r} already exists")
        columns = ", ".join("?" * len(brain_row))
        conn.execute(f"INSERT INTO brains ({codec.BRAIN_COLUMNS}) VALUES ({columns})", brain_row)
        if batch.is_empty:
            return 0
        return _write_in_transaction(conn, brain_id, batch, change_log_limit)


def _write_in_transaction(
    conn: sqlite3.Connection, brain_id: str, batch: WriteBatch, change_log_limit: int
) -> int:
    brain = brain_number(conn, brain_id)
    _apply_accesses(conn, brain, batch)  # first: on the records stored before the batch
    old_fibers = _check(conn, brain, batch)
    integrity.refuse_neurons_in_use(batch, _fibers_naming(conn, brain, batch.delete_neuron_ids))
    references = _stored_references(conn, brain, batch)
    integrity.refuse_dangling(batch, references)
    named = integrity.synapse_references(batch)
    deltas = common.live_deltas(batch, named, references.synapse_ends)
    cascaded = _apply(conn, brain, batch, old_fibers, deltas)
    return log_changes(conn, brain, common.change_texts(batch, cascaded), change_log_limit)


def _apply_accesses(conn: sqlite3.Connection, brain: int, batch: WriteBatch) -> None:
    """Count the batch's neuron accesses and fiber conducts in place (unknown ids skipped)."""
    if not batch.has_access_deltas:
        return
    at = codec.to_micros(batch.deltas_at)
    if batch.neuron_accesses:
        params = [(float(delta), at, brain, nid) for nid, delta in batch.neuron_accesses]
        conn.executemany(_NEURON_ACCESS, params)
    if batch.fiber_conducts:
        conn.executemany(_FIBER_CONDUCT, [(at, brain, fid) for fid in batch.fiber_conducts])


# -- checks --------------------------------------------------------------------------------


def existing_ids(conn: sqlite3.Connection, table: str, brain: int, ids: set[str]) -> set[str]:
    """Return the ids among ``ids`` that have a row in ``table`` for ``brain``."""
    if not ids:
        return set()
    sql = f"SELECT id FROM {table} WHERE brain = ? AND id {_IN_IDS}"
    return {row[0] for row in conn.execute(sql, (brain, codec.id_list(ids)))}


def _check(
    conn: sqlite3.Connection, brain: int, batch: WriteBatch
) -> dict[str, frozenset[str]] | None:
    """Raise before anything is applied; return the neuron ids of fibers being replaced.

    None means the fibers were not looked up but inserted already: the batch only inserts
    fibers with distinct ids, so their INSERT is the check for a taken id (saving a query
    per memory). The transaction is rolled back when a later check fails.
    """
    lookups = common.neuron_lookups(batch)
    stored = existing_ids(conn, "neurons", brain, lookups[1])
    known = integrity.refuse_bad_neurons(batch, lookups, stored)
    synapses = (batch.insert_synapses, batch.update_synapses)
    stored = existing_ids(conn, "synapses", brain, common.ids_of(*synapses))
    integrity.refuse_conflicts(*synapses, stored, "synapse")
    old_fibers: dict[str, frozenset[str]] | None = None
    fibers = (*batch.insert_fibers, *batch.update_fibers)
    fiber_ids = {f.id for f in fibers}
    if batch.update_fibers or len(fiber_ids) < len(fibers):
        old_fibers = _fiber_neurons(conn, brain, fiber_ids)
        integrity.refuse_conflicts(batch.insert_fibers, batch.update_fibers, old_fibers, "fiber")
    else:
        _insert_fibers(conn, brain, batch.insert_fibers)
    integrity.refuse_missing_members(batch, known)
    return old_fibers


def _fiber_neurons(
    conn: sqlite3.Connection, brain: int, ids: Iterable[str]
) -> dict[str, frozenset[str]]:
    wanted = set(ids)
    if not wanted:
        return {}
    sql = f"SELECT id, neuron_ids FROM fibers WHERE brain = ? AND id {_IN_IDS}"
    rows = conn.execute(sql, (brain, codec.id_list(wanted)))
    return {row[0]: frozenset(codec.load_json(row[1])) for row in rows}


def _fibers_naming(
    conn: sqlite3.Connection, brain: int, neuron_ids: Iterable[str]
) -> dict[str, set[str]]:
    """The ids of the stored fibers naming each of ``neuron_ids``."""
    wanted = set(neuron_ids)
    if not wanted:
        return {}
    sql = f"SELECT neuron_id, fiber_id FROM fiber_neurons WHERE brain = ? AND neuron_id {_IN_IDS}"
    return common.grouped(conn.execute(sql, (brain, codec.id_list(wanted))))


def _stored_references(
    conn: sqlite3.Connection, brain: int, batch: WriteBatch
) -> integrity.StoredReferences:
    """What :func:`integrity.refuse_dangling` needs to know of the brain before ``batch``."""
    ends: dict[str, tuple[str, str]] = {}
    if named := integrity.synapse_references(batch):
        sql = f"SELECT id, source_id, target_id FROM synapses WHERE brain = ? AND id {_IN_IDS}"
        rows = conn.execute(sql, (brain, codec.id_list(named)))
        ends = {row[0]: (row[1], row[2]) for row in rows}
    successors: dict[str, set[str]] = {}
    if batch.delete_fiber_ids:
        sql = f"SELECT superseded_by, id FROM fibers WHERE brain = ? AND superseded_by {_IN_IDS}"
        successors = common.grouped(
            conn.execute(sql, (brain, codec.id_list(set(batch.delete_fiber_ids))))
        )
    return integrity.StoredReferences(
        fibers=frozenset(existing_ids(conn, "fibers", brain, integrity.fiber_references(batch))),
        synapse_ends=ends,
        successors=successors,
        synapse_users=integrity.synapse_users(
            ends, batch.delete_synapse_ids, _fibers_joining(conn, brain, ends, batch)
        ),
    )


def _fibers_joining(
    conn: sqlite3.Connection,
    brain: int,
    ends: dict[str, tuple[str, str]],
    batch: WriteBatch,
) -> dict[str, frozenset[str]]:
    """The synapse ids of the stored fibers naming both ends of a synapse ``batch`` deletes."""
    candidates: set[str] = set()
    for source, target in common.deleted_synapse_ends(ends, batch):
        rows = conn.execute(_JOINING, (brain, source, target))
        candidates.update(row[0] for row in rows)
    if not candidates:
        return {}
    sql = f"SELECT id, synapse_ids FROM fibers WHERE brain = ? AND id {_IN_IDS}"
    rows = conn.execute(sql, (brain, codec.id_list(candidates)))
    return {row[0]: frozenset(codec.load_json(row[1])) for row in rows}


_JOINING = (
    "SELECT a.fiber_id FROM fiber_neurons AS a JOIN fiber_neurons AS b "
    "ON b.brain = a.brain AND b.neuron_id = ?3 AND b.fiber_id = a.fiber_id "
    "WHERE a.brain = ?1 AND a.neuron_id = ?2"
)


# -- apply ---------------------------------------------------------------------------------


def _put(conn: sqlite3.Connection, sql: str, rows: list[codec.Row]) -> None:
    if rows:
        conn.executemany(sql, rows)


def _apply(
    conn: sqlite3.Connection,
    brain: int,
    batch: WriteBatch,
    old_fibers: dict[str, frozenset[str]] | None,
    deltas: list[tuple[str, float]],
) -> set[str]:
    """Apply a checked batch; return the ids of synapses deleted with their neurons.

    ``deltas`` are the batch's synapse deltas that may move a stored synapse
    (:func:`common.live_deltas`).
    """
    _put(conn, _ENSURE_NEURON, common.rows_of(brain, batch.ensure_neurons, codec.neuron_row))
    _put(
        conn,
        _PUT_NEURON,
        common.rows_of(brain, (*batch.insert_neurons, *batch.update_neurons), codec.neuron_row),
    )
    if deltas:  # before the synapse writes: deltas move stored synapses only
        at = codec.to_micros(batch.deltas_at)
        params = [(float(delta), at, brain, sid) for sid, delta in deltas]
        conn.executemany(_SYNAPSE_DELTA, params)
    _put(conn, _ENSURE_SYNAPSE, common.rows_of(brain, batch.ensure_synapses, codec.synapse_row))
    puts = (*batch.insert_synapses, *batch.update_synapses)
    _put(conn, _PUT_SYNAPSE, common.rows_of(brain, puts, codec.synapse_row))
    fibers = (*batch.insert_fibers, *batch.update_fibers)
    if fibers:
        if old_fibers is not None:  # else inserted by _check
            _put(conn, _PUT_FIBER, common.rows_of(brain, fibers, codec.fiber_row))
        final = {f.id: f.neuron_ids for f in fibers}
        _set_membership(conn, brain, old_fibers or {}, final)
    _put_vectors(conn, brain, batch)
    _put(
        conn,
        _PUT_TYPED_MEMORY,
        common.rows_of(brain, batch.put_typed_memories, codec.typed_memory_row),
    )
    _put(conn, _PUT_PROJECT, common.rows_of(brain, batch.put_projects, codec.project_row))
    if batch.delete_fiber_ids:
        gone = _fiber_neurons(conn, brain, batch.delete_fiber_ids)
        _set_membership(conn, brain, gone, {})
        _delete(conn, "fibers", brain, gone)
        for table in ("vectors", "typed_memories"):  # both go with their fiber
            sql = f"DELETE FROM {table} WHERE brain = ? AND fiber_id {_IN_IDS}"
            conn.execute(sql, (brain, codec.id_list(batch.delete_fiber_ids)))
    _delete(conn, "synapses", brain, batch.delete_synapse_ids)
    cascaded: set[str] = set()
    if batch.delete_neuron_ids:
        ids = codec.id_list(set(batch.delete_neuron_ids))
        cascaded = {row[0] for row in conn.execute(TOUCHING_IDS, (brain, ids))}
        _delete(conn, "synapses", brain, cascaded)
        _delete(conn, "neurons", brain, batch.delete_neuron_ids)
    _delete(conn, "typed_memories", brain, batch.delete_typed_memory_ids)
    _delete(conn, "projects", brain, batch.delete_project_ids)
    if batch.put_meta:
        meta = [(brain, k, codec.dump_json(v, f"meta value {k!r}")) for k, v in batch.put_meta]
        conn.executemany(PUT_META, meta)
    return cascaded


def _put_vectors(conn: sqlite3.Connection, brain: int, batch: WriteBatch) -> None:
    """Store the batch's vectors (:func:`integrity.refuse_dangling` checked their fibers)."""
    if not batch.put_vectors:
        return
    rows = [(brain, v.model, v.fiber_id, vector_to_bytes(v.vector)) for v in batch.put_vectors]
    conn.executemany(_PUT_VECTOR, rows)


def _insert_fibers(conn: sqlite3.Connection, brain: int, fibers: Sequence[Fiber]) -> None:
    """Insert new fibers (distinct ids) in one statement; AlreadyExistsError for a taken id."""
    if len(fibers) > 1:
        taken = existing_ids(conn, "fibers", brain, {f.id for f in fibers})
        if taken:
            first = next(f.id for f in fibers if f.id in taken)
            raise AlreadyExistsError(f"fiber {first!r} already exists")
    rows = common.rows_of(brain, fibers, codec.fiber_row)
    try:
        conn.executemany(_INSERT_FIBER, rows)
    except sqlite3.IntegrityError as exc:
        raise AlreadyExistsError(f"fiber {fibers[0].id!r} already exists") from exc


def _set_membership(
    conn: sqlite3.Connection,
    brain: int,
    before: dict[str, frozenset[str]],
    after: dict[str, frozenset[str]],
) -> None:
    """Move the fiber_neurons rows of the fibers in ``before``/``after`` to ``after``."""
    stale = _membership_rows(brain, before, after)
    if stale:
        conn.executemany(
            "DELETE FROM fiber_neurons WHERE brain = ? AND neuron_id = ? AND fiber_id = ?",
            stale,
        )
    fresh = sorted(_membership_rows(brain, after, before))  # in key order: a WITHOUT ROWID table
    if fresh:
        conn.executemany(
            "INSERT OR IGNORE INTO fiber_neurons (brain, neuron_id, fiber_id) VALUES (?, ?, ?)",
            fresh,
        )


def _membership_rows(
    brain: int, fibers: dict[str, frozenset[str]], minus: dict[str, frozenset[str]]
) -> list[tuple[int, str, str]]:
    """``(brain, neuron, fiber)`` of each fiber's neurons that ``minus`` does not list."""
    return [
        (brain, neuron_id, fiber_id)
        for fiber_id, neurons in fibers.items()
        for neuron_id in neurons - minus.get(fiber_id, frozenset())
    ]


def _delete(conn: sqlite3.Connection, table: str, brain: int, ids: Iterable[str]) -> None:
    wanted = set(ids)
    if wanted:
        sql = f"DELETE FROM {table} WHERE brain = ? AND id {_IN_IDS}"
        conn.execute(sql, (brain, codec.id_list(wanted)))
