"""Forgetting (Ebbinghaus decay) and strengthening (reinforcement), with seed samples."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from neural_memory import BrainConfig, Fiber, Neuron, NeuronType, Synapse, SynapseType
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.lifecycle import DecayManager, ReinforcementManager
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import Storage

T0 = datetime(2024, 1, 1, tzinfo=UTC)


async def add_graph(storage: Storage) -> None:
    await storage.add_neurons(
        [Neuron(id=i, type=NeuronType.CONCEPT, content=i, created_at=T0) for i in ("n1", "n2")]
    )
    await storage.add_synapse(
        Synapse(
            id="s1",
            source_id="n1",
            target_id="n2",
            type=SynapseType.RELATED_TO,
            weight=0.8,
            created_at=T0,
        )
    )


async def test_reinforcement_seed_sample(storage: Storage) -> None:
    await add_graph(storage)
    manager = ReinforcementManager(reinforcement_delta=0.05)

    await manager.reinforce(storage, activated_neurons=["n1", "n2"], activated_synapses=["s1"])

    synapse = await storage.get_synapse("s1")
    neuron = await storage.get_neuron("n1")
    assert synapse is not None and synapse.weight == pytest.approx(0.85)
    assert synapse.reinforced_count == 1
    assert neuron is not None and neuron.access_count == 1


async def test_decay_follows_the_ebbinghaus_curve_and_composes(storage: Storage) -> None:
    await add_graph(storage)
    manager = DecayManager(decay_rate=0.1, prune_threshold=0.01, min_age_days=1.0)
    preview = await manager.apply_decay(storage, dry_run=True, now=T0 + timedelta(days=10))
    assert preview.synapses_decayed == 1 and preview.dry_run
    assert (await storage.get_synapse("s1")).weight == 0.8  # type: ignore[union-attr]
    await manager.apply_decay(storage, now=T0 + timedelta(days=5))
    report = await manager.apply_decay(storage, now=T0 + timedelta(days=10))
    weight = (await storage.get_synapse("s1")).weight  # type: ignore[union-attr]
    assert weight == pytest.approx(0.8 * math.exp(-0.1 * 10), rel=1e-4)
    assert report.neurons_decayed == 2 and report.synapses_decayed == 1


async def test_decay_prunes_dead_synapses_and_orphans_but_never_fibers(storage: Storage) -> None:
    await add_graph(storage)
    await storage.add_neuron(Neuron(id="n3", type=NeuronType.CONCEPT, content="n3", created_at=T0))
    await storage.add_fiber(Fiber.create(neuron_ids={"n3"}, created_at=T0))
    report = await DecayManager().apply_decay(storage, now=T0 + timedelta(days=60))
    assert report.synapses_pruned == 1
    assert report.neurons_pruned == 2  # n1 and n2: weak, unconnected, in no fiber
    assert await storage.get_neuron("n3") is not None  # bound by a fiber
    assert len(await storage.find_fibers()) == 1


async def test_recent_items_are_left_alone(storage: Storage) -> None:
    await add_graph(storage)
    report = await DecayManager(min_age_days=1.0).apply_decay(storage, now=T0 + timedelta(hours=12))
    assert report.neurons_decayed == report.synapses_decayed == 0


async def test_complete_example_decay_report_fields(storage: Storage) -> None:
    report = await DecayManager().apply_decay(storage, dry_run=True)
    print(f"Neurons decayed: {report.neurons_decayed}")
    print(f"Synapses decayed: {report.synapses_decayed}")
    print(f"Neurons pruned: {report.neurons_pruned}")
    assert report.neurons_decayed == report.synapses_decayed == report.neurons_pruned == 0


async def test_recalled_memory_fades_slower_than_a_forgotten_one(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    now = datetime.now(UTC)
    # Learned on different days: not one conversation, so neither lends the other relevance.
    unused = await encoder.encode(
        "The parking spot number is 17", timestamp=now - timedelta(days=2)
    )
    used = await encoder.encode("The wifi password is tangerine42", timestamp=now)
    pipeline = ReflexPipeline(storage, config)
    manager = DecayManager(decay_rate=0.1)
    for day in (1, 3, 7, 14):
        moment = now + timedelta(days=day)
        await pipeline.query("what is the wifi password", reference_time=moment)
        await manager.apply_decay(storage, now=moment + timedelta(hours=1))
    await manager.apply_decay(storage, now=now + timedelta(days=30))
    kept = await storage.get_fiber(used.fiber.id)
    faded = await storage.get_fiber(unused.fiber.id)
    assert kept is not None and faded is not None
    assert kept.conductivity > 2 * faded.conductivity


async def test_a_pruned_synapse_leaves_the_fibers_naming_it(storage: Storage) -> None:
    await add_graph(storage)
    fiber = Fiber.create(neuron_ids={"n1", "n2"}, synapse_ids={"s1"}, created_at=T0)
    await storage.add_fiber(fiber)
    report = await DecayManager().apply_decay(storage, now=T0 + timedelta(days=60))
    assert report.synapses_pruned == 1
    assert await storage.get_synapse("s1") is None
    stored = await storage.get_fiber(fiber.id)
    assert stored is not None and stored.synapse_ids == frozenset()
    assert stored.neuron_ids == fiber.neuron_ids  # its neurons stay: the fiber binds them
