"""Whole-brain passes plan in a worker thread and read a brain in slices.

A server runs consolidation and decay on the event loop its health checks and other users'
recalls share: the passes' planning, pure and CPU-bound (about a second for 30,000
memories), must run elsewhere, and reading every memory must let the loop run between
slices. The plans are the same wherever they run (the consolidation and lifecycle tests).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from neural_memory import BrainConfig
from neural_memory.engine.consolidation import consolidate, engine
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.lifecycle import decay
from neural_memory.engine.retrieval import index as index_module
from neural_memory.storage import Storage


def _recorded(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[threading.Thread]:
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
    consolidating = _recorded(monkeypatch, engine, "_planned")
    decaying = _recorded(monkeypatch, decay._Plan, "batch")
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
