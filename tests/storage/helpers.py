"""Small builders with fixed timestamps, so ordering tests do not depend on the clock."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from neural_memory.core import Fiber, Neuron, NeuronType, Synapse, SynapseType
from neural_memory.storage import Storage, WriteBatch

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    """``minutes`` after T0."""
    return T0 + timedelta(minutes=minutes)


def neuron(
    content: str, type: NeuronType = NeuronType.CONCEPT, *, minute: float = 0, **kw: Any
) -> Neuron:
    return Neuron.create(type, content, created_at=at(minute), **kw)


def synapse(
    a: Neuron,
    b: Neuron,
    type: SynapseType = SynapseType.RELATED_TO,
    *,
    minute: float = 0,
    **kw: Any,
) -> Synapse:
    return Synapse.create(a.id, b.id, type, created_at=at(minute), **kw)


def fiber(*neurons: Neuron, minute: float = 0, **kw: Any) -> Fiber:
    return Fiber.create([n.id for n in neurons], created_at=at(minute), **kw)


async def store_fibers(storage: Storage, *fiber_ids: str) -> list[Fiber]:
    """Store one fiber per id (on one shared neuron): what typed memories may point to."""
    anchor = neuron("anchor")
    fibers = [fiber(anchor, fiber_id=fiber_id) for fiber_id in fiber_ids]
    await storage.write(WriteBatch(ensure_neurons=(anchor,), insert_fibers=tuple(fibers)))
    return fibers


def unrun_changes(conn: sqlite3.Connection) -> None:
    """An SQLite change log back to one row per entry, as before it was kept in runs."""
    conn.execute(
        "CREATE TABLE changes (brain INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, "
        "entity_id TEXT NOT NULL, PRIMARY KEY (brain, seq)) WITHOUT ROWID"
    )
    conn.execute(
        "INSERT INTO changes SELECT r.brain, r.first_seq + CAST(j.key AS INTEGER), r.kind, "
        "j.value FROM change_runs AS r, json_each(r.entity_ids) AS j"
    )
    conn.execute("DROP TABLE change_runs")
