"""The per-brain change log (seq, entries, trimming) and brain statistics."""

from __future__ import annotations

import pytest

from neural_memory.core import (
    BrainStats,
    ChangeKind,
    ChangeRecord,
    MemoryType,
    Neuron,
    NeuronType,
    Project,
    TypedMemory,
)
from neural_memory.storage import Storage, WriteBatch
from neural_memory.storage import memory as memory_module
from tests.storage.helpers import T0, at, fiber, neuron, store_fibers, synapse


async def test_fresh_brain_has_an_empty_log(storage: Storage) -> None:
    assert await storage.get_change_seq() == 0
    assert await storage.get_changes(0) == []


async def test_each_touched_id_gets_the_next_seq_in_kind_then_id_order(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    s, f = synapse(a, b), fiber(a, b)
    first, second = sorted([a.id, b.id])
    assert await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(s,))) == 3
    assert await storage.write(WriteBatch(insert_fibers=(f,), ensure_neurons=(a,))) == 5
    assert await storage.get_change_seq() == 5
    assert await storage.get_changes(0) == [
        ChangeRecord(1, ChangeKind.NEURON, first),
        ChangeRecord(2, ChangeKind.NEURON, second),
        ChangeRecord(3, ChangeKind.SYNAPSE, s.id),
        ChangeRecord(4, ChangeKind.NEURON, a.id),
        ChangeRecord(5, ChangeKind.FIBER, f.id),
    ]
    assert await storage.get_changes(3) == [
        ChangeRecord(4, ChangeKind.NEURON, a.id),
        ChangeRecord(5, ChangeKind.FIBER, f.id),
    ]
    assert await storage.get_changes(5) == []
    assert await storage.get_changes(99) == []


async def test_deletes_and_deltas_are_logged(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    s, f = synapse(a, b), fiber(a, b)
    seq = await storage.write(
        WriteBatch(insert_neurons=(a, b), insert_synapses=(s,), insert_fibers=(f,))
    )
    await storage.write(WriteBatch(synapse_deltas=((s.id, 0.1),)))
    await storage.delete_fiber(f.id)
    changes = await storage.get_changes(seq)
    assert changes is not None
    assert [(c.seq, c.kind, c.entity_id) for c in changes] == [
        (seq + 1, ChangeKind.SYNAPSE, s.id),
        (seq + 2, ChangeKind.FIBER, f.id),
    ]


async def test_typed_memories_projects_alerts_and_meta_are_not_graph_changes(
    storage: Storage,
) -> None:
    (stored,) = await store_fibers(storage, "f-1")  # a neuron and a fiber: seq 2
    await storage.add_typed_memory(TypedMemory.create(stored.id, MemoryType.FACT))
    await storage.add_project(Project.create("p"))
    await storage.set_meta("k", 1)
    assert await storage.get_change_seq() == 2
    assert await storage.write(WriteBatch(put_projects=(Project.create("q"),))) == 2


async def test_trimmed_log_reports_none(storage: Storage, monkeypatch: pytest.MonkeyPatch) -> None:
    limit = 300  # every backend reads the limit when it writes; the default is 50,000
    monkeypatch.setattr(memory_module, "CHANGE_LOG_LIMIT", limit)
    await storage.add_neuron(neuron("first"))
    many = tuple(
        Neuron(id=f"n-{i:06d}", type=NeuronType.CONCEPT, content=f"w{i}", created_at=T0)
        for i in range(limit)
    )
    last = await storage.write(WriteBatch(ensure_neurons=many))
    assert last == limit + 1 == await storage.get_change_seq()
    # Entry 1 was trimmed: a reader at seq 0 must rebuild, one at seq 1 can catch up.
    assert await storage.get_changes(0) is None
    tail = await storage.get_changes(1)
    assert tail is not None
    assert len(tail) == limit
    assert (tail[0].seq, tail[-1].seq) == (2, limit + 1)
    assert await storage.get_changes(last - 1) == [
        ChangeRecord(last, ChangeKind.NEURON, many[-1].id)
    ]


async def test_every_write_keeps_the_last_limit_entries(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Small batches and recall write-backs (deltas only) each trim what they push out.
    limit = 5
    monkeypatch.setattr(memory_module, "CHANGE_LOG_LIMIT", limit)
    a, b = neuron("a"), neuron("b")
    await storage.write(WriteBatch(insert_neurons=(a, b)))
    for minute in range(4):
        await storage.write(WriteBatch(neuron_accesses=((a.id, 0.1), (b.id, 0.1))))
        await storage.write(WriteBatch(ensure_neurons=(neuron(f"c{minute}"),)))
        seq = await storage.get_change_seq()
        assert await storage.get_changes(seq - limit - 1) is None
        kept = await storage.get_changes(seq - limit)
        assert kept is not None
        assert [change.seq for change in kept] == list(range(seq - limit + 1, seq + 1))
    assert seq == 2 + 4 * 3


# -- statistics ----------------------------------------------------------------------------


async def test_stats_of_an_empty_brain(storage: Storage) -> None:
    assert await storage.get_stats() == BrainStats()


async def test_stats_count_the_brain(storage: Storage) -> None:
    a, b, c, orphan = neuron("a"), neuron("b"), neuron("c"), neuron("orphan")
    used = fiber(a, b, minute=1).conduct(conducted_at=at(50))
    unused = fiber(b, c, minute=5)
    await storage.write(
        WriteBatch(
            insert_neurons=(a, b, c, orphan),
            insert_synapses=(synapse(a, b), synapse(c, b)),
            insert_fibers=(used, unused),
            put_typed_memories=(
                TypedMemory.create(used.id, MemoryType.FACT, created_at=at(0)),
                TypedMemory.create(unused.id, MemoryType.TODO, expires_in_days=1, created_at=at(0)),
            ),
            put_projects=(Project.create("p"),),
        )
    )
    stats = await storage.get_stats(now=at(60 * 24 * 2))
    assert stats == BrainStats(
        neuron_count=4,
        synapse_count=2,
        fiber_count=2,
        typed_memory_count=2,
        project_count=1,
        orphan_neuron_count=1,
        expired_memory_count=1,
        oldest_unused_fiber_at=at(5),
        change_seq=await storage.get_change_seq(),
    )
    assert (await storage.get_stats(now=at(0))).expired_memory_count == 0
    assert stats.orphan_ratio == 0.25
