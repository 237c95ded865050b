"""ReflexActivation: activation that travels along fiber pathways, and co-activation binding.

A *trail* follows the signal pathway of each fiber that contains an anchor neuron: the
anchor fires at full strength and each step along the pathway (either direction) multiplies
the signal by the fiber's conductivity and a per-step decay; fibers far from the reference
time conduct less. Neurons reached from several anchor sets *co-activate* (Hebbian binding).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import as_utc
from neural_memory.core.fiber import Fiber
from neural_memory.engine.activation import CoActivation, Edges, co_activations, spread_max
from neural_memory.storage.base import Storage

__all__ = ["ActivationResult", "CoActivation", "ReflexActivation"]

STEP_DECAY = 0.8
"""Signal kept per pathway step (before the fiber's conductivity)."""

TIME_HALF_LIFE_DAYS = 30.0
"""A fiber this many days from the reference time conducts half as well."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ActivationResult:
    """How strongly one neuron fired, how far from its anchor, and through what."""

    neuron_id: str
    activation_level: float
    hop_distance: int
    path: tuple[str, ...]
    source_anchor: str


class ReflexActivation:
    """Trail-based activation over explicitly given fibers (no storage round-trips)."""

    def __init__(self, storage: Storage, config: BrainConfig) -> None:
        self._storage = storage
        self._config = config

    async def activate_trail(
        self,
        anchor_neurons: Iterable[str],
        fibers: Iterable[Fiber],
        reference_time: datetime | None = None,
    ) -> dict[str, ActivationResult]:
        """Fire ``anchor_neurons`` and follow the pathways of ``fibers``: results by neuron id."""
        anchors = list(dict.fromkeys(anchor_neurons))
        return trail(anchors, list(fibers), reference_time, self._config)

    async def activate_with_co_binding(
        self,
        anchor_sets: Sequence[Sequence[str]],
        fibers: Iterable[Fiber],
        reference_time: datetime | None = None,
    ) -> tuple[dict[str, ActivationResult], list[CoActivation]]:
        """Activate each anchor set; merge the results and find what they co-activated."""
        fiber_list = list(fibers)
        per_set = [trail(list(s), fiber_list, reference_time, self._config) for s in anchor_sets]
        merged: dict[str, ActivationResult] = {}
        for results in per_set:
            for neuron_id, result in results.items():
                best = merged.get(neuron_id)
                if best is None or result.activation_level > best.activation_level:
                    merged[neuron_id] = result
        return merged, self.find_co_activated(per_set)

    def find_co_activated(
        self,
        activation_sets: Sequence[Mapping[str, ActivationResult]],
        *,
        min_sets: int = 2,
        temporal_window_ms: int = 500,
    ) -> list[CoActivation]:
        """Neurons reached by at least ``min_sets`` of the activation sets, strongest first."""
        hits: dict[str, list[str]] = {}
        for results in activation_sets:
            for neuron_id, result in results.items():
                if result.activation_level >= self._config.activation_threshold:
                    hits.setdefault(neuron_id, []).append(result.source_anchor)
        return co_activations(
            hits,
            sets=len(activation_sets),
            min_sets=min_sets,
            temporal_window_ms=temporal_window_ms,
        )


def trail(
    anchors: Sequence[str],
    fibers: Sequence[Fiber],
    reference_time: datetime | None,
    config: BrainConfig,
) -> dict[str, ActivationResult]:
    """Pure trail activation (see the module docstring): the core's spread along pathways."""
    results = {anchor: _fired(anchor, 1.0, (anchor,)) for anchor in anchors}
    for fiber in fibers:
        strength = fiber.conductivity * _time_factor(fiber, reference_time)
        pathway = fiber.pathway
        for anchor in anchors:
            start = fiber.pathway_position(anchor)
            if start is None:
                continue
            reached = spread_max(
                {start: strength},
                _chain(len(pathway)),
                decay=STEP_DECAY,
                hops=config.max_spread_hops,
                min_activation=config.activation_threshold,
            )
            for position, level in reached.activation.items():
                neuron_id = pathway[position]
                best = results.get(neuron_id)
                if position != start and (best is None or level > best.activation_level):
                    path = _segment(pathway, start, position)
                    results[neuron_id] = _fired(neuron_id, round(level, 6), path, anchor)
    return results


def _fired(
    neuron_id: str, level: float, path: tuple[str, ...], anchor: str | None = None
) -> ActivationResult:
    return ActivationResult(
        neuron_id=neuron_id,
        activation_level=level,
        hop_distance=len(path) - 1,
        path=path,
        source_anchor=anchor or neuron_id,
    )


def _chain(length: int) -> Edges[int]:
    """A pathway of ``length`` neurons as a graph of positions, each linked to its two sides."""

    def edges(position: int) -> list[tuple[int, float]]:
        return [(p, 1.0) for p in (position - 1, position + 1) if 0 <= p < length]

    return edges


def _segment(pathway: Sequence[str], start: int, end: int) -> tuple[str, ...]:
    """The neurons from ``start`` to ``end`` on ``pathway`` (either direction), both included."""
    if end >= start:
        return tuple(pathway[start : end + 1])
    return tuple(reversed(pathway[end : start + 1]))


def _time_factor(fiber: Fiber, reference_time: datetime | None) -> float:
    if reference_time is None or fiber.occurred_at is None:
        return 1.0
    days = abs((as_utc(reference_time) - fiber.occurred_at).total_seconds()) / 86_400
    return math.pow(0.5, days / TIME_HALF_LIFE_DAYS) * 0.5 + 0.5
