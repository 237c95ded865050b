"""Applying a WriteBatch to PostgreSQL: one transaction, all or nothing, in few round trips.

The transaction first locks the brain's row (``SELECT ... FOR NO KEY UPDATE``), so the writers
of one brain, in any number of processes, apply their batches one after the other: the checks see
the state the batch applies to, and the change sequence bumped at the end hands every writer
distinct, increasing seqs. The semantics copy InMemoryStorage exactly: the batch is checked
against the state before it (duplicates, missing ids, missing neurons), then applied in the
WriteBatch order, then logged with one change-log entry per touched id. Rows are written in
bulk: one ``INSERT ... SELECT FROM unnest(<one array per column>)`` per table, or ``COPY``
for many rows of ids the checks found free (the brain's lock keeps them free).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.errors import AlreadyExistsError, BrainNotFoundError
from neural_memory.storage import _integrity as integrity
from neural_memory.storage import _sqlite_rows as codec
from neural_memory.storage import _write_common as common
from neural_memory.storage._postgres_deltas import adds_up, apply_accesses, write_deltas
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "PUT_ALERTS",
    "PUT_META",
    "PUT_RECALL_EVENTS",
    "bulk_args",
    "bulk_sql",
    "create_brain",
    "write_batch",
]

_T = TypeVar("_T")
_Entity = TypeVar("_Entity", Neuron, Synapse)
Connection = Any
"""An asyncpg connection (asyncpg ships no type information)."""

# The PostgreSQL type of each column of the matching ``*_COLUMNS`` (after ``brain``).
_TYPED_TYPES = codec.TYPED_MEMORY.pg_types
_PROJECT_TYPES = codec.PROJECT.pg_types
_ALERT_TYPES = codec.ALERT.pg_types
_RECALL_TYPES = codec.RECALL.pg_types


def bulk_sql(table: str, columns: str, types: str, on_conflict: str = "") -> str:
    """An INSERT of ``brain`` + ``columns`` from one array parameter per column.

    ``on_conflict`` is "" (fail), "ignore" or "update" (an upsert on ``(brain, <first
    column>)`` that keeps the row, and so its insertion order).
    """
    names = [c.strip() for c in columns.split(",")]
    arrays = ", ".join(
        f"${i}::{kind}[]" for i, kind in enumerate(["int4", *types.split()], start=1)
    )
    sql = f"INSERT INTO {table} (brain, {', '.join(names)}) SELECT * FROM unnest({arrays})"
    return sql + common.conflict_clause(names, on_conflict)


def bulk_args(rows: Sequence[codec.Row]) -> list[list[Any]]:
    """The rows as one list per column (the parameters of a :func:`bulk_sql` statement)."""
    return [list(column) for column in zip(*rows, strict=True)]


_PUT_TYPED_MEMORIES = bulk_sql("typed_memories", codec.TYPED_MEMORY_COLUMNS, _TYPED_TYPES, "update")
_PUT_PROJECTS = bulk_sql("projects", codec.PROJECT_COLUMNS, _PROJECT_TYPES, "update")


def side_write_sql(table: str, columns: str, types: str, on_conflict: str = "") -> str:
    """One statement: key-share lock the brain ``$1`` (by id), insert rows, return its number.

    The rows come as one array parameter per column from ``$2`` on (:func:`bulk_args` of
    the rows without their brain number). It returns no row when the brain does not exist
    (nothing is inserted). One round trip: the lock, the insert and the commit together.
    """
    names = [c.strip() for c in columns.split(",")]
    arrays = ", ".join(f"${i}::{kind}[]" for i, kind in enumerate(types.split(), start=2))
    insert = (
        f"INSERT INTO {table} (brain, {', '.join(names)}) "
        f"SELECT b.num, u.* FROM b CROSS JOIN unnest({arrays}) AS u"
    )
    return (
        "WITH b AS (SELECT num FROM brains WHERE id = $1 FOR KEY SHARE), "
        f"i AS ({insert}{common.conflict_clause(names, on_conflict)}) SELECT num FROM b"
    )


PUT_ALERTS = side_write_sql("alerts", codec.ALERT_COLUMNS, _ALERT_TYPES, "update")
"""Upsert of alert rows (:func:`side_write_sql`, rows of ``alert_row``)."""
PUT_RECALL_EVENTS = side_write_sql("recall_events", codec.RECALL_COLUMNS, _RECALL_TYPES)
"""Insert of recall-event rows (:func:`side_write_sql`, rows of ``recall_row``)."""
PUT_META = (
    "INSERT INTO meta (brain, key, value) SELECT $1, k, v FROM unnest($2::text[], $3::text[]) "
    "AS u(k, v) ON CONFLICT (brain, key) DO UPDATE SET value = excluded.value"
)
"""Upsert of meta values: brain number, keys, JSON texts."""
_PUT_VECTOR = (
    "INSERT INTO vectors (brain, model, fiber_id, vector) VALUES ($1, $2, $3, $4::real[]) "
    "ON CONFLICT (brain, model, fiber_id) DO UPDATE SET vector = excluded.vector"
)
_SYNAPSE_DELTA = (
    "UPDATE synapses SET weight = least(1.0, greatest(0.0, weight + $1)), "
    "last_activated = CASE WHEN $1 > 0 THEN $2 ELSE last_activated END, "
    "reinforced_count = reinforced_count + CASE WHEN $1 > 0 THEN 1 ELSE 0 END "
    "WHERE brain = $3 AND id = $4"
)
_SYNAPSE_DELTAS = (
    "UPDATE synapses AS s SET weight = least(1.0, greatest(0.0, s.weight + d.delta)), "
    "last_activated = CASE WHEN d.delta > 0 THEN $2 ELSE s.last_activated END, "
    "reinforced_count = s.reinforced_count + CASE WHEN d.delta > 0 THEN 1 ELSE 0 END "
    "FROM unnest($3::text[], $4::float8[]) AS d(id, delta) WHERE s.brain = $1 AND s.id = d.id"
)
_PUT_MEMBERSHIP = (
    "INSERT INTO fiber_neurons (brain, neuron_id, fiber_id) "
    "SELECT $1, n, f FROM unnest($2::text[], $3::text[]) AS u(n, f)"
)
_LOG = (
    "INSERT INTO changes (brain, seq, kind, entity_id) "
    "SELECT $1, s, k, e FROM unnest($2::int8[], $3::text[], $4::text[]) AS u(s, k, e)"
)
# Plain inserts of at least this many rows (a bulk import's membership and change log) are
# sent with COPY, which skips building one array per column and parsing them back.
_COPY_MIN_ROWS = 256
_MEMBERSHIP = ("brain", "neuron_id", "fiber_id")
_LOG_COLUMNS = ("brain", "seq", "kind", "entity_id")
_TOUCHING_IDS = (
    "SELECT id FROM synapses WHERE brain = $1 AND source_id = ANY($2::text[]) "
    "UNION SELECT id FROM synapses WHERE brain = $1 AND target_id = ANY($2::text[])"
)
"""The ids of the synapses of brain ``$1`` touching a neuron in the array ``$2``."""


async def write_batch(
    conn: Connection, brain_id: str, batch: WriteBatch, change_log_limit: int
) -> int:
    """Apply ``batch`` to ``brain_id`` atomically, log its changes, return the new seq."""
    if batch.only_deltas and adds_up(batch):
        seq = await write_deltas(conn, brain_id, batch, change_log_limit)
        if seq is None:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
        return seq
    async with conn.transaction():
        brain = await conn.fetchval(
            "SELECT num FROM brains WHERE id = $1 FOR NO KEY UPDATE", brain_id
        )
        if brain is None:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
        return await _write_locked(conn, brain, batch, change_log_limit)


async def create_brain(
    conn: Connection, brain_row: codec.Row, batch: WriteBatch, change_log_limit: int
) -> int:
    """Insert the brain of ``brain_row`` and apply ``batch`` to it in one transaction.

    AlreadyExistsError when the id is taken (a racing creator included); on any failure
    nothing is kept.
    """
    async with conn.transaction():
        brain = await conn.fetchval(
            f"INSERT INTO brains ({codec.BRAIN_COLUMNS}) VALUES ($1, $2, $3, $4, $5) "
            "ON CONFLICT (id) DO NOTHING RETURNING num",
            *brain_row,
        )
        if brain is None:
            raise AlreadyExistsError(f"brain {brain_row[0]!r} already exists")
        if batch.is_empty:
            return 0
        return await _write_locked(conn, brain, batch, change_log_limit)


async def _write_locked(
    conn: Connection, brain: int, batch: WriteBatch, change_log_limit: int
) -> int:
    if batch.has_access_deltas:  # first: on the records stored before the batch
        await apply_accesses(conn, brain, batch)
    stored = await _check(conn, brain, batch)
    if batch.delete_neuron_ids:
        integrity.refuse_neurons_in_use(
            batch, await _fibers_naming(conn, brain, batch.delete_neuron_ids)
        )
    references = await _stored_references(conn, brain, batch, stored.synapse_ends)
    integrity.refuse_dangling(batch, references)
    cascaded = await _apply(conn, brain, batch, stored)
    return await _log_changes(conn, brain, common.change_texts(batch, cascaded), change_log_limit)


async def _fibers_naming(
    conn: Connection, brain: int, neuron_ids: Iterable[str]
) -> dict[str, set[str]]:
    """The stored fibers naming each of ``neuron_ids``, by neuron id."""
    sql = (
        "SELECT neuron_id, fiber_id FROM fiber_neurons "
        "WHERE brain = $1 AND neuron_id = ANY($2::text[])"
    )
    return common.grouped(await conn.fetch(sql, brain, list(set(neuron_ids))))


async def _synapse_ends(conn: Connection, brain: int, ids: set[str]) -> dict[str, tuple[str, str]]:
    """``(source, target)`` of the stored synapses among ``ids``."""
    if not ids:
        return {}
    sql = "SELECT id, source_id, target_id FROM synapses WHERE brain = $1 AND id = ANY($2::text[])"
    return {row[0]: (row[1], row[2]) for row in await conn.fetch(sql, brain, list(ids))}


async def _stored_references(
    conn: Connection, brain: int, batch: WriteBatch, ends: dict[str, tuple[str, str]]
) -> integrity.StoredReferences:
    """What :func:`integrity.refuse_dangling` needs to know of the brain before ``batch``.

    ``ends`` are the stored ends :func:`_check` read, those of every synapse the batch names
    among them.
    """
    successors: dict[str, set[str]] = {}
    if batch.delete_fiber_ids:
        sql = (
            "SELECT superseded_by, id FROM fibers "
            "WHERE brain = $1 AND superseded_by IS NOT NULL AND superseded_by = ANY($2::text[])"
        )
        successors = common.grouped(await conn.fetch(sql, brain, list(set(batch.delete_fiber_ids))))
    return integrity.StoredReferences(
        fibers=frozenset(await _existing(conn, "fibers", brain, integrity.fiber_references(batch))),
        synapse_ends=ends,
        successors=successors,
        synapse_users=integrity.synapse_users(
            ends, batch.delete_synapse_ids, await _fibers_joining(conn, brain, ends, batch)
        ),
    )


_JOINING = (
    "SELECT f.id, f.synapse_ids FROM fibers AS f WHERE f.brain = $1 AND f.id IN ("
    "SELECT a.fiber_id FROM unnest($2::text[], $3::text[]) AS e(source, target) "
    "JOIN fiber_neurons AS a ON a.brain = $1 AND a.neuron_id = e.source "
    "JOIN fiber_neurons AS b ON b.brain = $1 AND b.neuron_id = e.target "
    "AND b.fiber_id = a.fiber_id)"
)


async def _fibers_joining(
    conn: Connection, brain: int, ends: dict[str, tuple[str, str]], batch: WriteBatch
) -> dict[str, frozenset[str]]:
    """The synapse ids of the stored fibers naming both ends of a synapse ``batch`` deletes."""
    pairs = common.deleted_synapse_ends(ends, batch)
    if not pairs:
        return {}
    rows = await conn.fetch(_JOINING, brain, *bulk_args(pairs))
    return {row[0]: frozenset(codec.load_json(row[1])) for row in rows}


# -- checks --------------------------------------------------------------------------------


async def _existing(conn: Connection, table: str, brain: int, ids: set[str]) -> set[str]:
    """The ids among ``ids`` that have a row in ``table`` for ``brain``."""
    if not ids:
        return set()
    sql = f"SELECT id FROM {table} WHERE brain = $1 AND id = ANY($2::text[])"
    return {row[0] for row in await conn.fetch(sql, brain, list(ids))}


async def _fiber_neurons(
    conn: Connection, brain: int, ids: Iterable[str]
) -> dict[str, frozenset[str]]:
    """The neuron ids of the stored fibers among ``ids``, by fiber id."""
    wanted = list(set(ids))
    if not wanted:
        return {}
    sql = "SELECT id, neuron_ids FROM fibers WHERE brain = $1 AND id = ANY($2::text[])"
    return {
        row[0]: frozenset(codec.load_json(row[1])) for row in await conn.fetch(sql, brain, wanted)
    }


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the checks read of the brain before the batch, kept for writing it."""

    neurons: set[str]
    """The stored ids among the batch's neurons and the neurons it names."""
    synapse_ends: dict[str, tuple[str, str]]
    """``(source, target)`` of the stored synapses among the batch's synapses and those it
    names (:func:`integrity.synapse_references`)."""
    fibers: dict[str, frozenset[str]]
    """The neuron ids of the stored fibers among the batch's fibers."""
    deltas: list[tuple[str, float]]
    """The synapse deltas that may move a stored synapse (:func:`common.live_deltas`)."""


