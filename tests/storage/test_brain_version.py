"""get_brain_version: one read telling whether a brain's contents or record changed."""

from __future__ import annotations

import pytest

from neural_memory import Brain, BrainConfig
from neural_memory.core.events import BrainVersion
from neural_memory.errors import BrainNotFoundError
from neural_memory.storage import Storage, WriteBatch
from tests.storage.conftest import OpenStorage
from tests.storage.helpers import neuron


async def test_a_write_moves_the_change_seq_not_the_record(storage: Storage) -> None:
    before = await storage.get_brain_version(storage.brain_id)
    assert before.change_seq == await storage.get_change_seq()
    await storage.write(WriteBatch(insert_neurons=(neuron("a"),)))
    after = await storage.get_brain_version(storage.brain_id)
    assert after.change_seq == await storage.get_change_seq() > before.change_seq
    assert after.record == before.record


async def test_saving_the_brain_again_moves_the_record_not_the_change_seq(
    storage: Storage,
) -> None:
    brain = await storage.get_brain(storage.brain_id)
    assert brain is not None
    before = await storage.get_brain_version(brain.id)
    await storage.save_brain(brain.with_config(BrainConfig(decay_rate=0.4)))
    once = await storage.get_brain_version(brain.id)
    await storage.save_brain(brain.with_name("renamed"))
    twice = await storage.get_brain_version(brain.id)
    assert before.record < once.record < twice.record
    assert before.change_seq == once.change_seq == twice.change_seq
    assert await storage.get_brain_version(brain.id) == twice  # reading changes nothing


async def test_versions_are_per_brain(open_storage: OpenStorage) -> None:
    first, second = Brain.create("first"), Brain.create("second")
    async with open_storage() as storage:
        await storage.save_brain(first)
        await storage.save_brain(second)
        untouched = await storage.get_brain_version(second.id)
        await storage.save_brain(first.with_name("first, renamed"))
        async with storage.using_brain(first.id):
            await storage.write(WriteBatch(insert_neurons=(neuron("x"),)))
        assert await storage.get_brain_version(second.id) == untouched
        assert isinstance(untouched, BrainVersion)


async def test_unknown_or_deleted_brain_has_no_version(storage: Storage) -> None:
    with pytest.raises(BrainNotFoundError):
        await storage.get_brain_version("no-such-brain")
    brain_id = storage.brain_id
    await storage.get_brain_version(brain_id)
    assert await storage.delete_brain(brain_id)
    with pytest.raises(BrainNotFoundError):
        await storage.get_brain_version(brain_id)


async def test_a_brain_created_again_under_its_id_is_a_new_generation(
    open_storage: OpenStorage,
) -> None:
    brain = Brain.create("again")
    async with open_storage() as storage:
        await storage.save_brain(brain)
        async with storage.using_brain(brain.id):
            await storage.write(WriteBatch(insert_neurons=(neuron("a"), neuron("b"))))
        await storage.save_brain(brain.with_name("renamed"))
        old = await storage.get_brain_version(brain.id)
        assert await storage.delete_brain(brain.id)
        await storage.save_brain(brain)  # the very same record, created again
        new = await storage.get_brain_version(brain.id)
        assert new.generation > old.generation
        assert (new.change_seq, new.record) < (old.change_seq, old.record)  # counting again
        assert await storage.delete_brain(brain.id)
        await storage.create_brain(brain, WriteBatch(insert_neurons=(neuron("c"),)))
        third = await storage.get_brain_version(brain.id)
        assert third.generation > new.generation


async def test_the_generation_stays_while_the_brain_lives(storage: Storage) -> None:
    brain = await storage.get_brain(storage.brain_id)
    assert brain is not None
    before = await storage.get_brain_version(brain.id)
    await storage.write(WriteBatch(insert_neurons=(neuron("a"),)))
    await storage.save_brain(brain.with_name("renamed"))
    assert (await storage.get_brain_version(brain.id)).generation == before.generation
