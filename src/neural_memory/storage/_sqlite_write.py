"""Applying a WriteBatch to SQLite: one ``BEGIN IMMEDIATE`` transaction, all or nothing.

Synchronous code that runs on the storage's connection thread, so a whole batch costs one
hop from the event loop. The semantics copy InMemoryStorage exactly: the batch is checked
against the state before it (duplicates, missing ids, missing neurons), then applied in the
WriteBatch order, then logged with one change-log entry per touched id.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import TypeVar

from neural_memory.core.events import ChangeKind
from neural_memory.core.fiber import Fiber
from neural_memory.errors import AlreadyExistsError, BrainNotFoundError, NotFoundError
from neural_memory.storage._integrity import refuse_missing, refuse_neurons_in_use, refuse_taken
from neural_memory.storage._sqlite_rows import (
    BRAIN_COLUMNS,
    FIBER_WRITE_COLUMNS,
    NEURON_COLUMNS,
    PROJECT_COLUMNS,
    SYNAPSE_COLUMNS,
    TYPED_MEMORY_COLUMNS,
    Row,
    dump_json,
    fiber_row,
    id_list,
    load_json,
    neuron_row,
    project_row,
    synapse_row,
    to_micros,
    typed_memory_row,
)
from neural_memory.storage._vectors import vector_to_bytes
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "PUT_META",
    "brain_number",
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


def insert_sql(table: str, columns: str, on_conflict: str = "") -> str:
    """``INSERT`` of ``brain`` + ``columns``; ``on_conflict`` is "", "ignore" or "update".

    "update" is an upsert on ``(brain, <first column>)`` that keeps the row (and its rowid).
    """
    names = [c.strip() for c in columns.split(",")]
    marks = ", ".join("?" * (len(names) + 1))
    sql = f"INSERT INTO {table} (brain, {', '.join(names)}) VALUES ({marks})"
    if on_conflict == "ignore":
        return sql + " ON CONFLICT DO NOTHING"
    if on_conflict == "update":
        sets = ", ".join(f"{c} = excluded.{c}" for c in names[1:])
        return sql + f" ON CONFLICT (brain, {names[0]}) DO UPDATE SET {sets}"
    return sql


def brain_number(conn: sqlite3.Connection, brain_id: str) -> int:
    """Return the row number of ``brain_id`` in ``brains``; BrainNotFoundError when unknown."""
    row = conn.execute("SELECT num FROM brains WHERE id = ?", (brain_id,)).fetchone()
    if row is None:
        raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
    number: int = row[0]
    return number


_ENSURE_NEURON = insert_sql("neurons", NEURON_COLUMNS, "ignore")
_PUT_NEURON = insert_sql("neurons", NEURON_COLUMNS, "update")
_ENSURE_SYNAPSE = insert_sql("synapses", SYNAPSE_COLUMNS, "ignore")
_PUT_SYNAPSE = insert_sql("synapses", SYNAPSE_COLUMNS, "update")
_INSERT_FIBER = insert_sql("fibers", FIBER_WRITE_COLUMNS)
_PUT_FIBER = insert_sql("fibers", FIBER_WRITE_COLUMNS, "update")
_PUT_TYPED_MEMORY = insert_sql("typed_memories", TYPED_MEMORY_COLUMNS, "update")
_PUT_PROJECT = insert_sql("projects", PROJECT_COLUMNS, "update")
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
    with write_transaction(conn):
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
    with write_transaction(conn):
        if conn.execute("SELECT 1 FROM brains WHERE id = ?", (brain_id,)).fetchone():
            raise AlreadyExistsError(f"brain {brain_id!r} already exists")
        columns = ", ".join("?" * len(brain_row))
        conn.execute(f"INSERT INTO brains ({BRAIN_COLUMNS}) VALUES ({columns})", brain_row)
        if batch.is_empty:
            return 0
        return _write_in_transaction(conn, brain_id, batch, change_log_limit)


def _write_in_transaction(
    conn: sqlite3.Connection, brain_id: str, batch: WriteBatch, change_log_limit: int
) -> int:
    brain = brain_number(conn, brain_id)
    old_fibers = _check(conn, brain, batch)
    refuse_neurons_in_use(batch, _fibers_naming(conn, brain, batch.delete_neuron_ids))
    cascaded = _apply(conn, brain, batch, old_fibers)
    return _log_changes(conn, brain, batch, cascaded, change_log_limit)


# -- checks --------------------------------------------------------------------------------


def existing_ids(conn: sqlite3.Connection, table: str, brain: int, ids: set[str]) -> set[str]:
    """Return the ids among ``ids`` that have a row in ``table`` for ``brain``."""
    if not ids:
        return set()
    sql = f"SELECT id FROM {table} WHERE brain = ? AND id {_IN_IDS}"
    return {row[0] for row in conn.execute(sql, (brain, id_list(ids)))}


def _check(
    conn: sqlite3.Connection, brain: int, batch: WriteBatch
) -> dict[str, frozenset[str]] | None:
    """Raise before anything is applied; return the neuron ids of fibers being replaced.

    None means the fibers were not looked up but inserted already: the batch only inserts
    fibers with distinct ids, so their INSERT is the check for a taken id (saving a query
    per memory). The transaction is rolled back when a later check fails.
    """
    new_neurons = {n.id for n in batch.insert_neurons} | {n.id for n in batch.ensure_neurons}
    synapses = (*batch.insert_synapses, *batch.ensure_synapses, *batch.update_synapses)
    fibers = (*batch.insert_fibers, *batch.update_fibers)
    referenced = {e for s in synapses for e in (s.source_id, s.target_id)}
    referenced.update(n for f in fibers for n in f.neuron_ids)
    probe = {n.id for n in (*batch.insert_neurons, *batch.update_neurons)}
    existing = existing_ids(conn, "neurons", brain, probe | (referenced - new_neurons))
    refuse_taken((n.id for n in batch.insert_neurons), existing, "neuron")
    refuse_missing((n.id for n in batch.update_neurons), existing, "neuron")
    known = existing | new_neurons
    for synapse in synapses:
        for endpoint in (synapse.source_id, synapse.target_id):
            if endpoint not in known:
                raise NotFoundError(f"synapse {synapse.id!r} names missing neuron {endpoint!r}")
    probe = {s.id for s in (*batch.insert_synapses, *batch.update_synapses)}
    existing = existing_ids(conn, "synapses", brain, probe)
    refuse_taken((s.id for s in batch.insert_synapses), existing, "synapse")
    refuse_missing((s.id for s in batch.update_synapses), existing, "synapse")
    old_fibers: dict[str, frozenset[str]] | None = None
    fiber_ids = {f.id for f in fibers}
    if batch.update_fibers or len(fiber_ids) < len(fibers):
        old_fibers = _fiber_neurons(conn, brain, fiber_ids)
        refuse_taken((f.id for f in batch.insert_fibers), old_fibers.keys(), "fiber")
        refuse_missing((f.id for f in batch.update_fibers), old_fibers.keys(), "fiber")
    else:
        _insert_fibers(conn, brain, batch.insert_fibers)
    for fiber in fibers:
        missing = fiber.neuron_ids - known
        if missing:
            raise NotFoundError(f"fiber {fiber.id!r} names missing neurons {sorted(missing)}")
    return old_fibers


def _fiber_neurons(
    conn: sqlite3.Connection, brain: int, ids: Iterable[str]
) -> dict[str, frozenset[str]]:
    wanted = set(ids)
    if not wanted:
        return {}
    sql = f"SELECT id, neuron_ids FROM fibers WHERE brain = ? AND id {_IN_IDS}"
    rows = conn.execute(sql, (brain, id_list(wanted)))
    return {row[0]: frozenset(load_json(row[1])) for row in rows}


def _fibers_naming(
    conn: sqlite3.Connection, brain: int, neuron_ids: Iterable[str]
) -> dict[str, set[str]]:
    """The ids of the stored fibers naming each of ``neuron_ids``."""
    wanted = set(neuron_ids)
    if not wanted:
        return {}
    sql = f"SELECT neuron_id, fiber_id FROM fiber_neurons WHERE brain = ? AND neuron_id {_IN_IDS}"
    users: dict[str, set[str]] = {}
    for neuron_id, fiber_id in conn.execute(sql, (brain, id_list(wanted))):
        users.setdefault(neuron_id, set()).add(fiber_id)
    return users


# -- apply ---------------------------------------------------------------------------------


def _put(
    conn: sqlite3.Connection,
    sql: str,
    brain: int,
    items: Sequence[_T],
    to_row: Callable[[int, _T], Row],
) -> None:
    if items:
        conn.executemany(sql, [to_row(brain, item) for item in items])


def _apply(
    conn: sqlite3.Connection,
    brain: int,
    batch: WriteBatch,
    old_fibers: dict[str, frozenset[str]] | None,
) -> set[str]:
    """Apply a checked batch; return the ids of synapses deleted with their neurons."""
    _put(conn, _ENSURE_NEURON, brain, batch.ensure_neurons, neuron_row)
    _put(conn, _PUT_NEURON, brain, (*batch.insert_neurons, *batch.update_neurons), neuron_row)
    if batch.synapse_deltas:  # before the synapse writes: deltas move stored synapses only
        at = to_micros(batch.deltas_at)
        params = [(float(delta), at, brain, sid) for sid, delta in batch.synapse_deltas]
        conn.executemany(_SYNAPSE_DELTA, params)
    _put(conn, _ENSURE_SYNAPSE, brain, batch.ensure_synapses, synapse_row)
    puts = (*batch.insert_synapses, *batch.update_synapses)
    _put(conn, _PUT_SYNAPSE, brain, puts, synapse_row)
    fibers = (*batch.insert_fibers, *batch.update_fibers)
    if fibers:
        if old_fibers is not None:  # else inserted by _check
            _put(conn, _PUT_FIBER, brain, fibers, fiber_row)
        final = {f.id: f.neuron_ids for f in fibers}
        _set_membership(conn, brain, old_fibers or {}, final)
    _put_vectors(conn, brain, batch)
    _put(conn, _PUT_TYPED_MEMORY, brain, batch.put_typed_memories, typed_memory_row)
    _put(conn, _PUT_PROJECT, brain, batch.put_projects, project_row)
    if batch.delete_fiber_ids:
        gone = _fiber_neurons(conn, brain, batch.delete_fiber_ids)
        _set_membership(conn, brain, gone, {})
        _delete(conn, "fibers", brain, gone)
        sql = f"DELETE FROM vectors WHERE brain = ? AND fiber_id {_IN_IDS}"
        conn.execute(sql, (brain, id_list(gone)))
    _delete(conn, "synapses", brain, batch.delete_synapse_ids)
    cascaded: set[str] = set()
    if batch.delete_neuron_ids:
        ids = id_list(set(batch.delete_neuron_ids))
        cascaded = {row[0] for row in conn.execute(TOUCHING_IDS, (brain, ids))}
        _delete(conn, "synapses", brain, cascaded)
        _delete(conn, "neurons", brain, batch.delete_neuron_ids)
    _delete(conn, "typed_memories", brain, batch.delete_typed_memory_ids)
    _delete(conn, "projects", brain, batch.delete_project_ids)
    if batch.put_meta:
        meta = [(brain, k, dump_json(v, f"meta value {k!r}")) for k, v in batch.put_meta]
        conn.executemany(PUT_META, meta)
    return cascaded


def _put_vectors(conn: sqlite3.Connection, brain: int, batch: WriteBatch) -> None:
    """Store the batch's vectors; NotFoundError when one names a fiber that is not there."""
    if not batch.put_vectors:
        return
    wanted = {v.fiber_id for v in batch.put_vectors}
    present = existing_ids(conn, "fibers", brain, wanted) - set(batch.delete_fiber_ids)
    missing = sorted(wanted - present)
    if missing:
        raise NotFoundError(f"vector names missing fiber {missing[0]!r}")
    rows = [(brain, v.model, v.fiber_id, vector_to_bytes(v.vector)) for v in batch.put_vectors]
    conn.executemany(_PUT_VECTOR, rows)


