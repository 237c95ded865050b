"""Functions run in separate (spawned) processes by ``test_postgres.py``."""

from __future__ import annotations

import asyncio
from multiprocessing.synchronize import Barrier

from neural_memory.core import Fiber, Neuron, NeuronType, Synapse, SynapseType
from neural_memory.storage import PostgresStorage, WriteBatch
from tests.storage._sqlite_workers import shared_neuron, shared_synapse


def write_fibers(
    dsn: str, schema: str, brain_id: str, worker: int, count: int, start: Barrier
) -> None:
    """Write ``count`` memories into ``brain_id``, one batch each, as the encoder would."""
    asyncio.run(_write_fibers(dsn, schema, brain_id, worker, count, start))


async def _write_fibers(
    dsn: str, schema: str, brain_id: str, worker: int, count: int, start: Barrier
) -> None:
    async with PostgresStorage(dsn, schema=schema, max_connections=2) as storage:
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
