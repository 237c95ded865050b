"""Recall explains itself: the activation path from the query's anchors to each memory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from neural_memory import BrainConfig
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.engine.retrieval.explain import (
    HopKind,
    RowStep,
    SearchBounds,
    activation_paths,
)
from neural_memory.storage import Storage

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

# Neurons 0-5; fiber 0 binds {0, 1}, fiber 1 binds {1, 2}, fiber 2 binds {4, 5};
# a synapse links 2 -> 3.
FIBER_NEURONS = [(0, 1), (1, 2), (4, 5)]
NEURON_FIBERS = [[0], [0, 1], [1], [], [2], [2]]
ADJACENCY: list[dict[int, float]] = [{}, {}, {3: 0.8}, {}, {}, {}]


def paths(anchors: list[int], targets: list[list[int]], **bounds: int) -> list[tuple[RowStep, ...]]:
    return activation_paths(
        anchors=anchors,
        targets=targets,
        fiber_neurons=FIBER_NEURONS,
        neuron_fibers=NEURON_FIBERS,
        adjacency=ADJACENCY,
        bounds=SearchBounds(**bounds),
    )


def test_a_memory_holding_an_anchor_is_reached_in_zero_hops() -> None:
    assert paths([1], [[1, 2]]) == [(RowStep(1, HopKind.ANCHOR),)]


def test_the_path_goes_through_memories_then_synapses() -> None:
    (path,) = paths([0], [[3]])
    assert path == (
        RowStep(0, HopKind.ANCHOR),
        RowStep(1, HopKind.MEMORY, 0),
        RowStep(2, HopKind.MEMORY, 1),
        RowStep(3, HopKind.SYNAPSE),
    )


def test_unreachable_or_too_far_gives_no_path() -> None:
    assert paths([0], [[5]]) == [()]
    assert paths([0], [[3]], max_hops=2) == [()]
    assert paths([], [[0]]) == [()]


def test_the_nearest_neuron_of_the_memory_ends_the_path() -> None:
    (path,) = paths([0], [[3, 1]])
    assert [s.neuron for s in path] == [0, 1]


async def test_recall_with_explain_names_the_bridge(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    await encoder.encode("Priya adopted a greyhound called Comet", timestamp=START)
    await encoder.encode("Comet sleeps on the blue sofa", timestamp=START + timedelta(days=1))
    await encoder.encode("Erin builds pottery on weekends", timestamp=START + timedelta(days=2))
    pipeline = ReflexPipeline(storage, config, reinforce=False)
    plain = await pipeline.query("Which dog did Priya adopt?")
    explained = await pipeline.query("Which dog did Priya adopt?", explain=True)
    assert all(f.why is None for f in plain.fibers)
    by_text = {f.content: f.why for f in explained.fibers}
    adopted = by_text["Priya adopted a greyhound called Comet"]
    assert adopted is not None and adopted.hops == 0 and "Priya" in adopted.anchors
    sofa = by_text["Comet sleeps on the blue sofa"]
    assert sofa is not None and sofa.anchors == ()
    assert [(s.label, s.via) for s in sofa.path] == [
        ("Priya", HopKind.ANCHOR),
        ("Comet", HopKind.SYNAPSE),  # the adoption memory linked Priya to Comet
    ]