async def _check(conn: Connection, brain: int, batch: WriteBatch) -> _Stored:
    """Raise before anything is applied; return what was read of the stored state.

    The ids of the ``ensure_*`` records are looked up with the others (in the same query),
    so that the rows to create are known and can be copied in without a conflict check:
    the brain's lock keeps every other writer of the brain out until the commit. The
    synapses the batch's fibers name are read in the same query as its own.
    """
    lookups = common.neuron_lookups(batch)
    ensured = {n.id for n in batch.ensure_neurons}
    neurons = await _existing(conn, "neurons", brain, lookups[1] | ensured)
    known = integrity.refuse_bad_neurons(batch, lookups, neurons)
    synapses = (batch.insert_synapses, batch.update_synapses)
    links = common.ids_of(*synapses, batch.ensure_synapses) | integrity.synapse_references(batch)
    ends = await _synapse_ends(conn, brain, links)
    integrity.refuse_conflicts(*synapses, ends, "synapse")
    fibers = (batch.insert_fibers, batch.update_fibers)
    old_fibers = await _fiber_neurons(conn, brain, common.ids_of(*fibers))
    integrity.refuse_conflicts(*fibers, old_fibers, "fiber")
    integrity.refuse_missing_members(batch, known)
    return _Stored(neurons, ends, old_fibers, common.live_deltas(batch, links, ends))


