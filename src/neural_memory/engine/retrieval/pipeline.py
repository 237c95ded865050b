"""ReflexPipeline: query -> anchors -> spreading activation -> fused scores -> context."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import require_text, require_unit
from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.events import RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import stable_neuron_id
from neural_memory.engine.activation import SpreadParams, spread
from neural_memory.engine.extraction import extract
from neural_memory.engine.lifecycle.reinforcement import ReinforcementManager
from neural_memory.engine.reflex_activation import CoActivation
from neural_memory.engine.retrieval.context import build_context
from neural_memory.engine.retrieval.index import BrainIndex, index_for
from neural_memory.engine.retrieval.scoring import (
    FusionWeights,
    confidence,
    fuse,
    normalise,
    top_rows,
)
from neural_memory.engine.timeparse import TimeSpan
from neural_memory.errors import ValidationError
from neural_memory.storage.base import Storage

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = ["DepthLevel", "ReflexPipeline", "RetrievalResult", "ScoredFiber"]

_SEED_FIBERS = 20
_CANDIDATES = 200
_WHY_WORDS = frozenset({"why", "cause", "caused", "reason", "because"})


class DepthLevel(IntEnum):
    """How far spreading activation may travel."""

    INSTANT = 0
    """1 hop: direct answers."""
    CONTEXT = 1
    """2-3 hops: surrounding context."""
    HABIT = 2
    """4+ hops: patterns (the brain's ``max_spread_hops``, at least 4)."""
    DEEP = 3
    """Full traversal for causal chains: until activation dies out (at most 3x max hops)."""

    def max_hops(self, config: BrainConfig) -> int:
        """The hop limit of this depth under ``config``."""
        if self is DepthLevel.INSTANT:
            return 1
        if self is DepthLevel.CONTEXT:
            return 3
        if self is DepthLevel.HABIT:
            return max(4, config.max_spread_hops)
        return 3 * max(4, config.max_spread_hops)


@dataclass(frozen=True, slots=True, kw_only=True)
class ScoredFiber:
    """One recalled memory and why it scored as it did."""

    fiber_id: str
    content: str
    score: float
    lexical: float
    activation: float
    semantic: float
    occurred_at: datetime | None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalResult:
    """The answer to one query.

    Attributes:
        query: The query text.
        context: The recalled memories as text, within the token budget.
        confidence: 0-1, how well the recalled memories cover the query.
        depth_used: The depth level the query ran at.
        neurons_activated: How many neurons fired above the activation threshold.
        fibers: Recalled memories, best first.
        co_activations: Anchor neurons bound together by the recalled memories.
        anchors: Ids of the neurons the query lit up directly.
        tokens_used: Tokens in ``context``.
        latency_ms: Wall time of the query.
    """

    query: str
    context: str
    confidence: float
    depth_used: DepthLevel
    neurons_activated: int
    fibers: tuple[ScoredFiber, ...]
    co_activations: tuple[CoActivation, ...]
    anchors: tuple[str, ...]
    tokens_used: int
    latency_ms: float

    @property
    def fibers_matched(self) -> list[str]:
        """Ids of the recalled memories, best first."""
        return [fiber.fiber_id for fiber in self.fibers]


class ReflexPipeline:
    """Recall memories of the storage's current brain by spreading activation.

    Args:
        storage: The memories (its current brain).
        config: The brain's configuration.
        use_reflex: Hybrid mode (default): activation also follows each fiber's pathway from
            its anchor. ``False`` is classic mode: distance-based activation only.
        embedder: Optional; adds semantic similarity to lexical and graph signals.
        reinforce: Strengthen what recall used (Hebbian learning); on by default.
        record_events: Record each query as a RecallEvent (mined for query patterns).
        weights: How lexical, graph, semantic and time signals are fused.
        min_relative_score: Memories scoring below this share of the best one are left out.
    """

    def __init__(
        self,
        storage: Storage,
        config: BrainConfig,
        use_reflex: bool = True,
        *,
        embedder: Embedder | None = None,
        reinforce: bool = True,
        record_events: bool = True,
        weights: FusionWeights | None = None,
        min_relative_score: float = 0.05,
    ) -> None:
        self._storage = storage
        self._config = config
        self._use_reflex = use_reflex
        self._embedder = embedder
        self._reinforce = reinforce
        self._record_events = record_events
        self._weights = weights or FusionWeights()
        self._min_relative_score = require_unit(min_relative_score, "min_relative_score")
        self._reinforcer = ReinforcementManager(config.reinforcement_delta)

    async def query(
        self,
        query: str,
        depth: DepthLevel | None = None,
        max_tokens: int | None = None,
        *,
        reference_time: datetime | None = None,
        max_fibers: int = 10,
    ) -> RetrievalResult:
        """Recall what the brain knows about ``query``, as of ``reference_time`` (default now)."""
        started = time.perf_counter()
        text = require_text(query, "query")
        level = _depth(depth, text)
        budget = _budget(max_tokens, self._config)
        if isinstance(max_fibers, bool) or not isinstance(max_fibers, int) or max_fibers < 1:
            raise ValidationError("max_fibers must be a positive integer")
        now = as_utc(reference_time) if reference_time else utcnow()
        index = index_for(self._storage, self._storage.brain_id, self._embedder)
        await index.sync()
        ranked, spread_result, anchors, coverage = await self._rank(index, text, level, now)
        chosen = await self._drop_expired(index, ranked, max_fibers, now)
        context, tokens, used = build_context([index.fibers[r].fiber for r, _ in chosen], budget)
        scored = tuple(self._scored(index, row, parts) for row, parts in chosen)
        activated = [
            index.neurons.ids[n]
            for n, a in spread_result.neuron_activation.items()
            if a >= self._config.activation_threshold
        ]
        result = RetrievalResult(
            query=text,
            context=context,
            confidence=confidence(scored[0].score if scored else 0.0, coverage),
            depth_used=level,
            neurons_activated=len(activated),
            fibers=scored,
            co_activations=tuple(_co_activations(index, [r for r, _ in chosen], anchors)),
            anchors=tuple(index.neurons.ids[a] for a in anchors),
            tokens_used=tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
        )
        await self._after_recall(index, used, activated, result, now)
        return result

    async def _rank(
        self, index: BrainIndex, text: str, level: DepthLevel, now: datetime
    ) -> tuple[list[tuple[int, tuple[float, float, float, float]]], Any, list[int], float]:
        analysis = extract(text, now, with_own_day=False)
        size = len(index.fibers)
        lexical = normalise(index.lexical.scores(analysis.terms))
        semantic = await self._semantic(index, text, size)
        anchors = _anchor_rows(index, analysis.keys)
        seeds = top_rows(lexical + semantic, _SEED_FIBERS)
        seed_scores = lexical + semantic
        top = float(seed_scores[seeds[0]]) if seeds.size else 1.0
        params = SpreadParams(hops=level.max_hops(self._config), trail=self._use_reflex)
        result = spread(
            seed_fibers={int(r): float(seed_scores[r]) / top for r in seeds},
            anchor_neurons={a: _anchor_weight(index, a) for a in anchors},
            fiber_neurons=_FiberNeurons(index),
            neuron_fibers=index.neurons.fibers,
            adjacency=index.neurons.adjacency,
            params=params,
            quiet_neurons=index.time_rows,
        )
        fused = fuse(
            lexical=lexical,
            semantic=semantic,
            activation=result.fiber_activation,
            time_match=_time_match(index, analysis.time_spans),
            conductivity=index.conductivity(),
            superseded=index.suppressed(),
            weights=self._weights,
        )
        rows = top_rows(fused, _CANDIDATES)
        if rows.size:
            rows = rows[fused[rows] >= self._min_relative_score * fused[rows[0]]]
        act = normalise(_dense(result.fiber_activation, size))
        ranked = [
            (int(r), (float(fused[r]), float(lexical[r]), float(act[r]), float(semantic[r])))
            for r in rows
            if index.fibers[int(r)].alive
        ]
        coverage = _coverage(index, ranked[:3], analysis.terms)
        return ranked, result, anchors, coverage

    async def _semantic(self, index: BrainIndex, text: str, size: int) -> npt.NDArray[np.float32]:
        if self._embedder is None:
            return np.zeros(size, dtype=np.float32)
        vector = (await self._embedder.embed([text]))[0]
        sims = index.vectors.similarities(vector, size)
        return np.clip(sims, 0.0, 1.0).astype(np.float32) ** 2

    async def _drop_expired(
        self,
        index: BrainIndex,
        ranked: list[tuple[int, tuple[float, float, float, float]]],
        limit: int,
        now: datetime,
    ) -> list[tuple[int, tuple[float, float, float, float]]]:
        window = ranked[: limit * 3]
        typed = await self._storage.get_typed_memories_for_fibers(
            index.fibers[row].fiber.id for row, _ in window
        )
        fresh = [
            (row, parts)
            for row, parts in window
            if not (m := typed.get(index.fibers[row].fiber.id)) or not m.is_expired(now)
        ]
        return fresh[:limit]

    def _scored(
        self, index: BrainIndex, row: int, parts: tuple[float, float, float, float]
    ) -> ScoredFiber:
        fiber = index.fibers[row].fiber
        return ScoredFiber(
            fiber_id=fiber.id,
            content=fiber.content,
            score=round(parts[0], 6),
            lexical=round(parts[1], 6),
            activation=round(parts[2], 6),
            semantic=round(parts[3], 6),
            occurred_at=fiber.occurred_at,
            metadata=dict(fiber.metadata),
        )

    async def _after_recall(
        self,
        index: BrainIndex,
        used: Sequence[Fiber],
        activated: Sequence[str],
        result: RetrievalResult,
        now: datetime,
    ) -> None:
        if self._reinforce and used:
            fired = set(activated) | set(result.anchors)
            synapses = [
                sid
                for fiber in used
                for sid in fiber.synapse_ids
                if (s := index.synapse(sid)) is not None
                and s.source_id in fired
                and s.target_id in fired
            ]
            await self._reinforcer.reinforce(
                self._storage,
                activated_neurons=sorted(set(result.anchors)),
                activated_synapses=sorted(set(synapses)),
                conducted_fibers=[f.id for f in used],
                at=now,
            )
        if self._record_events:
            await self._storage.add_recall_event(
                RecallEvent.create(
                    result.query,
                    result.fibers_matched,
                    confidence=result.confidence,
                    created_at=utcnow(),
                )
            )


class _FiberNeurons(Sequence[tuple[int, ...]]):
    """A read-only view: fiber row -> its neuron rows (no copy per query)."""

    def __init__(self, index: BrainIndex) -> None:
        self._fibers = index.fibers

    def __len__(self) -> int:
        return len(self._fibers)

    def __getitem__(self, row: int) -> tuple[int, ...]:  # type: ignore[override]
        return self._fibers[row].neuron_rows


def _depth(depth: object, text: str) -> DepthLevel:
    """The depth asked for; by default CONTEXT, or DEEP for "why" questions."""
    if depth is None:
        words = set(text.casefold().replace("?", " ").split())
        return DepthLevel.DEEP if words & _WHY_WORDS else DepthLevel.CONTEXT
    if isinstance(depth, DepthLevel):
        return depth
    if isinstance(depth, int) and not isinstance(depth, bool) and 0 <= depth <= 3:
        return DepthLevel(depth)
    raise ValidationError(f"depth must be a DepthLevel, got {depth!r}")


def _budget(max_tokens: int | None, config: BrainConfig) -> int:
    if max_tokens is None:
        return config.max_context_tokens
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValidationError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    return max_tokens


def _anchor_rows(index: BrainIndex, keys: Sequence[str]) -> list[int]:
    rows = []
    for key in keys:
        row = index.neuron_row(stable_neuron_id(key))
        if row is not None:
            rows.append(row)
    return rows


def _anchor_weight(index: BrainIndex, row: int) -> float:
    degree = len(index.neurons.fibers[row])
    alive = max(1, index.lexical.live_count)
    return float(np.log1p(alive / max(1, degree)) / np.log1p(alive))


def _dense(values: dict[int, float], size: int) -> npt.NDArray[np.float32]:
    dense = np.zeros(size, dtype=np.float32)
    for row, value in values.items():
        dense[row] = value
    return dense


def _time_match(index: BrainIndex, spans: Sequence[TimeSpan]) -> npt.NDArray[np.float32]:
    size = len(index.fibers)
    if not spans:
        return np.zeros(size, dtype=np.float32)
    days = index.occurred_days()
    match = np.zeros(size, dtype=np.float32)
    for span in spans:
        start, end = span.start.toordinal(), span.end.toordinal()
        match = np.maximum(match, ((days >= start) & (days <= end)).astype(np.float32))
    return match


def _coverage(
    index: BrainIndex,
    ranked: Sequence[tuple[int, tuple[float, float, float, float]]],
    terms: Sequence[str],
) -> float:
    wanted = {t: index.lexical.idf(t) for t in terms}
    total = sum(wanted.values())
    if not ranked or total <= 0:
        return 0.0
    present: set[str] = set()
    for row, _ in ranked:
        present |= index.fiber_terms(row)
    return sum(w for t, w in wanted.items() if t in present) / total


def _co_activations(
    index: BrainIndex, rows: Sequence[int], anchors: Sequence[int]
) -> list[CoActivation]:
    anchor_set = set(anchors)
    if len(anchor_set) < 2:
        return []
    groups: dict[frozenset[int], int] = {}
    for row in rows:
        hit = frozenset(anchor_set.intersection(index.fibers[row].neuron_rows))
        if len(hit) >= 2:
            groups[hit] = groups.get(hit, 0) + 1
    return [
        CoActivation(
            neuron_ids=frozenset(index.neurons.ids[n] for n in group),
            co_fire_count=len(group),
            binding_strength=len(group) / len(anchor_set),
            source_anchors=[index.neurons.ids[n] for n in sorted(group)],
        )
        for group in sorted(groups, key=lambda g: (-len(g), -groups[g]))
    ]
