"""Whole-brain passes plan in a worker thread and read a brain in slices.

A server runs consolidation and decay on the event loop its health checks and other users'
recalls share: the passes' planning, pure and CPU-bound (about a second for 30,000
memories), must run elsewhere, and reading every memory must let the loop run between
slices. The plans are the same wherever they run (the consolidation and lifecycle tests).
"""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from neural_memory import BrainConfig
from neural_memory.core import Neuron, NeuronType
from neural_memory.core.limits import MAX_TEXT_LENGTH
from neural_memory.engine.consolidation import consolidate, engine
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.lifecycle import DecayManager, decay
from neural_memory.engine.retrieval import _documents
from neural_memory.engine.retrieval import index as index_module
from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.errors import LimitExceededError
from neural_memory.storage import Storage, _limits
from neural_memory.storage.batch import WriteBatch


def threads_calling(
    monkeypatch: pytest.MonkeyPatch, owner: Any, name: str
) -> list[threading.Thread]:
    """The threads ``owner.name`` is called in from now on (one entry per call)."""
    threads: list[threading.Thread] = []
    original = getattr(owner, name)

    def recorded(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.current_thread())
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, recorded)
    return threads


async def test_consolidation_and_decay_plan_off_the_event_loop(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    consolidating = threads_calling(monkeypatch, engine, "_planned")
    decaying = threads_calling(monkeypatch, decay._Plan, "batch")
    encoder = MemoryEncoder(storage, BrainConfig(), embedder=None)
    await encoder.encode("Dana flew to Rome for the launch")
    await consolidate(storage)
    assert consolidating and decaying
    assert threading.main_thread() not in consolidating + decaying


async def test_every_memory_is_read_in_slices(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(index_module, "_LOAD_AT_ONCE", 2)
    encoder = MemoryEncoder(storage, BrainConfig(), embedder=None)
    await encoder.encode_many([f"Dana met Eve on day {i} to plan step {i}" for i in range(5)])
    handle = BrainHandle.of(storage)
    reads: list[int] = []
    get_fibers = handle.storage.get_fibers

    async def counted(ids: Any) -> Any:
        ids = list(ids)
        reads.append(len(ids))
        return await get_fibers(ids)

    index = handle.index()
    await index.sync()
    for record in index.fibers:
        record.loaded = None  # as a brain opened from its snapshot holds them
    monkeypatch.setattr(index.storage, "get_fibers", counted)
    memories = await handle.memories()
    assert [m.content for m in memories] == [
        f"Dana met Eve on day {i} to plan step {i}" for i in range(5)
    ]
    assert reads == [2, 2, 1]


async def test_a_pass_over_many_memories_is_indexed_as_a_rebuilt_index_reads_it(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_documents, "MANY_MEMORIES", 2)  # every batch of 2+ is prepared
    prepared = threads_calling(monkeypatch, _documents, "prepare_fibers")
    encoder = MemoryEncoder(storage, BrainConfig(), embedder=None)
    await encoder.encode_many([f"Dana met Eve on day {i} to plan step {i}" for i in range(6)])
    live = await BrainHandle.of(storage).synced_index(None)
    later = datetime.now(UTC) + timedelta(days=30)
    await DecayManager(decay_rate=0.2, prune_threshold=0.0).apply_decay(storage, now=later)
    assert prepared and threading.main_thread() not in prepared
    rebuilt = BrainIndex(storage, live.brain_id, None)
    await rebuilt.sync()
    assert live.seq == rebuilt.seq
    assert rebuilt.memory_count == live.memory_count == 6
    live_scores, rebuilt_scores = (
        live.lexical.scores(["dana", "3"]),
        rebuilt.lexical.scores(["dana", "3"]),
    )
    for fiber_id, row in rebuilt.fiber_rows.items():
        mine = live.fiber_rows[fiber_id]
        assert live.conductivity()[mine] == rebuilt.conductivity()[row] < 1.0
        assert live_scores[mine] == rebuilt_scores[row]


async def test_a_large_batch_with_a_bad_record_is_refused_whole(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_limits, "LARGE_BATCH_RECORDS", 2)  # checked in a worker thread
    good = Neuron.create(NeuronType.ENTITY, "Dana")
    bad = replace(Neuron.create(NeuronType.ENTITY, "Eve"), content="x" * (MAX_TEXT_LENGTH + 1))
    with pytest.raises(LimitExceededError):
        await storage.write(WriteBatch(insert_neurons=(good, bad)))
    assert await storage.get_neuron(good.id) is None
