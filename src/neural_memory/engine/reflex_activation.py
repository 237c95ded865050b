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
        groups: dict[tuple[str, ...], set[str]] = {}
        for neuron_id, anchors in hits.items():
            if len(anchors) >= min_sets:
                groups.setdefault(tuple(dict.fromkeys(anchors)), set()).add(neuron_id)
        total = max(1, len(activation_sets))
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
