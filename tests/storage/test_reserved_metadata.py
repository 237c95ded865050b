"""The engine's reserved fiber metadata keys at the storage boundary: typed on the way in,
and a brain stored before the check still reads."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from neural_memory import Brain
from neural_memory.core import Fiber, Neuron, NeuronType
from neural_memory.core.fiber_metadata import MENTIONS, SPEAKER
from neural_memory.engine.consolidation import consolidate
from neural_memory.engine.health import repair_brain, scan_brain
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import ValidationError
from neural_memory.storage import SQLiteStorage, Storage, WriteBatch


def _tea(metadata: dict[str, object]) -> tuple[Neuron, Fiber]:
    tea = Neuron.create(NeuronType.CONCEPT, "tea")
    fiber = Fiber(
        id="f-tea",
        neuron_ids=frozenset({tea.id}),
        anchor_neuron_id=tea.id,
        content="Ann drinks tea at five",
        metadata=metadata,
    )
    return tea, fiber


async def test_a_fiber_whose_reserved_key_has_the_wrong_kind_is_refused_whole(
    storage: Storage,
) -> None:
    tea, fiber = _tea({"mentions": "3"})
    before = await storage.get_stats()
    with pytest.raises(ValidationError, match=r"metadata\['mentions'\] must be a positive"):
        await storage.write(WriteBatch(insert_neurons=(tea,), insert_fibers=(fiber,)))
    assert await storage.get_stats() == before
    assert await storage.get_neuron(tea.id) is None


async def test_a_fiber_stored_before_the_check_still_reads_and_recalls(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    brain = Brain.create("old")
    tea, fiber = _tea({"speaker": "Ann"})
    async with SQLiteStorage(path) as storage:
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await storage.write(WriteBatch(insert_neurons=(tea,), insert_fibers=(fiber,)))
    with sqlite3.connect(path) as conn:  # what an earlier release let a caller store
        old = json.dumps({"speaker": 5, "mentions": "3"})
        conn.execute("UPDATE fibers SET metadata = ?", (old,))
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain.id)
        stored = await storage.get_fiber(fiber.id)
        assert stored is not None
        assert stored.metadata == {"speaker": 5, "mentions": "3"}
        assert SPEAKER.get(stored.metadata) is None
        assert MENTIONS.get(stored.metadata) is None
        result = await ReflexPipeline(storage, brain.config).query("who drinks tea")
        assert [f.fiber_id for f in result.fibers] == [fiber.id]


async def test_repair_moves_reserved_values_of_the_wrong_kind_aside(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    brain = Brain.create("old")
    tea, fiber = _tea({"speaker": "Ann", "topic": "drinks"})
    async with SQLiteStorage(path) as storage:
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await storage.write(WriteBatch(insert_neurons=(tea,), insert_fibers=(fiber,)))
    with sqlite3.connect(path) as conn:  # what an earlier release let a caller store
        old = json.dumps({"speaker": 5, "topic": "drinks", "edited": "yes"})
        conn.execute("UPDATE fibers SET metadata = ?", (old,))
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain.id)
        damage = await scan_brain(storage)
        assert [record_id for record_id, _ in damage.invalid] == [fiber.id]
        report = await repair_brain(storage)
        assert report.sanitized == (fiber.id,)
        stored = await storage.get_fiber(fiber.id)
        assert stored is not None
        assert stored.metadata == {
            "topic": "drinks",
            "invalid_reserved": {"speaker": 5, "edited": "yes"},
        }
        assert (await scan_brain(storage)).is_clean
        await consolidate(storage)  # rewrites memories: accepted now that they are typed
