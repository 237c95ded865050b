"""Delta writes on PostgreSQL: neuron accesses, synapse deltas and fiber conducts.

Recall writes back only deltas (``WriteBatch.only_deltas``). Such a batch needs no check
(unknown ids are skipped), so :func:`write_deltas` applies it and logs its changes in one
statement: one round trip instead of a transaction of six or more. Repeated ids (write-backs
of concurrent recalls merged into one batch) are summed per id, which equals applying them
in turn up to float rounding as long as no delta is negative (:func:`adds_up`).

The statement takes the brain row's lock first (every update joins the seq update's
result), so it serialises with the brain's other writers in the same order as
``_postgres_write.write_batch`` does, and its change-log seqs become visible in commit order.
It deletes only the change-log entries its own entries push out of the window (every writer
does, so none older remain): an open-ended ``seq <= cutoff`` walked the index over every
entry deleted before and not yet vacuumed, 7-12 ms a statement on a filled brain.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neural_memory.core.fiber import CONDUCT_REINFORCEMENT
from neural_memory.storage import _sqlite_rows as codec
from neural_memory.storage import _write_common as common
from neural_memory.storage.batch import WriteBatch

if TYPE_CHECKING:
    from asyncpg import Connection

__all__ = ["adds_up", "apply_accesses", "write_deltas"]

_NEURON_ACCESSES = (
    "UPDATE neurons AS n SET activation = least(1.0, greatest(0.0, n.activation + d.delta)), "
    "access_count = n.access_count + 1, last_accessed = $2 "
    "FROM unnest($3::text[], $4::float8[]) AS d(id, delta) WHERE n.brain = $1 AND n.id = d.id"
)
_FIBER_CONDUCTS = (
    "UPDATE fibers AS f SET "
    f"conductivity = least(1.0, f.conductivity + {CONDUCT_REINFORCEMENT!r}::float8), "
    "last_conducted = $2, access_count = f.access_count + 1 "
    "WHERE f.brain = $1 AND f.id = ANY($3::text[])"
)
_DELTAS = f"""
WITH q AS (
    UPDATE brains SET seq = seq + $2 WHERE id = $1 RETURNING num, seq
), n AS (
    UPDATE neurons AS n SET activation = least(1.0, greatest(0.0, n.activation + d.delta)),
        access_count = n.access_count + d.times, last_accessed = $3
    FROM q, (
        SELECT id, sum(delta) AS delta, count(*) AS times
        FROM unnest($4::text[], $5::float8[]) AS u(id, delta) GROUP BY id
    ) AS d
    WHERE n.brain = q.num AND n.id = d.id
), s AS (
    UPDATE synapses AS s SET weight = least(1.0, greatest(0.0, s.weight + d.delta)),
        last_activated = CASE WHEN d.times > 0 THEN $3 ELSE s.last_activated END,
        reinforced_count = s.reinforced_count + d.times
    FROM q, (
        SELECT id, sum(delta) AS delta, count(*) FILTER (WHERE delta > 0) AS times
        FROM unnest($6::text[], $7::float8[]) AS u(id, delta) GROUP BY id
    ) AS d
    WHERE s.brain = q.num AND s.id = d.id
), f AS (
    UPDATE fibers AS f SET
        conductivity = least(1.0, f.conductivity + {CONDUCT_REINFORCEMENT!r}::float8 * d.times),
        last_conducted = $3, access_count = f.access_count + d.times
    FROM q, (SELECT id, count(*) AS times FROM unnest($8::text[]) AS u(id) GROUP BY id) AS d
    WHERE f.brain = q.num AND f.id = d.id
), l AS (
    INSERT INTO changes (brain, seq, kind, entity_id)
    SELECT q.num, q.seq - $2 + u.o, u.k, u.e
    FROM q, unnest($9::text[], $10::text[]) WITH ORDINALITY AS u(k, e, o)
), t AS (
    DELETE FROM changes
    WHERE brain = (SELECT num FROM q) AND seq > (SELECT seq FROM q) - $2 - $11
        AND seq <= (SELECT seq FROM q) - $11
)
SELECT seq FROM q
"""


def adds_up(batch: WriteBatch) -> bool:
    """True when the batch's deltas may be summed per id: no id repeats, or none is negative.

    A weight or activation clamps to 0-1 after each delta; with deltas of one sign the
    clamps of a sum and of a sequence agree, so :func:`write_deltas` sums repeats.
    """
    pairs = (*batch.neuron_accesses, *batch.synapse_deltas)
    if all(delta >= 0 for _, delta in pairs):
        return True
    sections = ([i for i, _ in batch.neuron_accesses], [i for i, _ in batch.synapse_deltas])
    return all(len(set(ids)) == len(ids) for ids in sections)


async def write_deltas(
    conn: Connection, brain_id: str, batch: WriteBatch, change_log_limit: int
) -> int | None:
    """Apply the delta-only ``batch`` (:func:`adds_up`) in one statement; the new seq.

    An id that repeats moves once by the sum of its deltas and counts each positive one.

    None when the brain does not exist (nothing was written).
    """
    entries = common.change_texts(batch, ())
    kinds = [kind for kind, _ in entries]
    seq = await conn.fetchval(
        _DELTAS,
        brain_id,
        len(entries),
        codec.to_micros(batch.deltas_at),
        [neuron_id for neuron_id, _ in batch.neuron_accesses],
        [float(delta) for _, delta in batch.neuron_accesses],
        [synapse_id for synapse_id, _ in batch.synapse_deltas],
        [float(delta) for _, delta in batch.synapse_deltas],
        list(batch.fiber_conducts),
        kinds,
        [entity_id for _, entity_id in entries],
        change_log_limit,
    )
    return None if seq is None else int(seq)


async def apply_accesses(conn: Connection, brain: int, batch: WriteBatch) -> None:
    """Count the batch's neuron accesses and fiber conducts in place (unknown ids skipped).

    An UPDATE moves a row once, so a section whose ids repeat runs one statement per item.
    """
    at = codec.to_micros(batch.deltas_at)
    accesses = batch.neuron_accesses
    if len({neuron_id for neuron_id, _ in accesses}) == len(accesses):
        ids, deltas = [i for i, _ in accesses], [float(d) for _, d in accesses]
        if ids:
            await conn.execute(_NEURON_ACCESSES, brain, at, ids, deltas)
    else:
        params = [(brain, at, [i], [float(d)]) for i, d in accesses]
        await conn.executemany(_NEURON_ACCESSES, params)
    conducts = batch.fiber_conducts
    if len(set(conducts)) == len(conducts):
        if conducts:
            await conn.execute(_FIBER_CONDUCTS, brain, at, list(conducts))
    else:
        await conn.executemany(_FIBER_CONDUCTS, [(brain, at, [i]) for i in conducts])
