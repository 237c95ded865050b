"""Brain selection: ``using_brain`` selects a brain for a block and restores what was before."""

from __future__ import annotations

import pytest

from neural_memory import Brain
from neural_memory.errors import BrainNotSetError, ValidationError
from tests.storage.conftest import OpenStorage
from tests.storage.helpers import neuron


async def test_using_brain_restores_the_previous_brain(open_storage: OpenStorage) -> None:
    async with open_storage() as storage:
        home, other = Brain.create("home"), Brain.create("other")
        await storage.save_brain(home)
        await storage.save_brain(other)
        storage.set_brain(home.id)
        async with storage.using_brain(other.id) as selected:
            assert selected is storage
            assert storage.brain_id == other.id
            await storage.add_neuron(neuron("only in other"))
        assert storage.brain_id == home.id
        assert await storage.find_neurons() == []
        with pytest.raises(RuntimeError):
            async with storage.using_brain(other.id):
                raise RuntimeError("the block failed")
        assert storage.brain_id == home.id


async def test_using_brain_without_a_previous_brain_leaves_none(open_storage: OpenStorage) -> None:
    async with open_storage() as storage:
        brain = Brain.create("only")
        await storage.save_brain(brain)
        async with storage.using_brain(brain.id):
            assert storage.brain_id == brain.id
        with pytest.raises(BrainNotSetError):
            _ = storage.brain_id
        with pytest.raises(ValidationError):
            async with storage.using_brain(""):
                pass
        with pytest.raises(BrainNotSetError):
            _ = storage.brain_id
