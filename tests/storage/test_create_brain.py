"""Storage.create_brain: a brain and its first batch appear together, or not at all."""

from __future__ import annotations

import asyncio

import pytest

from neural_memory import AlreadyExistsError, Brain, NotFoundError
from neural_memory.core import Fiber, Neuron, NeuronType
from neural_memory.storage import Storage, WriteBatch
from tests.storage.conftest import OpenStorage


def _contents(tag: str) -> WriteBatch:
    neurons = tuple(Neuron.create(NeuronType.CONCEPT, f"{tag} {i}") for i in range(20))
    fiber = Fiber.create([n.id for n in neurons], anchor_neuron_id=neurons[0].id, content=tag)
    return WriteBatch(insert_neurons=neurons, insert_fibers=(fiber,))


async def _neuron_contents(storage: Storage, brain_id: str) -> set[str]:
    async with storage.using_brain(brain_id):
        return {neuron.content for neuron in await storage.find_neurons()}


async def test_a_brain_is_created_with_its_contents(open_storage: OpenStorage) -> None:
    async with open_storage() as storage:
        brain = Brain.create("new", brain_id="b-new")
        seq = await storage.create_brain(brain, _contents("alpha"))
        assert seq > 0
        assert await storage.get_brain("b-new") == brain
        assert len(await _neuron_contents(storage, "b-new")) == 20
        assert await storage.create_brain(Brain.create("empty", brain_id="b-empty")) == 0
        assert [b.id for b in await storage.list_brains()] == ["b-new", "b-empty"]


async def test_a_taken_id_is_refused_and_left_untouched(open_storage: OpenStorage) -> None:
    async with open_storage() as storage:
        await storage.create_brain(Brain.create("first", brain_id="b"), _contents("alpha"))
        with pytest.raises(AlreadyExistsError):
            await storage.create_brain(Brain.create("second", brain_id="b"), _contents("beta"))
        stored = await storage.get_brain("b")
        assert stored is not None and stored.name == "first"
        assert all(c.startswith("alpha") for c in await _neuron_contents(storage, "b"))


async def test_a_failing_batch_leaves_no_brain(open_storage: OpenStorage) -> None:
    async with open_storage() as storage:
        missing = Neuron.create(NeuronType.CONCEPT, "never stored")
        broken = Fiber.create([missing.id], anchor_neuron_id=missing.id)
        await storage.create_brain(Brain.create("x", brain_id="b"), _contents("a"))
        with pytest.raises(NotFoundError):
            await storage.create_brain(
                Brain.create("y", brain_id="b2"), WriteBatch(insert_fibers=(broken,))
            )
        assert await storage.get_brain("b2") is None
        assert [b.id for b in await storage.list_brains()] == ["b"]


async def test_concurrent_creations_of_one_id_leave_one_complete_brain(
    open_storage: OpenStorage,
) -> None:
    async with open_storage() as storage:
        tags = ("alpha", "beta", "gamma")
        outcomes = await asyncio.gather(
            *(
                storage.create_brain(Brain.create(tag, brain_id="b"), _contents(tag))
                for tag in tags
            ),
            return_exceptions=True,
        )
        errors = [o for o in outcomes if isinstance(o, BaseException)]
        assert len(errors) == 2 and all(isinstance(e, AlreadyExistsError) for e in errors)
        winner = tags[next(i for i, o in enumerate(outcomes) if isinstance(o, int))]
        contents = await _neuron_contents(storage, "b")
        assert contents == {f"{winner} {i}" for i in range(20)}
