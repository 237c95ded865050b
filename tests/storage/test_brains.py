"""Brains: save, get, list, delete, and isolation between brains of one storage."""

from __future__ import annotations

import pytest

from neural_memory import Brain, BrainConfig
from neural_memory.errors import BrainNotFoundError, ValidationError
from neural_memory.storage import Storage, WriteBatch
from tests.storage.conftest import OpenStorage
from tests.storage.helpers import at, fiber, neuron, synapse


async def test_saved_brain_reads_back_equal(open_storage: OpenStorage) -> None:
    config = BrainConfig(decay_rate=0.3, max_spread_hops=2, max_context_tokens=900)
    brain = Brain.create("work", config, created_at=at(0))
    async with open_storage() as storage:
        await storage.save_brain(brain)
        assert await storage.get_brain(brain.id) == brain
        assert await storage.get_brain("no-such-brain") is None


async def test_list_brains_oldest_first(open_storage: OpenStorage) -> None:
    newer = Brain.create("newer", created_at=at(10))
    older = Brain.create("older", created_at=at(1))
    async with open_storage() as storage:
        assert await storage.list_brains() == []
        await storage.save_brain(newer)
        await storage.save_brain(older)
        assert [b.name for b in await storage.list_brains()] == ["older", "newer"]


async def test_saving_a_brain_again_replaces_name_and_config_keeps_memories(
    storage: Storage,
) -> None:
    brain = await storage.get_brain(storage.brain_id)
    assert brain is not None
    n = neuron("kept")
    await storage.add_neuron(n)
    renamed = brain.with_name("renamed").with_config(BrainConfig(decay_rate=0.5))
    await storage.save_brain(renamed)
    assert await storage.get_brain(brain.id) == renamed
    assert await storage.get_neuron(n.id) == n
    assert len(await storage.list_brains()) == 1


async def test_delete_brain_removes_it_and_everything_in_it(storage: Storage) -> None:
    brain_id = storage.brain_id
    a, b = neuron("a"), neuron("b")
    await storage.write(
        WriteBatch(
            insert_neurons=(a, b), insert_synapses=(synapse(a, b),), insert_fibers=(fiber(a, b),)
        )
    )
    await storage.set_meta("k", 1)
    assert await storage.delete_brain(brain_id) is True
    assert await storage.get_brain(brain_id) is None
    assert await storage.delete_brain(brain_id) is False
    with pytest.raises(BrainNotFoundError):
        await storage.get_neuron(a.id)
    # A brain re-created under the same id starts empty.
    await storage.save_brain(Brain.create("again", brain_id=brain_id))
    assert await storage.get_neuron(a.id) is None
    assert await storage.find_fibers() == []
    assert await storage.get_meta("k") is None
    assert await storage.get_change_seq() == 0


async def test_brains_are_isolated(storage: Storage) -> None:
    first = storage.brain_id
    second = Brain.create("second")
    await storage.save_brain(second)
    shared, only_first = neuron("shared"), neuron("only-first")
    await storage.write(
        WriteBatch(insert_neurons=(shared, only_first), insert_fibers=(fiber(shared, only_first),))
    )
    await storage.set_meta("k", "first")
    first_seq = await storage.get_change_seq()

    storage.set_brain(second.id)
    assert await storage.get_neuron(shared.id) is None
    assert await storage.find_neurons() == []
    assert await storage.find_fibers() == []
    assert await storage.get_meta("k") is None
    assert await storage.get_change_seq() == 0
    # The same ids may exist in both brains independently.
    other = shared.with_activation(0.25)
    await storage.add_neuron(other)
    assert await storage.get_neuron(shared.id) == other
    changes = await storage.get_changes(0)
    assert changes is not None
    assert [c.entity_id for c in changes] == [shared.id]
    assert await storage.get_change_seq() == 1

    storage.set_brain(first)
    assert await storage.get_neuron(shared.id) == shared
    assert await storage.get_change_seq() == first_seq
    await storage.delete_brain(second.id)
    assert await storage.get_neuron(only_first.id) == only_first
    assert (await storage.get_stats()).neuron_count == 2


async def test_save_brain_refuses_other_objects(storage: Storage) -> None:
    with pytest.raises(ValidationError):
        await storage.save_brain("brain")
    with pytest.raises(ValidationError):
        await storage.get_brain("")
