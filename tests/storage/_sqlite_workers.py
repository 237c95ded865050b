"""Functions run in separate (spawned) processes by ``test_sqlite.py``."""

from __future__ import annotations

import asyncio
from multiprocessing.synchronize import Barrier

from neural_memory import Brain
from neural_memory.core import (
    Fiber,
    MemoryType,
    Neuron,
    NeuronType,
    Synapse,
    SynapseType,
    TypedMemory,
)
from neural_memory.storage import SQLiteStorage, WriteBatch

SHARED_NEURONS = 20


def shared_neuron(i: int) -> Neuron:
    return Neuron.create(NeuronType.CONCEPT, f"shared {i % SHARED_NEURONS}")


def shared_synapse() -> Synapse:
    return Synapse.create(shared_neuron(0).id, shared_neuron(1).id, SynapseType.CO_OCCURS)


def write_fibers(path: str, brain_id: str, worker: int, count: int, start: Barrier) -> None:
    """Write ``count`` memories into ``brain_id``, one batch each, as the encoder would."""
    asyncio.run(_write_fibers(path, brain_id, worker, count, start))


async def _write_fibers(path: str, brain_id: str, worker: int, count: int, start: Barrier) -> None:
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        hub = shared_synapse()
        start.wait(timeout=60)
        for i in range(count):
            shared = shared_neuron(i)
            own = Neuron.create(NeuronType.ENTITY, f"worker {worker} item {i}")
            link = Synapse.create(shared.id, own.id, SynapseType.RELATED_TO)
            memory = Fiber.create(
                [shared.id, own.id],
                [link.id],
                fiber_id=f"f-{worker}-{i}",
                content=f"worker {worker} wrote memory {i}",
            )
            await storage.write(
                WriteBatch(
                    ensure_neurons=(shared_neuron(0), shared_neuron(1), shared, own),
                    ensure_synapses=(hub, link),
                    synapse_deltas=((hub.id, 0.001),),
                    insert_fibers=(memory,),
                )
            )


def write_one_memory(path: str, brain_id: str) -> None:
    """Create a brain holding one memory, then let the process end."""
    asyncio.run(_write_one_memory(path, brain_id))


async def _write_one_memory(path: str, brain_id: str) -> None:
    async with SQLiteStorage(path) as storage:
        await storage.save_brain(Brain.create("persisted", brain_id=brain_id))
        storage.set_brain(brain_id)
        alice = Neuron.create(NeuronType.ENTITY, "Alice")
        api = Neuron.create(NeuronType.CONCEPT, "API design")
        link = Synapse.create(alice.id, api.id, SynapseType.INVOLVES)
        memory = Fiber.create([alice.id, api.id], [link.id], fiber_id="f-persisted")
        await storage.write(
            WriteBatch(
                insert_neurons=(alice, api),
                insert_synapses=(link,),
                insert_fibers=(memory,),
                put_typed_memories=(TypedMemory.create(memory.id, MemoryType.DECISION),),
            )
        )
        await storage.set_meta("written-by", "child process")