def _insert_fibers(conn: sqlite3.Connection, brain: int, fibers: Sequence[Fiber]) -> None:
    for fiber in fibers:
        try:
            conn.execute(_INSERT_FIBER, fiber_row(brain, fiber))
        except sqlite3.IntegrityError as exc:
            raise AlreadyExistsError(f"fiber {fiber.id!r} already exists") from exc


def _set_membership(
    conn: sqlite3.Connection,
    brain: int,
    before: dict[str, frozenset[str]],
    after: dict[str, frozenset[str]],
) -> None:
    """Move the fiber_neurons rows of the fibers in ``before``/``after`` to ``after``."""
    stale = [
        (brain, neuron_id, fiber_id)
        for fiber_id, neurons in before.items()
        for neuron_id in neurons - after.get(fiber_id, frozenset())
    ]
    if stale:
        conn.executemany(
            "DELETE FROM fiber_neurons WHERE brain = ? AND neuron_id = ? AND fiber_id = ?",
            stale,
        )
    fresh = [
        (brain, neuron_id, fiber_id)
        for fiber_id, neurons in after.items()
        for neuron_id in neurons - before.get(fiber_id, frozenset())
    ]
    if fresh:
        conn.executemany(
            "INSERT OR IGNORE INTO fiber_neurons (brain, neuron_id, fiber_id) VALUES (?, ?, ?)",
            fresh,
        )