# -- apply ---------------------------------------------------------------------------------


async def _put(conn: Connection, sql: str, rows: list[codec.Row]) -> None:
    """Write ``rows`` with one bulk statement; of several rows with one id the last wins."""
    if rows:
        by_id = {row[1]: row for row in rows}
        await conn.execute(sql, *bulk_args(list(by_id.values())))


async def _apply(conn: Connection, brain: int, batch: WriteBatch, stored: _Stored) -> set[str]:
    """Apply a checked batch; return the ids of synapses deleted with their neurons."""
    neurons = (batch.ensure_neurons, batch.insert_neurons, batch.update_neurons)
    await _write_records(conn, brain, _NEURONS, *neurons, stored.neurons)
    if stored.deltas:  # before the synapse writes: deltas move stored synapses only
        await _move_synapses(conn, brain, stored.deltas, batch.deltas_at)
    synapses = (batch.ensure_synapses, batch.insert_synapses, batch.update_synapses)
    await _write_records(conn, brain, _SYNAPSES, *synapses, stored.synapse_ends)
    fibers = (*batch.insert_fibers, *batch.update_fibers)
    if fibers:
        await _write_records(conn, brain, _FIBERS, (), batch.insert_fibers, batch.update_fibers)
        await _set_membership(conn, brain, stored.fibers, {f.id: f.neuron_ids for f in fibers})
    await _put_vectors(conn, brain, batch)
    memories = common.rows_of(brain, batch.put_typed_memories, codec.typed_memory_row)
    await _put(conn, _PUT_TYPED_MEMORIES, memories)
    await _put(conn, _PUT_PROJECTS, common.rows_of(brain, batch.put_projects, codec.project_row))
    if batch.delete_fiber_ids:
        for table in ("fiber_neurons", "vectors", "typed_memories"):  # all go with the fiber
            await _delete(conn, table, brain, batch.delete_fiber_ids, "fiber_id")
        await _delete(conn, "fibers", brain, batch.delete_fiber_ids)
    await _delete(conn, "synapses", brain, batch.delete_synapse_ids)
    cascaded: set[str] = set()
    if batch.delete_neuron_ids:
        ids = list(set(batch.delete_neuron_ids))
        cascaded = {row[0] for row in await conn.fetch(_TOUCHING_IDS, brain, ids)}
        await _delete(conn, "synapses", brain, cascaded)
        await _delete(conn, "neurons", brain, ids)
    await _delete(conn, "typed_memories", brain, batch.delete_typed_memory_ids)
    await _delete(conn, "projects", brain, batch.delete_project_ids)
    if batch.put_meta:
        meta = {k: codec.dump_json(v, f"meta value {k!r}") for k, v in batch.put_meta}
        await conn.execute(PUT_META, brain, list(meta), list(meta.values()))
    return cascaded


