"""Referential integrity in every batch: no fiber is ever left naming a deleted neuron."""

from __future__ import annotations

import pytest

from neural_memory import ValidationError
from neural_memory.core import Fiber, Neuron, NeuronType, Synapse, SynapseType
from neural_memory.sharing import BrainExporter
from neural_memory.storage import Storage, WriteBatch


async def _memory(storage: Storage) -> tuple[Neuron, Neuron, Synapse, Fiber]:
    alice = Neuron.create(NeuronType.ENTITY, "Alice")
    tea = Neuron.create(NeuronType.CONCEPT, "tea")
    link = Synapse.create(alice.id, tea.id, SynapseType.RELATED_TO)
    fiber = Fiber.create([alice.id, tea.id], [link.id], alice.id, content="Alice likes tea")
    await storage.write(
        WriteBatch(insert_neurons=(alice, tea), insert_synapses=(link,), insert_fibers=(fiber,))
    )
    return alice, tea, link, fiber


async def test_deleting_a_neuron_a_fiber_names_is_refused_and_writes_nothing(
    storage: Storage,
) -> None:
    _alice, tea, link, fiber = await _memory(storage)
    spare = Neuron.create(NeuronType.CONCEPT, "spare")
    before = await storage.get_stats()
    with pytest.raises(ValidationError, match="still named by fiber"):
        await storage.write(WriteBatch(insert_neurons=(spare,), delete_neuron_ids=(tea.id,)))
    assert await storage.get_stats() == before
    assert await storage.get_neuron(tea.id) == tea
    assert await storage.get_neuron(spare.id) is None
    assert await storage.get_synapse(link.id) == link
    snapshot = await BrainExporter().export(storage, storage.brain_id)
    assert [f.id for f in snapshot.fibers] == [fiber.id]


async def test_a_neuron_goes_with_its_fiber_in_one_batch(storage: Storage) -> None:
    alice, tea, link, fiber = await _memory(storage)
    await storage.write(WriteBatch(delete_fiber_ids=(fiber.id,), delete_neuron_ids=(tea.id,)))
    assert await storage.get_neuron(tea.id) is None
    assert await storage.get_synapse(link.id) is None  # deleted with its endpoint
    assert await storage.get_neuron(alice.id) == alice


async def test_a_fiber_rewritten_without_the_neuron_lets_it_go(storage: Storage) -> None:
    alice, tea, _, fiber = await _memory(storage)
    rewritten = Fiber.create(
        [alice.id], anchor_neuron_id=alice.id, content=fiber.content, fiber_id=fiber.id
    )
    await storage.write(WriteBatch(update_fibers=(rewritten,), delete_neuron_ids=(tea.id,)))
    assert await storage.get_neuron(tea.id) is None
    assert (await storage.get_fiber(fiber.id)) == rewritten


async def test_a_fiber_written_with_a_neuron_the_batch_deletes_is_refused(
    storage: Storage,
) -> None:
    alice, tea, _, fiber = await _memory(storage)
    bob = Neuron.create(NeuronType.ENTITY, "Bob")
    await storage.add_neuron(bob)
    other = Fiber.create([alice.id, bob.id], anchor_neuron_id=alice.id, content="Alice and Bob")
    before = await storage.get_stats()
    with pytest.raises(ValidationError, match="still named by fiber"):
        await storage.write(WriteBatch(insert_fibers=(other,), delete_neuron_ids=(bob.id,)))
    stale = Fiber.create([alice.id, tea.id], anchor_neuron_id=alice.id, fiber_id=fiber.id)
    with pytest.raises(ValidationError, match="still named by fiber"):
        await storage.write(WriteBatch(update_fibers=(stale,), delete_neuron_ids=(tea.id,)))
    assert await storage.get_stats() == before
    assert await storage.get_fiber(other.id) is None


async def test_an_unused_neuron_can_still_be_deleted(storage: Storage) -> None:
    await _memory(storage)
    orphan = Neuron.create(NeuronType.CONCEPT, "orphan")
    await storage.add_neuron(orphan)
    await storage.write(WriteBatch(delete_neuron_ids=(orphan.id, "never-existed")))
    assert await storage.get_neuron(orphan.id) is None