def _delete(conn: sqlite3.Connection, table: str, brain: int, ids: Iterable[str]) -> None:
    wanted = set(ids)
    if wanted:
        sql = f"DELETE FROM {table} WHERE brain = ? AND id {_IN_IDS}"
        conn.execute(sql, (brain, id_list(wanted)))


# -- change log ----------------------------------------------------------------------------


def _log_changes(
    conn: sqlite3.Connection,
    brain: int,
    batch: WriteBatch,
    cascaded: set[str],
    change_log_limit: int,
) -> int:
    """Append one entry per touched id under fresh seqs; trim the log; return the last seq."""
    neurons, synapses, fibers = batch.changed_ids()
    synapses |= cascaded
    entries = [
        (kind.value, entity_id)
        for kind, ids in (
            (ChangeKind.NEURON, neurons),
            (ChangeKind.SYNAPSE, synapses),
            (ChangeKind.FIBER, fibers),
        )
        for entity_id in sorted(ids)
    ]
    if entries:
        conn.execute("UPDATE brains SET seq = seq + ? WHERE num = ?", (len(entries), brain))
    seq: int = conn.execute("SELECT seq FROM brains WHERE num = ?", (brain,)).fetchone()[0]
    if entries:
        first = seq - len(entries) + 1
        conn.executemany(
            "INSERT INTO changes (brain, seq, kind, entity_id) VALUES (?, ?, ?, ?)",
            [(brain, first + i, kind, eid) for i, (kind, eid) in enumerate(entries)],
        )
        if seq > change_log_limit:
            conn.execute(
                "DELETE FROM changes WHERE brain = ? AND seq <= ?",
                (brain, seq - change_log_limit),
            )
    return seq