async def _move_synapses(
    conn: Connection, brain: int, pairs: list[tuple[str, float]], moment: datetime
) -> None:
    """Apply synapse deltas: one statement, or one per delta when an id repeats."""
    at = codec.to_micros(moment)
    ids = [synapse_id for synapse_id, _ in pairs]
    if len(set(ids)) == len(ids):
        deltas = [float(delta) for _, delta in pairs]
        await conn.execute(_SYNAPSE_DELTAS, brain, at, ids, deltas)
    else:  # each delta clamps the weight the previous one left
        params = [(float(delta), at, brain, sid) for sid, delta in pairs]
        await conn.executemany(_SYNAPSE_DELTA, params)


@dataclass(frozen=True, slots=True)
class _Table:
    """A table of records a batch ensures, inserts or updates, and its statements."""

    name: str
    columns: tuple[str, ...]
    """``brain`` and the layout's columns, in row order (for COPY)."""
    insert: str
    """A plain bulk INSERT (:func:`bulk_sql`)."""
    ensure: str
    """A bulk INSERT skipping taken ids."""
    upsert: str
    """A bulk INSERT replacing the rows of taken ids (keeping their order)."""
    row: Callable[[int, Any], codec.Row]


def _table(name: str, layout: codec.RowLayout[Any]) -> _Table:
    columns, types = layout.columns, layout.pg_types
    return _Table(
        name=name,
        columns=("brain", *(c.strip() for c in columns.split(","))),
        insert=bulk_sql(name, columns, types),
        ensure=bulk_sql(name, columns, types, "ignore"),
        upsert=bulk_sql(name, columns, types, "update"),
        row=layout.row,
    )


