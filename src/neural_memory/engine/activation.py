"""Spreading activation: the one core every activation in the library runs on (pure, no I/O).

One hop is :func:`propagate`: activation leaves each node of the frontier along its weighted
edges, multiplied by the edge weight and a per-hop decay, and a node reached several ways
keeps the strongest signal (max, not sum, so hubs do not pile up activation). Only nodes the
hop *improved* (:func:`improved`) spread further. On that step rest

- :func:`spread_max`: hops over one weighted graph (neuram's engram associations, and the
  seed's trail along a fiber's pathway, :mod:`neural_memory.engine.reflex_activation`);
- :func:`spread`: the recall pipeline's hops over the memory graph, which is bipartite -
  fibers bind neurons - plus neuron-to-neuron synapses. One hop goes fiber -> neuron -> fiber
  (or neuron -> neuron through a synapse), and activation reaching fibers from neurons is
  divided by each neuron's *specificity* so that hubs (a date, a speaker, a common word) carry
  little signal. Fan-out is bounded: a neuron bound by more than ``max_fanout`` fibers, or
  linked to more than ``max_fanout`` neurons, does not spread, and only the ``frontier_size``
  strongest neurons of a hop spread further. Work per query is therefore bounded by
  ``hops * frontier_size * max_fanout`` whatever the brain's size.

:func:`co_activations` finds what several anchor sets activated together (Hebbian binding).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Container, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter
from typing import Generic, TypeVar

__all__ = [
    "CoActivation",
    "Edges",
    "MaxSpread",
    "SpreadParams",
    "SpreadResult",
    "co_activations",
    "improved",
    "propagate",
    "specificity",
    "spread",
    "spread_max",
    "trail_weight",
]

K = TypeVar("K", bound=Hashable)

Edges = Callable[[K], Iterable[tuple[K, float]]]
"""A graph as a function: a node's ``(neighbour, weight)`` pairs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CoActivation:
    """Neurons that fired together from several anchor sets.

    Attributes:
        neuron_ids: The co-firing neurons.
        temporal_window_ms: The window the firing counts as simultaneous in.
        co_fire_count: How many anchor sets activated them.
        binding_strength: ``co_fire_count`` / number of anchor sets (1.0 = all of them).
        source_anchors: The anchors whose signals met here.
    """

    neuron_ids: frozenset[str]
    temporal_window_ms: int = 500
    co_fire_count: int = 1
    binding_strength: float = 0.0
    source_anchors: Sequence[str] = ()


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


@dataclass(frozen=True, slots=True)
class MaxSpread(Generic[K]):
    """What :func:`spread_max` reached: each node's activation and the hop it was first reached."""

    activation: dict[K, float]
    hops: dict[K, int]


def specificity(fiber_degree: int) -> float:
    """How much a neuron bound by ``fiber_degree`` fibers tells (1 for a unique neuron)."""
    return 1.0 / math.log2(1.0 + max(1, fiber_degree))


def trail_weight(position: int, length: int) -> float:
    """Weight of the neuron at ``position`` on a pathway of ``length``: the anchor end first."""
    if length <= 1:
        return 1.0
    return 1.0 - 0.5 * position / (length - 1)


def propagate(frontier: Mapping[K, float], edges: Edges[K], decay: float) -> dict[K, float]:
    """One hop from ``frontier``: the strongest ``activation * weight * decay`` reaching a node."""
    reached: dict[K, float] = {}
    for node, activation in frontier.items():
        for other, weight in edges(node):
            value = activation * weight * decay
            if value > reached.get(other, 0.0):
                reached[other] = value
    return reached


def improved(
    reached: Mapping[K, float], activation: Mapping[K, float], min_activation: float
) -> dict[K, float]:
    """The nodes ``reached`` at ``min_activation`` or more, and stronger than they already were."""
    return {
        node: value
        for node, value in reached.items()
        if value >= min_activation and value > activation.get(node, 0.0)
    }


