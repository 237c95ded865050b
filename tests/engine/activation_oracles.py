"""Frozen copies of the three spreading-activation implementations the engine had before
there was one core (engine ``spread``, the seed's ``ReflexActivation`` trail, neuram's
``spread_activation``) and of the seed's co-activation, kept verbatim as oracles (the helpers
the move left unchanged are imported): the tests check that the one core and its wrappers
compute what these did.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import datetime

from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import as_utc
from neural_memory.core.fiber import Fiber
from neural_memory.engine.activation import (  # unchanged by the move to one core
    SpreadParams,
    SpreadResult,
    specificity,
    trail_weight,
)
from neural_memory.engine.reflex_activation import ActivationResult

STEP_DECAY = 0.8
TIME_HALF_LIFE_DAYS = 30.0
MIN_ACTIVATION = 0.05
HOP_DECAY = 0.6
MAX_HOPS = 2


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


def trail(
    anchors: Sequence[str],
    fibers: Sequence[Fiber],
    reference_time: datetime | None,
    config: BrainConfig,
) -> dict[str, ActivationResult]:
    """Pure trail activation (see the module docstring)."""
    results: dict[str, ActivationResult] = {}
    for anchor in anchors:
        results.setdefault(
            anchor,
            ActivationResult(
                neuron_id=anchor,
                activation_level=1.0,
                hop_distance=0,
                path=(anchor,),
                source_anchor=anchor,
            ),
        )
    for fiber in fibers:
        strength = fiber.conductivity * _time_factor(fiber, reference_time)
        for anchor in anchors:
            position = fiber.pathway_position(anchor)
            if position is None:
                continue
            for index, neuron_id in enumerate(fiber.pathway):
                hops = abs(index - position)
                if hops == 0 or hops > config.max_spread_hops:
                    continue
                level = strength * STEP_DECAY**hops
                if level < config.activation_threshold:
                    continue
                step = 1 if index > position else -1
                path = fiber.pathway[position : index + step : step]
                best = results.get(neuron_id)
                if best is None or level > best.activation_level:
                    results[neuron_id] = ActivationResult(
                        neuron_id=neuron_id,
                        activation_level=round(level, 6),
                        hop_distance=hops,
                        path=tuple(path),
                        source_anchor=anchor,
                    )
    return results


def _time_factor(fiber: Fiber, reference_time: datetime | None) -> float:
    if reference_time is None or fiber.occurred_at is None:
        return 1.0
    days = abs((as_utc(reference_time) - fiber.occurred_at).total_seconds()) / 86_400
    return math.pow(0.5, days / TIME_HALF_LIFE_DAYS) * 0.5 + 0.5


def spread_activation(
    seeds: Mapping[str, float],
    neighbours: Callable[[str], Iterable[tuple[str, float]]],
    *,
    decay: float = HOP_DECAY,
    hops: int = MAX_HOPS,
) -> dict[str, float]:
    """Spread activation from ``seeds`` through association edges, ``decay`` per hop.

    An engram keeps the strongest activation that reaches it (its own, or a neighbour's
    times the edge weight times ``decay`` per hop), so a neighbourhood lights up without
    hubs piling up activation.
    """
    activation = dict(seeds)
    frontier = dict(seeds)
    for _ in range(hops):
        reached: dict[str, float] = {}
        for engram_id, value in frontier.items():
            for other, weight in neighbours(engram_id):
                passed = value * weight * decay
                if passed >= MIN_ACTIVATION and passed > activation.get(other, 0.0):
                    reached[other] = max(passed, reached.get(other, 0.0))
        if not reached:
            break
        activation.update(reached)
        frontier = reached
    return activation


def find_co_activated(
    activation_sets: Sequence[Mapping[str, ActivationResult]],
    config: BrainConfig,
    *,
    min_sets: int = 2,
) -> list[tuple[frozenset[str], int, float, list[str]]]:
    """``ReflexActivation.find_co_activated`` as it was (its CoActivation fields as tuples)."""
    hits: dict[str, list[str]] = {}
    for results in activation_sets:
        for neuron_id, result in results.items():
            if result.activation_level >= config.activation_threshold:
                hits.setdefault(neuron_id, []).append(result.source_anchor)
    groups: dict[tuple[str, ...], set[str]] = {}
    for neuron_id, anchors in hits.items():
        if len(anchors) >= min_sets:
            groups.setdefault(tuple(dict.fromkeys(anchors)), set()).add(neuron_id)
    total = max(1, len(activation_sets))
    found = [
        (frozenset(neurons), len(anchors), min(1.0, len(anchors) / total), list(anchors))
        for anchors, neurons in groups.items()
    ]
    return sorted(found, key=lambda c: (-c[2], sorted(c[0])))


# The engine's hop helpers as they were before recall was made cheaper (verbatim).


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
