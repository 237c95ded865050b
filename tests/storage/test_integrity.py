"""Referential integrity in every batch: no record is ever left naming one that is gone."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import replace

import pytest

from neural_memory import ValidationError
from neural_memory.core import Fiber, Neuron, NeuronType, Synapse, SynapseType
from neural_memory.core.typed_memory import MemoryType, TypedMemory
from neural_memory.errors import NotFoundError
from neural_memory.sharing import BrainExporter, BrainImporter
from neural_memory.storage import InMemoryStorage, Storage, WriteBatch


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


# -- every other reference: typed memories, supersession, a fiber's synapses ---------------


async def _refused(storage: Storage, batch: WriteBatch, error: type[Exception], match: str) -> None:
    """``batch`` raises ``error`` and leaves the brain as it was."""
    before = await storage.get_stats()
    seq = await storage.get_change_seq()
    with pytest.raises(error, match=match):
        await storage.write(batch)
    assert await storage.get_stats() == before
    assert await storage.get_change_seq() == seq


async def test_a_typed_memory_needs_its_fiber(storage: Storage) -> None:
    _alice, _tea, _link, fiber = await _memory(storage)
    orphan = TypedMemory.create("f-missing", MemoryType.FACT)
    await _refused(
        storage, WriteBatch(put_typed_memories=(orphan,)), NotFoundError, "missing fiber"
    )
    doomed = TypedMemory.create(fiber.id, MemoryType.FACT)
    batch = WriteBatch(put_typed_memories=(doomed,), delete_fiber_ids=(fiber.id,))
    await _refused(storage, batch, NotFoundError, "missing fiber")
    await storage.add_typed_memory(TypedMemory.create(fiber.id, MemoryType.FACT))


async def test_a_typed_memory_goes_with_its_fiber(storage: Storage) -> None:
    _alice, _tea, _link, fiber = await _memory(storage)
    memory = TypedMemory.create(fiber.id, MemoryType.DECISION)
    await storage.add_typed_memory(memory)
    await storage.write(WriteBatch(delete_fiber_ids=(fiber.id,)))
    assert await storage.get_typed_memory(memory.id) is None
    assert await storage.find_typed_memories(include_expired=True) == []


async def test_a_typed_memory_moved_to_another_fiber_stays(storage: Storage) -> None:
    alice, _tea, _link, fiber = await _memory(storage)
    other = Fiber.create([alice.id], anchor_neuron_id=alice.id, content="Alice")
    memory = TypedMemory.create(fiber.id, MemoryType.FACT)
    await storage.write(WriteBatch(insert_fibers=(other,), put_typed_memories=(memory,)))
    moved = replace(memory, fiber_id=other.id)
    await storage.write(WriteBatch(put_typed_memories=(moved,), delete_fiber_ids=(fiber.id,)))
    assert await storage.get_typed_memory(memory.id) == moved


async def _versions(storage: Storage) -> tuple[Fiber, Fiber]:
    """An old statement superseded by a new one."""
    alice, tea, _link, old = await _memory(storage)
    new = Fiber.create([alice.id, tea.id], anchor_neuron_id=alice.id, content="Alice likes coffee")
    await storage.write(WriteBatch(insert_fibers=(new,), update_fibers=(old.superseded(new.id),)))
    stored = await storage.get_fiber(old.id)
    assert stored is not None and stored.superseded_by == new.id
    return stored, new


async def test_a_fiber_can_only_be_superseded_by_a_stored_fiber(storage: Storage) -> None:
    _alice, _tea, _link, fiber = await _memory(storage)
    ghost = WriteBatch(update_fibers=(fiber.superseded("f-missing"),))
    await _refused(storage, ghost, NotFoundError, "superseded by missing fiber")
    itself = WriteBatch(update_fibers=(fiber.superseded(fiber.id),))
    await _refused(storage, itself, ValidationError, "cannot supersede itself")


async def test_deleting_the_newer_version_is_refused_while_the_old_names_it(
    storage: Storage,
) -> None:
    old, new = await _versions(storage)
    await _refused(
        storage, WriteBatch(delete_fiber_ids=(new.id,)), ValidationError, "still supersedes"
    )
    current_again = replace(old, superseded_by=None)
    await storage.write(WriteBatch(update_fibers=(current_again,), delete_fiber_ids=(new.id,)))
    assert await storage.get_fiber(old.id) == current_again
    assert await storage.get_fiber(new.id) is None


async def test_a_whole_supersession_chain_goes_in_one_batch(storage: Storage) -> None:
    old, new = await _versions(storage)
    await storage.write(WriteBatch(delete_fiber_ids=(new.id, old.id)))
    assert await storage.get_fibers([old.id, new.id]) == {}


async def test_a_fiber_needs_its_synapses_between_its_neurons(storage: Storage) -> None:
    alice, tea, link, fiber = await _memory(storage)
    bob = Neuron.create(NeuronType.ENTITY, "Bob")
    knows = Synapse.create(alice.id, bob.id, SynapseType.RELATED_TO)
    await storage.write(WriteBatch(insert_neurons=(bob,), insert_synapses=(knows,)))
    ghost = replace(fiber, synapse_ids=frozenset({link.id, "s-missing"}))
    await _refused(storage, WriteBatch(update_fibers=(ghost,)), NotFoundError, "missing synapse")
    foreign = replace(fiber, synapse_ids=frozenset({knows.id}))
    await _refused(storage, WriteBatch(update_fibers=(foreign,)), ValidationError, "does not join")
    pruned = WriteBatch(update_fibers=(fiber,), delete_synapse_ids=(link.id,))
    await _refused(storage, pruned, NotFoundError, "missing synapse")
    with_bob = replace(
        fiber, neuron_ids=fiber.neuron_ids | {bob.id}, synapse_ids=frozenset({link.id, knows.id})
    )
    await storage.write(WriteBatch(update_fibers=(with_bob,)))
    assert await storage.get_fiber(fiber.id) == with_bob
    assert tea.id in with_bob.neuron_ids


async def test_deleting_a_synapse_a_fiber_names_is_refused(storage: Storage) -> None:
    _alice, _tea, link, fiber = await _memory(storage)
    await _refused(
        storage, WriteBatch(delete_synapse_ids=(link.id,)), ValidationError, "still named"
    )
    unlinked = replace(fiber, synapse_ids=frozenset())
    await storage.write(WriteBatch(update_fibers=(unlinked,), delete_synapse_ids=(link.id,)))
    assert await storage.get_synapse(link.id) is None
    assert await storage.get_fiber(fiber.id) == unlinked


async def test_a_synapse_keeps_its_ends(storage: Storage) -> None:
    alice, tea, link, _fiber = await _memory(storage)
    turned = replace(link, source_id=tea.id, target_id=alice.id)
    await _refused(
        storage, WriteBatch(update_synapses=(turned,)), ValidationError, "cannot change its ends"
    )
    heavier = link.with_weight(0.9)
    await storage.write(WriteBatch(update_synapses=(heavier,)))
    assert await storage.get_synapse(link.id) == heavier


async def test_a_brain_with_every_reference_exports_and_imports(storage: Storage) -> None:
    old, new = await _versions(storage)
    await storage.add_typed_memory(TypedMemory.create(new.id, MemoryType.FACT))
    snapshot = await BrainExporter().export(storage, storage.brain_id)
    copy = InMemoryStorage()
    await BrainImporter().import_brain(copy, snapshot, "copy")
    copy.set_brain("copy")
    assert await copy.get_fiber(old.id) == old
    assert len(await copy.find_typed_memories(include_expired=True)) == 1


async def test_racing_writers_never_leave_a_successor_dangling(storage: Storage) -> None:
    alice, tea, _link, _fiber = await _memory(storage)

    async def attempt(batch: WriteBatch) -> None:
        with contextlib.suppress(NotFoundError, ValidationError):
            await storage.write(batch)

    for round_ in range(8):
        old = Fiber.create([alice.id], anchor_neuron_id=alice.id, content=f"old {round_}")
        new = Fiber.create([tea.id], anchor_neuron_id=tea.id, content=f"new {round_}")
        await storage.write(WriteBatch(insert_fibers=(old, new)))
        await asyncio.gather(
            attempt(WriteBatch(delete_fiber_ids=(new.id,))),
            attempt(WriteBatch(update_fibers=(old.superseded(new.id),))),
        )
        stored = await storage.get_fiber(old.id)
        assert stored is not None
        if stored.superseded_by is not None:
            assert await storage.get_fiber(stored.superseded_by) is not None
