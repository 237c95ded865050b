"""Smart context selection: rank memories by a composite score, pack them under a token budget.

The composite score blends five factors, each in 0-1, with fixed weights:

============  ======  =============================================================
factor        weight  value
============  ======  =============================================================
activation    0.30    the fiber's activation from retrieval (``activations``), else 0
priority      0.25    its typed memory's priority / 10 (no typed memory: NORMAL = 5)
frequency     0.20    min(access_count, 20) / 20
conductivity  0.15    the fiber's conductivity
freshness     0.10    :func:`freshness_score` of its creation time
============  ======  =============================================================

Memories are then packed best first under a hard token budget (counted with
:func:`neural_memory.engine.tokens.count_tokens`): the plan never exceeds it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory
from neural_memory.engine.tokens import count_tokens, truncate_to_tokens
from neural_memory.errors import ValidationError
from neural_memory.storage.base import Storage

__all__ = [
    "ACTIVATION_WEIGHT",
    "CONDUCTIVITY_WEIGHT",
    "FREQUENCY_CAP",
    "FREQUENCY_WEIGHT",
    "FRESHNESS_HALF_LIFE_DAYS",
    "FRESHNESS_WEIGHT",
    "PRIORITY_WEIGHT",
    "ContextItem",
    "ContextPlan",
    "compute_composite_score",
    "freshness_score",
    "optimize_context",
]

ACTIVATION_WEIGHT = 0.30
PRIORITY_WEIGHT = 0.25
FREQUENCY_WEIGHT = 0.20
CONDUCTIVITY_WEIGHT = 0.15
FRESHNESS_WEIGHT = 0.10

FREQUENCY_CAP = 20
"""Access counts at or above this give the full frequency factor."""

FRESHNESS_HALF_LIFE_DAYS = 30.0
"""A memory this many days old has freshness 0.5; twice as old, 0.25."""

_SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextItem:
    """One memory chosen for the context, with the factor values behind its score.

    Attributes:
        fiber_id: The fiber holding the memory.
        content: Its text (shortened when ``truncated``).
        score: Composite score (0-1).
        token_count: ``count_tokens(content)``.
        activation: Activation factor (0-1).
        priority: Typed-memory priority (0-10).
        access_count: How often the memory was recalled.
        conductivity: The fiber's conductivity (0-1).
        freshness: Recency factor (0-1).
        memory_type: Its typed memory's type, if it has one.
        truncated: True when the content was cut to fit the budget.
    """

    fiber_id: str
    content: str
    score: float
    token_count: int
    activation: float
    priority: int
    access_count: int
    conductivity: float
    freshness: float
    memory_type: MemoryType | None = None
    truncated: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextPlan:
    """The memories to inject, best first.

    Attributes:
        items: The chosen memories, highest score first.
        total_tokens: Sum of their token counts; never above the budget.
        dropped_count: Candidate fibers left out (superseded, expired, empty, duplicate
            content or over budget).
    """

    items: tuple[ContextItem, ...]
    total_tokens: int
    dropped_count: int


def freshness_score(created_at: datetime, now: datetime) -> float:
    """Recency in 0-1: ``0.5 ** (age_days / FRESHNESS_HALF_LIFE_DAYS)``; 1 for future times."""
    age_days = (as_utc(now) - as_utc(created_at)).total_seconds() / _SECONDS_PER_DAY
    if age_days <= 0:
        return 1.0
    return float(0.5 ** (age_days / FRESHNESS_HALF_LIFE_DAYS))


def compute_composite_score(
    *,
    activation: float,
    priority: float,
    access_count: int,
    conductivity: float,
    freshness: float,
) -> float:
    """The weighted blend of the five factors (see the module table); result in 0-1.

    ``priority`` is on the 0-10 scale; the other inputs outside their range are clamped.
    """
    frequency = min(max(access_count, 0), FREQUENCY_CAP) / FREQUENCY_CAP
    return (
        ACTIVATION_WEIGHT * _unit(activation)
        + PRIORITY_WEIGHT * _unit(priority / 10)
        + FREQUENCY_WEIGHT * frequency
        + CONDUCTIVITY_WEIGHT * _unit(conductivity)
        + FRESHNESS_WEIGHT * _unit(freshness)
    )


async def optimize_context(
    storage: Storage,
    fibers: Iterable[Fiber],
    max_tokens: int = 4000,
    *,
    activations: Mapping[str, float] | None = None,
    now: datetime | None = None,
) -> ContextPlan:
    """Choose which of ``fibers`` to inject into a context of at most ``max_tokens`` tokens.

    Reads the fibers' typed memories in one storage call, skips superseded fibers, fibers
    whose typed memory has expired at ``now`` and fibers without content, scores the rest
    with :func:`compute_composite_score`, keeps one fiber per distinct content (the best
    scored) and packs them best first. A memory that does not fit is skipped (a shorter
    one further down may still fit); when not even the best one fits, it is truncated.

    Args:
        storage: Storage with the fibers' brain selected.
        fibers: Candidate memories (duplicates by id are ignored).
        max_tokens: Hard budget for the sum of item token counts.
        activations: Activation (0-1) per fiber id, e.g. from retrieval; missing: 0.
        now: Reference time for expiry and freshness (default: now).
    """
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 0:
        raise ValidationError(f"max_tokens must be a non-negative integer, got {max_tokens!r}")
    moment = as_utc(now) if now is not None else utcnow()
    candidates = _unique_fibers(fibers)
    if not candidates:
        return ContextPlan(items=(), total_tokens=0, dropped_count=0)
    memories = await storage.get_typed_memories_for_fibers(f.id for f in candidates)
    scored = [
        _score(fiber, memories.get(fiber.id), activations or {}, moment)
        for fiber in candidates
        if _usable(fiber, memories.get(fiber.id), moment)
    ]
    scored.sort(key=lambda pair: (-pair[0].score, -pair[1].created_at.timestamp(), pair[1].id))
    items = _pack(_distinct_content(item for item, _ in scored), max_tokens)
    return ContextPlan(
        items=items,
        total_tokens=sum(item.token_count for item in items),
        dropped_count=len(candidates) - len(items),
    )


def _unique_fibers(fibers: Iterable[Fiber]) -> list[Fiber]:
    if isinstance(fibers, Fiber):
        raise ValidationError("fibers must be a collection of Fiber, not a single Fiber")
    unique: dict[str, Fiber] = {}
    for fiber in fibers:
        if not isinstance(fiber, Fiber):
            raise ValidationError(f"expected a Fiber, got {type(fiber).__name__}")
        unique.setdefault(fiber.id, fiber)
    return list(unique.values())


def _usable(fiber: Fiber, memory: TypedMemory | None, now: datetime) -> bool:
    if fiber.superseded_by is not None or not fiber.content.strip():
        return False
    return memory is None or not memory.is_expired(now)


def _score(
    fiber: Fiber, memory: TypedMemory | None, activations: Mapping[str, float], now: datetime
) -> tuple[ContextItem, Fiber]:
    activation = _unit(_number(activations.get(fiber.id, 0.0), "activation"))
    priority = int(memory.priority) if memory is not None else int(Priority.NORMAL)
    freshness = freshness_score(fiber.created_at, now)
    content = fiber.content.strip()
    item = ContextItem(
        fiber_id=fiber.id,
        content=content,
        score=compute_composite_score(
            activation=activation,
            priority=priority,
            access_count=fiber.access_count,
            conductivity=fiber.conductivity,
            freshness=freshness,
        ),
        token_count=count_tokens(content),
        activation=activation,
        priority=priority,
        access_count=fiber.access_count,
        conductivity=fiber.conductivity,
        freshness=freshness,
        memory_type=memory.memory_type if memory is not None else None,
    )
    return item, fiber


def _distinct_content(items: Iterable[ContextItem]) -> list[ContextItem]:
    """Keep the first (best) item of each content, compared case- and space-insensitively."""
    seen: set[str] = set()
    kept: list[ContextItem] = []
    for item in items:
        key = " ".join(item.content.casefold().split())
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _pack(items: list[ContextItem], max_tokens: int) -> tuple[ContextItem, ...]:
    chosen: list[ContextItem] = []
    used = 0
    for item in items:
        if used + item.token_count <= max_tokens:
            chosen.append(item)
            used += item.token_count
    if not chosen and items:
        best = items[0]
        shortened = truncate_to_tokens(best.content, max_tokens)
        if shortened:
            chosen.append(_truncated(best, shortened))
    return tuple(chosen)


def _truncated(item: ContextItem, content: str) -> ContextItem:
    return replace(item, content=content, token_count=count_tokens(content), truncated=True)


def _number(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise ValidationError(f"{name} must be a number, got {value!r}")
    return float(value)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))
