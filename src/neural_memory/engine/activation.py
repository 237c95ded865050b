"""Spreading activation over the memory graph (pure functions, no I/O).

The graph is bipartite - fibers bind neurons - plus neuron-to-neuron synapses. One hop goes
fiber -> neuron -> fiber (or neuron -> neuron through a synapse): activation leaves the seed
fibers and anchor neurons, is multiplied by ``hop_decay`` at every hop, and is divided among a
neuron's fibers by its *specificity* so that hubs (a date, a speaker, a common word) carry
little signal. Fan-out is bounded: a neuron bound by more than ``max_fanout`` fibers, or
linked to more than ``max_fanout`` neurons, does not spread, and only the ``frontier_size``
strongest neurons of a hop spread further. Work per
query is therefore bounded by ``hops * frontier_size * max_fanout`` whatever the brain's size.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass

__all__ = ["SpreadParams", "SpreadResult", "spread", "specificity", "trail_weight"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SpreadParams:
    """Knobs of one spreading-activation run."""

    hops: int = 3
    hop_decay: float = 0.5
    min_activation: float = 0.01
    max_fanout: int = 64
    frontier_size: int = 64
    trail: bool = True
    """Weight a fiber's neurons by their place on its pathway (reflex mode)."""


@dataclass(frozen=True, slots=True)
class SpreadResult:
    """Activation reached by every touched fiber and neuron, and each neuron's hop count."""

    fiber_activation: dict[int, float]
    neuron_activation: dict[int, float]
    neuron_hops: dict[int, int]


def specificity(fiber_degree: int) -> float:
    """How much a neuron bound by ``fiber_degree`` fibers tells (1 for a unique neuron)."""
    return 1.0 / math.log2(1.0 + max(1, fiber_degree))


def trail_weight(position: int, length: int) -> float:
    """Weight of the neuron at ``position`` on a pathway of ``length``: the anchor end first."""
    if length <= 1:
        return 1.0
    return 1.0 - 0.5 * position / (length - 1)


def spread(
    *,
    seed_fibers: Mapping[int, float],
    anchor_neurons: Mapping[int, float],
    fiber_neurons: Sequence[Sequence[int]],
    neuron_fibers: Sequence[Sequence[int]],
    adjacency: Sequence[Mapping[int, float]],
    params: SpreadParams,
    quiet_neurons: Container[int] = frozenset(),
) -> SpreadResult:
    """Spread activation from seed fibers and anchor neurons for ``params.hops`` hops.

    ``quiet_neurons`` (e.g. time neurons) receive activation but pass none on to other
    fibers unless they are anchors: sharing a day says little about sharing a topic.
    """
    neuron_act: dict[int, float] = dict(anchor_neurons)
    neuron_hops = dict.fromkeys(anchor_neurons, 0)
    fiber_act: dict[int, float] = {}
    frontier_fibers = dict(seed_fibers)
    frontier_neurons = dict(anchor_neurons)
    for hop in range(1, params.hops + 1):
        reached = _fibers_to_neurons(frontier_fibers, fiber_neurons, params)
        _merge_max(reached, _neurons_to_neurons(frontier_neurons, adjacency, params))
        improved = {
            n: a
            for n, a in reached.items()
            if a >= params.min_activation and a > neuron_act.get(n, 0.0)
        }
        frontier_neurons = _strongest(improved, params.frontier_size)
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
    fibers: Mapping[int, float], fiber_neurons: Sequence[Sequence[int]], params: SpreadParams
) -> dict[int, float]:
    reached: dict[int, float] = {}
    for fiber, activation in fibers.items():
        members = fiber_neurons[fiber]
        for position, neuron in enumerate(members):
            weight = trail_weight(position, len(members)) if params.trail else 1.0
            value = activation * weight * params.hop_decay
            if value > reached.get(neuron, 0.0):
                reached[neuron] = value
    return reached


def _neurons_to_neurons(
    neurons: Mapping[int, float], adjacency: Sequence[Mapping[int, float]], params: SpreadParams
) -> dict[int, float]:
    reached: dict[int, float] = {}
    for neuron, activation in neurons.items():
        neighbours = adjacency[neuron]
        if len(neighbours) > params.max_fanout:
            continue  # a hub: linked to everything, it says nothing in particular
        for other, weight in neighbours.items():
            value = activation * weight * params.hop_decay
            if value > reached.get(other, 0.0):
                reached[other] = value
    return reached


def _neurons_to_fibers(
    neurons: Mapping[int, float], neuron_fibers: Sequence[Sequence[int]], params: SpreadParams
) -> dict[int, float]:
    gained: dict[int, float] = {}
    for neuron, activation in neurons.items():
        fibers = neuron_fibers[neuron]
        if not fibers or len(fibers) > params.max_fanout:
            continue
        value = activation * specificity(len(fibers))
        for fiber in fibers:
            gained[fiber] = gained.get(fiber, 0.0) + value
    return gained


def _merge_max(into: dict[int, float], other: Mapping[int, float]) -> None:
    for key, value in other.items():
        if value > into.get(key, 0.0):
            into[key] = value


def _strongest(values: dict[int, float], limit: int) -> dict[int, float]:
    if len(values) <= limit:
        return values
    return dict(heapq.nlargest(limit, values.items(), key=lambda kv: kv[1]))