_NEURONS = _table("neurons", codec.NEURON)
_SYNAPSES = _table("synapses", codec.SYNAPSE)
_FIBERS = _table("fibers", codec.FIBER)


async def _write_records(
    conn: Connection,
    brain: int,
    table: _Table,
    ensure: Sequence[Any],
    insert: Sequence[Any],
    update: Sequence[Any],
    stored: Iterable[str] = (),
) -> None:
    """Write a batch's ``ensure_*``, ``insert_*`` and ``update_*`` records of one table.

    ``stored`` holds the stored ids among the ensured ones. The rows of new ids are created
    without a conflict check (the checks ran under the brain's lock, which keeps every
    other writer of the brain out until the commit), unless the batch inserts a record it
    also ensures: then the conflict-checked statements run, in the WriteBatch order.
    """
    taken = set(stored)
    ensured = [item for item in _first_wins(ensure) if item.id not in taken]
    if {item.id for item in ensured}.isdisjoint(item.id for item in insert):
        await _create(conn, table, common.rows_of(brain, ensured, table.row))
        await _create(conn, table, common.rows_of(brain, insert, table.row))
    else:
        await _put(conn, table.ensure, common.rows_of(brain, ensured, table.row))
        await _put(conn, table.upsert, common.rows_of(brain, insert, table.row))
    await _put(conn, table.upsert, common.rows_of(brain, update, table.row))