def spread_max(
    seeds: Mapping[K, float],
    edges: Edges[K],
    *,
    decay: float,
    hops: int,
    min_activation: float,
) -> MaxSpread[K]:
    """Spread from ``seeds`` for at most ``hops`` hops; each node keeps its strongest signal.

    A signal is multiplied by the edge weight and ``decay`` at every hop; a node keeps the
    strongest signal reaching it and spreads again only when a hop improved it, and a signal
    under ``min_activation`` neither reaches nor spreads.
    """
    activation = dict(seeds)
    hop_of = dict.fromkeys(seeds, 0)
    frontier: dict[K, float] = dict(seeds)
    for hop in range(1, hops + 1):
        frontier = improved(propagate(frontier, edges, decay), activation, min_activation)
        if not frontier:
            break
        activation.update(frontier)
        for node in frontier:
            hop_of.setdefault(node, hop)
    return MaxSpread(activation, hop_of)


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
    fiber_act_get = fiber_act.get
    frontier_fibers = dict(seed_fibers)
    frontier_neurons = dict(anchor_neurons)
    least, size = params.min_activation, params.frontier_size
    for hop in range(1, params.hops + 1):
        reached = _fibers_to_neurons(frontier_fibers, fiber_neurons, params)
        _synapses_to_neurons(frontier_neurons, adjacency, params, into=reached)
        frontier_neurons = _strongest(improved(reached, neuron_act, least), size)
        neuron_act.update(frontier_neurons)
        for neuron in frontier_neurons:
            neuron_hops.setdefault(neuron, hop)
        spreading = {n: a for n, a in frontier_neurons.items() if n not in quiet_neurons}
        if hop == 1:
            spreading.update(anchor_neurons)
        gained = _neurons_to_fibers(spreading, neuron_fibers, params)
        frontier_fibers = {fiber: gain for fiber, gain in gained.items() if gain >= least}
        for fiber, gain in frontier_fibers.items():
            fiber_act[fiber] = fiber_act_get(fiber, 0.0) + gain
        frontier_fibers = _strongest(frontier_fibers, size)
        if not frontier_fibers and not frontier_neurons:
            break
    return SpreadResult(fiber_act, neuron_act, neuron_hops)


def co_activations(
    sources: Mapping[str, Sequence[str]],
    *,
    sets: int,
    min_sets: int = 2,
    temporal_window_ms: int = 500,
) -> list[CoActivation]:
    """Bind the neurons reached from at least ``min_sets`` of ``sets`` anchor sets.

    ``sources`` gives, for each neuron that fired, the anchor through which each anchor set
    reached it (one entry per set). Neurons reached through the same anchors form one
    :class:`CoActivation`; the strongest binding comes first.
    """
    groups: dict[tuple[str, ...], set[str]] = {}
    for neuron_id, anchors in sources.items():
        if len(anchors) >= min_sets:
            groups.setdefault(tuple(dict.fromkeys(anchors)), set()).add(neuron_id)
    total = max(1, sets)
    found = [
        CoActivation(
            neuron_ids=frozenset(neurons),
            temporal_window_ms=temporal_window_ms,
            co_fire_count=len(anchors),
            binding_strength=min(1.0, len(anchors) / total),
            source_anchors=list(anchors),
        )
        for anchors, neurons in groups.items()
    ]
    return sorted(found, key=lambda c: (-c.binding_strength, sorted(c.neuron_ids)))


def _fibers_to_neurons(
    frontier: Mapping[int, float], fiber_neurons: Sequence[Sequence[int]], params: SpreadParams
) -> dict[int, float]:
    """:func:`propagate` from fibers to their neurons, weighted by pathway place in trail mode.

    Written out (not through an ``Edges`` callable): it runs on every hop of every recall.
    Without trail weights every neuron of a fiber gets the same ``activation * 1.0 * decay``,
    computed once per fiber.
    """
    reached: dict[int, float] = {}
    get = reached.get
    decay = params.hop_decay
    if params.trail:
        for fiber, activation in frontier.items():
            neurons = fiber_neurons[fiber]
            for neuron, weight in zip(neurons, _trail_weights(len(neurons)), strict=True):
                value = activation * weight * decay
                if value > get(neuron, 0.0):
                    reached[neuron] = value
        return reached
    for fiber, activation in frontier.items():
        value = activation * 1.0 * decay
        for neuron in fiber_neurons[fiber]:
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
    """:func:`propagate` along synapses, keeping the max with what ``into`` already holds.

    A hub neuron (more than ``max_fanout`` links) passes nothing on: linked to everything, it
    says nothing particular. Taking the max in place equals propagating apart and merging
    (max is order-free), and new neurons enter ``into`` in the same order.
    """
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


@lru_cache(maxsize=256)
def _trail_weights(length: int) -> tuple[float, ...]:
    """:func:`trail_weight` of every position of a pathway of ``length``."""
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
        value = activation * _specificity(len(fibers))
        for fiber in fibers:
            gained[fiber] = get(fiber, 0.0) + value
    return gained


@lru_cache(maxsize=1024)
def _specificity(fiber_degree: int) -> float:
    return specificity(fiber_degree)


def _strongest(values: dict[int, float], limit: int) -> dict[int, float]:
    """The ``limit`` strongest entries, strongest first; ties keep their insertion order.

    ``sorted(..., reverse=True)`` is stable, so this is ``heapq.nlargest`` exactly (its
    documented equivalent), with the key lookup done in C.
    """
    if len(values) <= limit:
        return values
    return dict(sorted(values.items(), key=itemgetter(1), reverse=True)[:limit])
