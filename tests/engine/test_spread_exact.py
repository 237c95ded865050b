"""``activation.spread`` returns exactly what it returned before it was made cheaper.

``_reference_spread`` below is a verbatim copy of ``spread`` (and its helpers) as it was
before session 13 rewrote its hop loop for speed. The rewrite must give the same floats, bit
for bit, and the same dict insertion order: ``_strongest`` keeps ties in insertion order, and
recall reads the activation dicts in order.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from itertools import repeat
from operator import itemgetter

from hypothesis import given, settings
from hypothesis import strategies as st

from neural_memory.engine.activation import (
    SpreadParams,
    SpreadResult,
    improved,
    specificity,
    spread,
    trail_weight,
)
from tests.engine.test_activation_core import memory_graphs


def _reference_spread(
    *,
    seed_fibers: Mapping[int, float],
    anchor_neurons: Mapping[int, float],
    fiber_neurons: Sequence[Sequence[int]],
    neuron_fibers: Sequence[Sequence[int]],
    adjacency: Sequence[Mapping[int, float]],
    params: SpreadParams,
    quiet_neurons: Container[int] = frozenset(),
) -> SpreadResult:
    neuron_act: dict[int, float] = dict(anchor_neurons)
    neuron_hops = dict.fromkeys(anchor_neurons, 0)
    fiber_act: dict[int, float] = {}
    frontier_fibers = dict(seed_fibers)
    frontier_neurons = dict(anchor_neurons)
    for hop in range(1, params.hops + 1):
        reached = _fibers_to_neurons(frontier_fibers, fiber_neurons, params)
        _synapses_to_neurons(frontier_neurons, adjacency, params, into=reached)
        better = improved(reached, neuron_act, params.min_activation)
        frontier_neurons = _strongest(better, params.frontier_size)
        for neuron, activation in frontier_neurons.items():
            neuron_act[neuron] = activation
            neuron_hops.setdefault(neuron, hop)
        spreading = {n: a for n, a in frontier_neurons.items() if n not in quiet_neurons}
        if hop == 1:
            spreading.update(anchor_neurons)
        gained = _neurons_to_fibers(spreading, neuron_fibers, params)
        frontier_fibers = {}
        for fiber, gain in gained.items():
            if gain >= params.min_activation:
                fiber_act[fiber] = fiber_act.get(fiber, 0.0) + gain
                frontier_fibers[fiber] = gain
        frontier_fibers = _strongest(frontier_fibers, params.frontier_size)
        if not frontier_fibers and not frontier_neurons:
            break
    return SpreadResult(fiber_act, neuron_act, neuron_hops)


def _fibers_to_neurons(
    frontier: Mapping[int, float], fiber_neurons: Sequence[Sequence[int]], params: SpreadParams
) -> dict[int, float]:
    reached: dict[int, float] = {}
    get = reached.get
    decay = params.hop_decay
    for fiber, activation in frontier.items():
        neurons = fiber_neurons[fiber]
        weights = _trail_weights(len(neurons)) if params.trail else repeat(1.0)
        for neuron, weight in zip(neurons, weights, strict=False):
            value = activation * weight * decay
            if value > get(neuron, 0.0):
                reached[neuron] = value
    return reached


def _synapses_to_neurons(
    frontier: Mapping[int, float],
    adjacency: Sequence[Mapping[int, float]],
    params: SpreadParams,
    *,
    into: dict[int, float],
) -> None:
    get = into.get
    decay = params.hop_decay
    for neuron, activation in frontier.items():
        neighbours = adjacency[neuron]
        if len(neighbours) > params.max_fanout:
            continue
        for other, weight in neighbours.items():
            value = activation * weight * decay
            if value > get(other, 0.0):
                into[other] = value


def _trail_weights(length: int) -> tuple[float, ...]:
    return tuple(trail_weight(position, length) for position in range(length))


def _neurons_to_fibers(
    neurons: Mapping[int, float], neuron_fibers: Sequence[Sequence[int]], params: SpreadParams
) -> dict[int, float]:
    gained: dict[int, float] = {}
    get = gained.get
    for neuron, activation in neurons.items():
        fibers = neuron_fibers[neuron]
        if not fibers or len(fibers) > params.max_fanout:
            continue
        value = activation * specificity(len(fibers))
        for fiber in fibers:
            gained[fiber] = get(fiber, 0.0) + value
    return gained


def _strongest(values: dict[int, float], limit: int) -> dict[int, float]:
    if len(values) <= limit:
        return values
    return dict(sorted(values.items(), key=itemgetter(1), reverse=True)[:limit])


tied = st.sampled_from([0.0, 0.125, 0.25, 0.5, 1.0])
"""Few distinct values: activations tie often, which is where order shows."""


@st.composite
def tied_graphs(draw: st.DrawFn) -> dict[str, object]:
    """A random memory graph whose activations and weights tie often, with small frontiers."""
    n_neurons = draw(st.integers(1, 16))
    n_fibers = draw(st.integers(1, 14))
    neuron = st.integers(0, n_neurons - 1)
    fiber_neurons = [
        tuple(draw(st.lists(neuron, min_size=0, max_size=7, unique=True))) for _ in range(n_fibers)
    ]
    return {
        "seed_fibers": draw(st.dictionaries(st.integers(0, n_fibers - 1), tied, max_size=6)),
        "anchor_neurons": draw(st.dictionaries(neuron, tied, max_size=4)),
        "fiber_neurons": fiber_neurons,
        "neuron_fibers": [
            [f for f, members in enumerate(fiber_neurons) if n in members] for n in range(n_neurons)
        ],
        "adjacency": [draw(st.dictionaries(neuron, tied, max_size=5)) for _ in range(n_neurons)],
        "quiet_neurons": draw(st.frozensets(neuron, max_size=3)),
        "params": SpreadParams(
            hops=draw(st.integers(1, 5)),
            hop_decay=draw(st.sampled_from([0.5, 0.3, 1.0])),
            min_activation=draw(st.sampled_from([0.0, 0.01, 0.1])),
            max_fanout=draw(st.integers(1, 10)),
            frontier_size=draw(st.integers(1, 6)),
            trail=draw(st.booleans()),
        ),
    }


def _same(new: SpreadResult, was: SpreadResult) -> None:
    """Equal values, bit for bit, in the same insertion order."""
    assert list(new.fiber_activation.items()) == list(was.fiber_activation.items())
    assert list(new.neuron_activation.items()) == list(was.neuron_activation.items())
    assert list(new.neuron_hops.items()) == list(was.neuron_hops.items())


@settings(max_examples=300, deadline=None)
@given(memory_graphs())
def test_spread_gives_the_reference_floats_in_the_reference_order(graph: dict[str, object]) -> None:
    _same(spread(**graph), _reference_spread(**graph))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(tied_graphs())
def test_spread_keeps_the_reference_order_of_ties(graph: dict[str, object]) -> None:
    _same(spread(**graph), _reference_spread(**graph))  # type: ignore[arg-type]