async def _create(conn: Connection, table: _Table, rows: list[codec.Row]) -> None:
    """Insert rows of free ids (of several rows with one id the last wins).

    Many rows are sent with COPY: measured about twice as fast as an INSERT from arrays,
    which is in turn faster than one checking each row for a conflict.
    """
    if not rows:
        return
    rows = list({row[1]: row for row in rows}.values())
    if len(rows) >= _COPY_MIN_ROWS:
        await conn.copy_records_to_table(table.name, records=rows, columns=table.columns)
    else:
        await conn.execute(table.insert, *bulk_args(rows))


def _first_wins(items: Sequence[_Entity]) -> list[_Entity]:
    """``ensure_*`` items: of several with one id, the first is the one stored."""
    return list({item.id: item for item in reversed(items)}.values())[::-1]


async def _put_vectors(conn: Connection, brain: int, batch: WriteBatch) -> None:
    if batch.put_vectors:
        rows = [(brain, v.model, v.fiber_id, v.vector.tolist()) for v in batch.put_vectors]
        await conn.executemany(_PUT_VECTOR, rows)


async def _set_membership(
    conn: Connection,
    brain: int,
    before: dict[str, frozenset[str]],
    after: dict[str, frozenset[str]],
) -> None:
    """Make the fiber_neurons rows of the fibers in ``after`` list exactly their neurons."""
    replaced = [fiber_id for fiber_id in after if fiber_id in before]
    if replaced:
        await _delete(conn, "fiber_neurons", brain, replaced, "fiber_id")
    pairs = [(n, fiber_id) for fiber_id, neurons in after.items() for n in neurons]
    if len(pairs) >= _COPY_MIN_ROWS:
        rows = [(brain, neuron_id, fiber_id) for neuron_id, fiber_id in pairs]
        await conn.copy_records_to_table("fiber_neurons", records=rows, columns=_MEMBERSHIP)
    elif pairs:
        await conn.execute(_PUT_MEMBERSHIP, brain, *bulk_args(pairs))


async def _delete(
    conn: Connection, table: str, brain: int, ids: Iterable[str], column: str = "id"
) -> None:
    wanted = list(set(ids))
    if wanted:
        sql = f"DELETE FROM {table} WHERE brain = $1 AND {column} = ANY($2::text[])"
        await conn.execute(sql, brain, wanted)


# -- change log ----------------------------------------------------------------------------


async def _log_changes(
    conn: Connection, brain: int, entries: list[tuple[str, str]], limit: int
) -> int:
    """Log ``entries`` (kind, id) under fresh seqs; trim the log to ``limit``; the last seq."""
    if not entries:
        return int(await conn.fetchval("SELECT seq FROM brains WHERE num = $1", brain))
    sql = "UPDATE brains SET seq = seq + $1 WHERE num = $2 RETURNING seq"
    seq = int(await conn.fetchval(sql, len(entries), brain))
    first = seq - len(entries) + 1
    if len(entries) >= _COPY_MIN_ROWS:
        rows = [(brain, first + i, kind, eid) for i, (kind, eid) in enumerate(entries)]
        await conn.copy_records_to_table("changes", records=rows, columns=_LOG_COLUMNS)
    else:
        await conn.execute(_LOG, brain, list(range(first, seq + 1)), *bulk_args(entries))
    if seq > limit:
        # Only the entries these push out of the window (see _postgres_deltas): each writer
        # trims its own share, so no older one is left, and the dead ones are not walked.
        sql = "DELETE FROM changes WHERE brain = $1 AND seq > $2 AND seq <= $3"
        await conn.execute(sql, brain, first - 1 - limit, seq - limit)
    return seq
