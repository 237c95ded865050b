"""ReflexActivation: the seed's trail and co-binding samples, and their semantics."""

from __future__ import annotations

from datetime import datetime

from neural_memory import Brain, Fiber
from neural_memory.engine.reflex_activation import CoActivation, ReflexActivation
from neural_memory.storage import InMemoryStorage


async def test_seed_sample_trail_and_co_binding() -> None:
    storage = InMemoryStorage()
    brain = Brain.create("my-brain")
    fibers = [
        Fiber.create(
            neuron_ids={"time_neuron_1", "a", "b"},
            anchor_neuron_id="time_neuron_1",
            pathway=["time_neuron_1", "a", "b"],
        ),
        Fiber.create(
            neuron_ids={"entity_neuron_2", "b", "c"},
            anchor_neuron_id="entity_neuron_2",
            pathway=["entity_neuron_2", "b", "c"],
        ),
        Fiber.create(neuron_ids={"time_1", "x", "entity_1"}, pathway=["time_1", "x", "entity_1"]),
    ]
    reflex = ReflexActivation(storage, brain.config)

    # Activate along fiber pathways
    results = await reflex.activate_trail(
        anchor_neurons=["time_neuron_1", "entity_neuron_2"],
        fibers=fibers,
        reference_time=datetime.utcnow(),
    )

    # results: dict[str, ActivationResult]
    for neuron_id, result in results.items():
        print(f"{neuron_id}: level={result.activation_level}, hops={result.hop_distance}")

    assert results["time_neuron_1"].activation_level == 1.0
    assert results["a"].hop_distance == 1 and results["b"].hop_distance == 1
    assert results["a"].activation_level > results["c"].activation_level
    assert "x" not in results

    # Combined activation with co-activation detection
    activations, co_activations = await reflex.activate_with_co_binding(
        anchor_sets=[["time_1"], ["entity_1"]],
        fibers=fibers,
    )
    assert {"time_1", "entity_1", "x"} <= activations.keys()
    assert any("x" in co.neuron_ids and co.co_fire_count == 2 for co in co_activations)
    assert all(co.binding_strength == 1.0 for co in co_activations)


def test_co_activation_seed_sample() -> None:
    co = CoActivation(
        neuron_ids=frozenset(["n1", "n2"]),
        temporal_window_ms=500,
        co_fire_count=3,  # Activated by 3 anchor sets
        binding_strength=1.0,  # 3/3 = perfect co-activation
        source_anchors=["time_1", "entity_1", "concept_1"],
    )
    assert co.co_fire_count == 3 and co.neuron_ids == {"n1", "n2"}


async def test_low_conductivity_fibers_carry_less() -> None:
    reflex = ReflexActivation(InMemoryStorage(), Brain.create("b").config)
    strong = Fiber.create(neuron_ids={"q", "s"}, pathway=["q", "s"])
    weak = Fiber.create(neuron_ids={"q", "w"}, pathway=["q", "w"]).with_conductivity(0.3)
    results = await reflex.activate_trail(["q"], [strong, weak])
    assert results["s"].activation_level > results["w"].activation_level
