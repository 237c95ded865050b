"""Random write batches give every backend exactly the state InMemoryStorage (the reference) has.

Each step applies the same batch to the reference and to the backend under test and compares
the outcome (new seq, or the error type); every few steps the whole brain is compared through
the public read methods. A short change log makes trimming part of the comparison.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any

import pytest

import neural_memory.storage.memory as memory_module
from neural_memory import Brain
from neural_memory.core import (
    Fiber,
    MemoryType,
    Neuron,
    NeuronType,
    Priority,
    Project,
    Synapse,
    SynapseType,
    TypedMemory,
)
from neural_memory.errors import NeuralMemoryError
from neural_memory.storage import InMemoryStorage, Storage, WriteBatch
from tests.storage.helpers import at

NEURON_IDS = [f"n-{i:02d}" for i in range(12)]
FIBER_IDS = [f"f-{i}" for i in range(8)]
MEMORY_IDS = [f"tm-{i}" for i in range(5)]
PROJECT_IDS = [f"p-{i}" for i in range(3)]


def _neuron(rng: random.Random, step: int) -> Neuron:
    return Neuron(
        id=rng.choice(NEURON_IDS),
        type=rng.choice([NeuronType.CONCEPT, NeuronType.ENTITY]),
        content=rng.choice(["Alice", "alice", "API", "design", "Bob"]),
        metadata={"step": step} if rng.random() < 0.3 else None,
        created_at=at(rng.randrange(5)),
        activation=rng.choice([0.0, 0.5, 1.0]),
    )


def _synapse(rng: random.Random, step: int) -> Synapse:
    source, target = rng.sample(NEURON_IDS[:8], 2)
    kind = rng.choice([SynapseType.RELATED_TO, SynapseType.CAUSED_BY])
    return Synapse.create(
        source, target, kind, weight=rng.choice([0.1, 0.5, 0.9]), created_at=at(step % 7)
    )


def _fiber(rng: random.Random, step: int) -> Fiber:
    neurons = rng.sample(NEURON_IDS[:9], rng.randint(1, 3))
    return Fiber.create(
        neurons,
        fiber_id=rng.choice(FIBER_IDS),
        tags=rng.sample(["a", "b", "c"], rng.randint(0, 2)),
        created_at=at(rng.randrange(6)),
        content=f"step {step}",
    )


def _typed_memory(rng: random.Random, step: int) -> TypedMemory:
    return TypedMemory(
        id=rng.choice(MEMORY_IDS),
        fiber_id=rng.choice(FIBER_IDS),
        memory_type=rng.choice([MemoryType.FACT, MemoryType.TODO]),
        priority=rng.choice(list(Priority)),
        expires_at=at(step + rng.randint(-5, 5)) if rng.random() < 0.5 else None,
        tags=frozenset(rng.sample(["x", "y"], rng.randint(0, 2))),
        project_id=rng.choice([None, *PROJECT_IDS]),
        created_at=at(rng.randrange(4)),
    )


def _some(rng: random.Random, make: Any, step: int, chance: float) -> tuple[Any, ...]:
    if rng.random() > chance:
        return ()
    return tuple(make(rng, step) for _ in range(rng.randint(1, 3)))


def random_batch(rng: random.Random, step: int) -> WriteBatch:
    """A batch touching a few of a small pool of ids, so conflicts and overlaps are common."""
    synapse_pool = [_synapse(rng, step).id for _ in range(3)] + ["s-unknown"]
    return WriteBatch(
        insert_neurons=_some(rng, _neuron, step, 0.2),
        ensure_neurons=_some(rng, _neuron, step, 0.6),
        update_neurons=_some(rng, _neuron, step, 0.15),
        insert_synapses=_some(rng, _synapse, step, 0.2),
        ensure_synapses=_some(rng, _synapse, step, 0.5),
        update_synapses=_some(rng, _synapse, step, 0.1),
        synapse_deltas=tuple(
            (rng.choice(synapse_pool), rng.choice([-0.3, 0.05, 0.2])) for _ in range(2)
        )
        if rng.random() < 0.5
        else (),
        deltas_at=at(step),
        insert_fibers=_some(rng, _fiber, step, 0.3),
        update_fibers=_some(rng, _fiber, step, 0.1),
        put_typed_memories=_some(rng, _typed_memory, step, 0.2),
        put_projects=tuple(
            Project(id=rng.choice(PROJECT_IDS), name=f"p{step}", created_at=at(step % 3))
            for _ in range(rng.random() < 0.15)
        ),
        delete_fiber_ids=tuple(rng.sample(FIBER_IDS, 1)) if rng.random() < 0.1 else (),
        delete_synapse_ids=tuple(rng.sample(synapse_pool, 1)) if rng.random() < 0.1 else (),
        delete_neuron_ids=tuple(rng.sample(NEURON_IDS, 1)) if rng.random() < 0.1 else (),
        delete_typed_memory_ids=tuple(rng.sample(MEMORY_IDS, 1)) if rng.random() < 0.1 else (),
        delete_project_ids=tuple(rng.sample(PROJECT_IDS, 1)) if rng.random() < 0.05 else (),
    )


async def snapshot(storage: Storage, step: int) -> dict[str, object]:
    """Everything a caller can read about the current brain."""
    seq = await storage.get_change_seq()
    return {
        "neurons": await storage.find_neurons(),
        "by content": await storage.find_neurons(content="ALICE"),
        "entities": await storage.find_neurons(type=NeuronType.ENTITY, limit=3),
        "synapses": await storage.get_synapses(),
        "touching": await storage.get_synapses_for_neurons(NEURON_IDS[:4]),
        "from n-00": await storage.get_synapses(source_id="n-00"),
        "to n-01": await storage.get_synapses(target_id="n-01", type=SynapseType.CAUSED_BY),
        "fibers": await storage.find_fibers(),
        "fibers by neuron": [await storage.find_fibers(neuron_id=n) for n in NEURON_IDS],
        "tagged": await storage.find_fibers(tags=["a"], limit=2),
        "memories": await storage.find_typed_memories(now=at(step)),
        "all memories": await storage.find_typed_memories(include_expired=True),
        "project memories": await storage.get_project_memories(PROJECT_IDS[0]),
        "by fiber": await storage.get_typed_memories_for_fibers(FIBER_IDS),
        "projects": await storage.list_projects(),
        "seq": seq,
        "changes": [await storage.get_changes(since) for since in (0, seq - 30, seq - 5, seq)],
        "stats": await storage.get_stats(now=at(step)),
    }


async def test_random_batches_match_the_reference(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "CHANGE_LOG_LIMIT", 40)
    brain = await storage.get_brain(storage.brain_id)
    assert brain is not None
    reference = InMemoryStorage()
    await reference.save_brain(brain)
    reference.set_brain(brain.id)
    rng = random.Random(20240501)
    failures = 0
    for step in range(250):
        batch = random_batch(rng, step)
        outcomes: list[object] = []
        for target in (reference, storage):
            try:
                outcomes.append(await target.write(batch))
            except NeuralMemoryError as exc:
                outcomes.append(type(exc))
        failures += not isinstance(outcomes[0], int)
        assert outcomes[0] == outcomes[1], f"step {step}: {batch}"
        if step % 5 == 4:
            assert await snapshot(storage, step) == await snapshot(reference, step), step
    # The walk must exercise both paths: applied batches and refused ones.
    assert 20 < failures < 200
    assert await reference.get_changes(0) is None


async def test_unrelated_brain_is_untouched_by_random_writes(storage: Storage) -> None:
    bystander = Brain.create("bystander", created_at=at(0))
    await storage.save_brain(bystander)
    first = storage.brain_id
    storage.set_brain(bystander.id)
    await storage.add_neuron(Neuron(id="n-00", type=NeuronType.STATE, content="calm"))
    before = await snapshot(storage, 0)
    storage.set_brain(first)
    rng = random.Random(7)
    for step in range(60):
        with contextlib.suppress(NeuralMemoryError):
            await storage.write(random_batch(rng, step))
    storage.set_brain(bystander.id)
    assert await snapshot(storage, 0) == before
