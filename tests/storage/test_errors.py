"""Lifecycle and error behaviour shared by every backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from neural_memory import Brain
from neural_memory.core import MemoryType, TypedMemory
from neural_memory.errors import (
    BrainNotFoundError,
    BrainNotSetError,
    StorageClosedError,
    ValidationError,
)
from neural_memory.storage import Storage, WriteBatch
from tests.storage.conftest import OpenStorage
from tests.storage.helpers import fiber, neuron, synapse

Call = Callable[[Storage], Awaitable[object]]

BRAIN_SCOPED: dict[str, Call] = {
    "write": lambda s: s.write(WriteBatch(insert_neurons=(neuron("a"),))),
    "add_neuron": lambda s: s.add_neuron(neuron("a")),
    "get_neuron": lambda s: s.get_neuron("n-1"),
    "find_neurons": lambda s: s.find_neurons(),
    "get_synapses": lambda s: s.get_synapses(),
    "get_synapses_for_neurons": lambda s: s.get_synapses_for_neurons(["n-1"]),
    "find_fibers": lambda s: s.find_fibers(),
    "get_fiber": lambda s: s.get_fiber("f-1"),
    "add_typed_memory": lambda s: s.add_typed_memory(TypedMemory.create("f", MemoryType.FACT)),
    "find_typed_memories": lambda s: s.find_typed_memories(),
    "list_projects": lambda s: s.list_projects(),
    "get_active_alerts": lambda s: s.get_active_alerts(),
    "get_recall_events": lambda s: s.get_recall_events(),
    "get_meta": lambda s: s.get_meta("k"),
    "set_meta": lambda s: s.set_meta("k", 1),
    "meta_keys": lambda s: s.meta_keys(),
    "get_change_seq": lambda s: s.get_change_seq(),
    "get_changes": lambda s: s.get_changes(0),
    "get_stats": lambda s: s.get_stats(),
}
UNSCOPED: dict[str, Call] = {
    "save_brain": lambda s: s.save_brain(Brain.create("b")),
    "get_brain": lambda s: s.get_brain("b"),
    "list_brains": lambda s: s.list_brains(),
    "delete_brain": lambda s: s.delete_brain("b"),
}


async def test_initialize_is_idempotent_and_async_with_closes(open_storage: OpenStorage) -> None:
    async with open_storage() as storage:
        await storage.initialize()
        await storage.initialize()
        assert not storage.closed
        async with storage as same:
            assert same is storage
        assert storage.closed
        await storage.close()
        assert storage.closed


@pytest.mark.parametrize("call", sorted({**BRAIN_SCOPED, **UNSCOPED}))
async def test_closed_storage_refuses_work(open_storage: OpenStorage, call: str) -> None:
    async with open_storage() as storage:
        brain = Brain.create("b")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await storage.close()
        with pytest.raises(StorageClosedError):
            await {**BRAIN_SCOPED, **UNSCOPED}[call](storage)
        with pytest.raises(StorageClosedError):
            await storage.initialize()


@pytest.mark.parametrize("call", sorted(BRAIN_SCOPED))
async def test_unknown_brain_is_reported(storage: Storage, call: str) -> None:
    storage.set_brain("no-such-brain")
    with pytest.raises(BrainNotFoundError):
        await BRAIN_SCOPED[call](storage)


@pytest.mark.parametrize("call", sorted(BRAIN_SCOPED))
async def test_no_brain_selected_is_reported(open_storage: OpenStorage, call: str) -> None:
    async with open_storage() as storage:
        with pytest.raises(BrainNotSetError):
            await BRAIN_SCOPED[call](storage)
        with pytest.raises(BrainNotSetError):
            _ = storage.brain_id
        # Brain management needs no selected brain.
        for unscoped in UNSCOPED.values():
            await unscoped(storage)


async def test_set_brain_validates_the_id(storage: Storage) -> None:
    for bad in ("", "   ", 42, None):
        with pytest.raises(ValidationError):
            storage.set_brain(bad)


BAD_CALLS: dict[str, Call] = {
    "neuron of wrong type": lambda s: s.add_neuron({"id": "n"}),
    "neurons with a synapse": lambda s: s.add_neurons([neuron("a"), "n"]),
    "synapse of wrong type": lambda s: s.add_synapse(neuron("a")),
    "synapses of wrong type": lambda s: s.add_synapses([None]),
    "fiber of wrong type": lambda s: s.add_fiber("f"),
    "update neuron with synapse": lambda s: s.update_neuron(synapse(neuron("a"), neuron("b"))),
    "update synapse with fiber": lambda s: s.update_synapse(fiber(neuron("a"))),
    "update fiber with neuron": lambda s: s.update_fiber(neuron("a")),
    "project of wrong type": lambda s: s.add_project("p"),
    "ids as one string": lambda s: s.get_neurons("n-1"),
    "fiber ids as one string": lambda s: s.get_fibers("f-1"),
    "non-string id": lambda s: s.get_neurons([1, 2]),
    "empty synapse id": lambda s: s.get_synapse(""),
    "empty typed memory id": lambda s: s.get_typed_memory(""),
    "empty project id": lambda s: s.get_project(""),
    "negative limit": lambda s: s.find_fibers(limit=-1),
    "bool limit": lambda s: s.get_synapses(limit=True),
    "float limit": lambda s: s.get_recall_events(limit=1.5),
    "alert ids as one string": lambda s: s.mark_alerts_seen("a-1"),
    "unknown alert type": lambda s: s.resolve_alerts_by_type(["too_many_cats"]),
    "empty meta key": lambda s: s.get_meta(""),
}


@pytest.mark.parametrize("case", sorted(BAD_CALLS))
async def test_bad_arguments_raise_validation_error(storage: Storage, case: str) -> None:
    with pytest.raises(ValidationError):
        await BAD_CALLS[case](storage)
    assert await storage.get_change_seq() == 0
