"""The one spreading-activation core, and its wrappers, compute what the three old ones did.

The oracles (``activation_oracles``) are verbatim copies of the engine's ``spread``, the
seed's ``ReflexActivation`` trail and neuram's ``spread_activation`` as they were before they
became wrappers over :mod:`neural_memory.engine.activation`; random graphs check that nothing
changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from neural_memory import Brain, BrainConfig, Fiber
from neural_memory.engine.activation import SpreadParams, spread, spread_max
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.reflex_activation import ReflexActivation, trail
from neural_memory.engine.retrieval import DepthLevel, ReflexPipeline
from neural_memory.storage import InMemoryStorage
from neuram.activation import spread_activation
from tests.engine import activation_oracles as old

Associations = dict[str, list[tuple[str, float]]]
unit = st.floats(min_value=0.0, max_value=1.0)
weights = st.floats(min_value=0.01, max_value=1.0)


@st.composite
def memory_graphs(draw: st.DrawFn) -> dict[str, object]:
    """A random bipartite memory graph with synapses, seeds, anchors and spread knobs."""
    n_neurons = draw(st.integers(1, 12))
    n_fibers = draw(st.integers(1, 10))
    neuron = st.integers(0, n_neurons - 1)
    fiber_neurons = [
        tuple(draw(st.lists(neuron, min_size=1, max_size=6, unique=True))) for _ in range(n_fibers)
    ]
    return {
        "seed_fibers": draw(st.dictionaries(st.integers(0, n_fibers - 1), unit, max_size=4)),
        "anchor_neurons": draw(st.dictionaries(neuron, unit, max_size=3)),
        "fiber_neurons": fiber_neurons,
        "neuron_fibers": [
            [f for f, members in enumerate(fiber_neurons) if n in members] for n in range(n_neurons)
        ],
        "adjacency": [draw(st.dictionaries(neuron, weights, max_size=4)) for _ in range(n_neurons)],
        "quiet_neurons": draw(st.frozensets(neuron, max_size=3)),
        "params": SpreadParams(
            hops=draw(st.integers(1, 5)),
            hop_decay=draw(st.floats(0.1, 1.0)),
            min_activation=draw(st.floats(0.0, 0.3)),
            max_fanout=draw(st.integers(1, 8)),
            frontier_size=draw(st.integers(1, 8)),
            trail=draw(st.booleans()),
        ),
    }


def _close(a: Mapping[object, float], b: Mapping[object, float]) -> bool:
    return a.keys() == b.keys() and all(math.isclose(a[k], b[k], abs_tol=1e-12) for k in a)


@settings(max_examples=100, deadline=None)
@given(memory_graphs())
def test_engine_spread_is_unchanged(graph: dict[str, object]) -> None:
    new = spread(**graph)  # type: ignore[arg-type]
    was = old.spread(**graph)  # type: ignore[arg-type]
    assert _close(new.fiber_activation, was.fiber_activation)
    assert _close(new.neuron_activation, was.neuron_activation)
    assert new.neuron_hops == was.neuron_hops


@st.composite
def association_graphs(draw: st.DrawFn) -> tuple[dict[str, float], Associations]:
    """Random engram ids with weighted associations, and seed activations."""
    ids = [f"e{i}" for i in range(draw(st.integers(1, 10)))]
    engram = st.sampled_from(ids)
    edges = {i: draw(st.lists(st.tuples(engram, weights), max_size=4)) for i in ids}
    seeds = draw(st.dictionaries(engram, unit, max_size=4))
    return seeds, edges


@settings(max_examples=100, deadline=None)
@given(association_graphs(), st.floats(0.1, 1.0), st.integers(0, 4))
def test_neuram_spread_is_unchanged(
    graph: tuple[dict[str, float], Associations], decay: float, hops: int
) -> None:
    seeds, edges = graph
    new = spread_activation(seeds, edges.__getitem__, decay=decay, hops=hops)  # type: ignore[arg-type]
    was = old.spread_activation(seeds, edges.__getitem__, decay=decay, hops=hops)
    assert _close(new, was)


NEURONS = ["a", "b", "c", "d", "e", "f", "g"]
REFERENCE = datetime(2024, 5, 1, tzinfo=UTC)


@st.composite
def pathway_fibers(draw: st.DrawFn) -> list[Fiber]:
    """Fibers whose pathways run through a small alphabet of neurons (repeats allowed)."""
    fibers = []
    for _ in range(draw(st.integers(0, 5))):
        pathway = draw(st.lists(st.sampled_from(NEURONS), min_size=1, max_size=7))
        days = draw(st.none() | st.integers(-90, 90))
        fiber = Fiber.create(
            neuron_ids=set(pathway),
            pathway=pathway,
            occurred_at=None if days is None else REFERENCE + timedelta(days=days),
        )
        fibers.append(fiber.with_conductivity(draw(unit)))
    return fibers


configs = st.builds(
    BrainConfig,
    activation_threshold=st.floats(0.01, 1.0),
    max_spread_hops=st.integers(1, 6),
)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(NEURONS), max_size=3, unique=True),
    pathway_fibers(),
    st.none() | st.just(REFERENCE),
    configs,
)
def test_trail_is_unchanged(
    anchors: list[str], fibers: list[Fiber], reference: datetime | None, config: BrainConfig
) -> None:
    new = trail(anchors, fibers, reference, config)
    was = old.trail(anchors, fibers, reference, config)
    assert new.keys() == was.keys()
    for neuron_id, result in new.items():
        assert math.isclose(result.activation_level, was[neuron_id].activation_level, abs_tol=2e-6)
        assert result.hop_distance == was[neuron_id].hop_distance
        assert result.path[0] == result.source_anchor and result.path[-1] == neuron_id
        assert len(result.path) == result.hop_distance + 1


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.lists(st.sampled_from(NEURONS), min_size=1, max_size=3), max_size=4),
    pathway_fibers(),
    configs,
    st.integers(1, 3),
)
def test_co_activation_is_unchanged(
    anchor_sets: list[list[str]], fibers: list[Fiber], config: BrainConfig, min_sets: int
) -> None:
    reflex = ReflexActivation(InMemoryStorage(), config)
    per_set = [trail(s, fibers, None, config) for s in anchor_sets]
    new = reflex.find_co_activated(per_set, min_sets=min_sets)
    was = old.find_co_activated(per_set, config, min_sets=min_sets)
    assert [
        (c.neuron_ids, c.co_fire_count, c.binding_strength, list(c.source_anchors)) for c in new
    ] == was


def test_spread_max_keeps_the_strongest_signal_and_the_first_hop() -> None:
    edges = {"q": [("a", 1.0), ("b", 0.2)], "a": [("b", 1.0)], "b": []}
    reached = spread_max({"q": 1.0}, edges.__getitem__, decay=0.5, hops=3, min_activation=0.01)
    assert reached.activation == {"q": 1.0, "a": 0.5, "b": 0.25}
    assert reached.hops == {"q": 0, "a": 1, "b": 1}  # first reached in hop 1, bettered in hop 2
    brief = spread_max({"q": 1.0}, edges.__getitem__, decay=0.5, hops=1, min_activation=0.2)
    assert brief.activation == {"q": 1.0, "a": 0.5}


async def test_a_trail_reaching_the_start_of_a_pathway_backwards_has_its_whole_path() -> None:
    reflex = ReflexActivation(InMemoryStorage(), Brain.create("b").config)
    fiber = Fiber.create(neuron_ids={"a", "b", "c"}, pathway=["a", "b", "c"])
    results = await reflex.activate_trail(["c"], [fiber])
    assert results["a"].path == ("c", "b", "a") and results["a"].hop_distance == 2


async def test_recall_binds_what_two_anchors_reach_through_different_memories() -> None:
    storage = InMemoryStorage()
    brain = Brain.create("b")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config)
    await encoder.encode("Alice moved to Lisbon in spring", timestamp=REFERENCE)
    await encoder.encode("Bob opened a bakery in Lisbon", timestamp=REFERENCE + timedelta(days=9))
    result = await ReflexPipeline(storage, brain.config, reinforce=False).query(
        "Alice Bob", DepthLevel.INSTANT, reference_time=REFERENCE + timedelta(days=30)
    )
    assert len(result.anchors) == 2
    (binding,) = result.co_activations
    assert binding.co_fire_count == 2 and binding.binding_strength == 1.0
    assert set(binding.source_anchors) == set(result.anchors)
    lisbon = {n.id for n in await storage.find_neurons(content="lisbon")}
    assert lisbon and lisbon <= binding.neuron_ids
