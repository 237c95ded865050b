"""ReflexPipeline: query -> anchors -> spreading activation -> fused scores -> context."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import empty_mapping, optional_utc, require_text, require_unit
from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import utcnow
from neural_memory.core.events import RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import check_text, check_time
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.engine._default_embedder import (
    DEFAULT_EMBEDDER,
    EmbedderChoice,
    resolve_embedder,
)
from neural_memory.engine.activation import CoActivation, co_activations
from neural_memory.engine.extraction import Extraction, extract, word_key
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.lifecycle.reinforcement import reinforcement_batch
from neural_memory.engine.retrieval._documents import LONG_MEMORY_CHARS
from neural_memory.engine.retrieval.confidence import calibrated_confidence
from neural_memory.engine.retrieval.context import build_context
from neural_memory.engine.retrieval.explain import (
    Explanation,
    explain_rows,
    neuron_ids,
    relabel,
)
from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.engine.retrieval.ranking import Candidate, QuerySignals, Ranking, rank
from neural_memory.engine.retrieval.scoring import FusionWeights
from neural_memory.engine.text import tokenize
from neural_memory.errors import ConfigError, ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

if TYPE_CHECKING:
    pass

__all__ = ["DepthLevel", "ReflexPipeline", "RetrievalResult", "ScoredFiber"]

_FIRST_PERSON = frozenset({"i", "me", "my", "mine", "myself", "we", "us", "our", "ours"})
_STRENGTHENED_FIBERS = 3
"""Recall strengthens the co-activated synapses of this many best memories it used."""
_WHY_WORDS = frozenset({"why", "cause", "caused", "reason", "because"})
_EXPIRY_WINDOW = 3
"""Recall looks this many times ``max_fibers`` candidates down for unexpired memories."""


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
    """The fused score the memories were ranked by."""
    lexical: float
    """BM25 score, 1.0 for the best lexical match of the query."""
    activation: float
    """Spreading activation, 1.0 for the most activated memory."""
    semantic: float
    """Cosine similarity of the memory's embedding to the query's (0-1; 0 without embeddings)."""
    occurred_at: datetime | None
    metadata: Mapping[str, Any] = field(default_factory=empty_mapping)
    why: Explanation | None = None
    """The activation path from the query's anchors (only when recall was asked to explain)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RetrievalResult:
    """The answer to one query.

    Attributes:
        query: The query text.
        context: The recalled memories as text, within the token budget.
        confidence: 0-1, the calibrated chance that ``context`` holds the evidence that
            answers the query (:mod:`~neural_memory.engine.retrieval.confidence`).
        depth_used: The depth level the query ran at.
        neurons_activated: How many neurons fired above the activation threshold.
        fibers: Recalled memories, best first.
        co_activations: Anchor neurons bound together by the recalled memories.
        anchors: Ids of the neurons the query lit up directly.
        tokens_used: Tokens in ``context``.
        latency_ms: Wall time of the query.
        coverage: The idf-weighted share of the query's terms the top memories hold.
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
    coverage: float = 0.0

    @property
    def fibers_matched(self) -> list[str]:
        """Ids of the recalled memories, best first."""
        return [fiber.fiber_id for fiber in self.fibers]


class ReflexPipeline:
    """Recall memories of the storage's current brain by spreading activation.

    Args:
        storage: The memories: a Storage (its current brain at each call) or a brain's
            :class:`~neural_memory.engine.handle.BrainHandle`.
        config: The brain's configuration.
        use_reflex: Hybrid mode (default): activation also follows each fiber's pathway from
            its anchor. ``False`` is classic mode: distance-based activation only.
        embedder: The embedding model, adding semantic similarity to lexical and graph
            signals. Default (:data:`DEFAULT_EMBEDDER`): the process's default model when the
            ``embeddings`` extra is installed; None: lexical and graph signals only.
        reinforce: Strengthen what recall used (Hebbian learning); on by default.
        record_events: Record each query as a RecallEvent (mined for query patterns).
        weights: How lexical, graph, semantic, time and entity signals are fused.
        min_relative_score: Memories scoring below this share of the best one are left out.
    """

    def __init__(
        self,
        storage: Storage | BrainHandle,
        config: BrainConfig,
        use_reflex: bool = True,
        *,
        embedder: EmbedderChoice = DEFAULT_EMBEDDER,
        reinforce: bool = True,
        record_events: bool = True,
        weights: FusionWeights | None = None,
        min_relative_score: float = 0.05,
    ) -> None:
        if not isinstance(storage, Storage | BrainHandle):
            raise ConfigError(f"storage must be a Storage or a BrainHandle, got {storage!r}")
        if not isinstance(config, BrainConfig):
            raise ConfigError(f"config must be a BrainConfig (brain.config), got {config!r}")
        self._storage = storage
        self._config = config
        self._use_reflex = use_reflex
        self._embedder = resolve_embedder(embedder)
        self._reinforce = reinforce
        self._record_events = record_events
        self._weights = weights or FusionWeights()
        self._min_relative_score = require_unit(min_relative_score, "min_relative_score")

    async def query(
        self,
        query: str,
        depth: DepthLevel | None = None,
        max_tokens: int | None = None,
        *,
        reference_time: datetime | None = None,
        max_fibers: int = 10,
        asker: str | None = None,
        explain: bool = False,
    ) -> RetrievalResult:
        """Recall what the brain knows about ``query``, as of ``reference_time`` (default now).

        ``asker`` names who is asking (a speaker of the memories): a query in the first
        person ("what did I ...") then favours that speaker's memories. Without ``asker``, a
        first-person query is the brain owner's: the ``user`` role when it speaks in the
        brain, else a speaker who said most of its memories (see ``ranking.owner_row``).
        With ``explain``, each recalled memory carries ``why``: its activation path from the
        query's anchors.
        """
        started = time.perf_counter()
        text = check_text(require_text(query, "query"), "query")
        level = _depth(depth, text)
        budget = _budget(max_tokens, self._config)
        now = _now(reference_time)
        _check_max_fibers(max_fibers)
        signals = await self._signals(text, now, asker)
        handle, index, ranking, chosen = await self._rank(signals, level, now, max_fibers)
        lines = await _context_lines(index, chosen)
        context, tokens, used_rows = build_context(lines, budget)
        whys = None
        if explain:
            whys = explain_rows(index, ranking.anchors, [c.row for c in chosen])
            words = await handle.storage.get_neurons(neuron_ids(whys))
            whys = relabel(whys, {i: n.content for i, n in words.items()})
        scored = tuple(
            _scored(index.fibers[c.row].fiber, c, whys[i] if whys else None)
            for i, c in enumerate(chosen)
        )
        activated = [
            index.neurons.ids[n]
            for n, a in ranking.spread.neuron_activation.items()
            if a >= self._config.activation_threshold
        ]
        result = RetrievalResult(
            query=text,
            context=context,
            confidence=calibrated_confidence(
                scored, ranking.coverage, semantic=self._embedder is not None
            ),
            depth_used=level,
            neurons_activated=len(activated),
            fibers=scored,
            co_activations=tuple(_co_activations(index, [c.row for c in chosen], ranking.anchors)),
            anchors=tuple(index.neurons.ids[a] for a in ranking.anchors),
            tokens_used=tokens,
            latency_ms=(time.perf_counter() - started) * 1000,
            coverage=ranking.coverage,
        )
        used = [index.fibers[chosen[i].row].fiber for i in used_rows]
        await self._after_recall(handle, index, used, activated, result, now)
        return result

    async def search(
        self,
        query: str,
        depth: DepthLevel | None = None,
        *,
        reference_time: datetime | None = None,
        max_fibers: int = 10,
        asker: str | None = None,
        vector: npt.NDArray[np.float32] | None = None,
        analysis: Extraction | None = None,
    ) -> tuple[ScoredFiber, ...]:
        """The memories :meth:`query` would recall, best first, and nothing else.

        No context is built, nothing is strengthened and no recall event is recorded: for
        callers that rank memories their own way (neuram does). Callers that analysed the
        query already pass what they have instead of having it computed again: ``vector``,
        its embedding under the pipeline's embedder, and ``analysis``, what
        ``extract(query, reference_time, with_own_day=False)`` found in it.
        """
        text = check_text(require_text(query, "query"), "query")
        now = _now(reference_time)
        level = _depth(depth, text)
        _check_max_fibers(max_fibers)
        signals = await self._signals(text, now, asker, vector, analysis)
        _, index, _, chosen = await self._rank(signals, level, now, max_fibers)
        return tuple(_scored(index.fibers[c.row].fiber, c) for c in chosen)

    async def _rank(
        self, signals: QuerySignals, level: DepthLevel, now: datetime, max_fibers: int
    ) -> tuple[BrainHandle, BrainIndex, Ranking, list[Candidate]]:
        """The handle, its index, the ranking, and its best ``max_fibers`` unexpired candidates."""
        handle = BrainHandle.of(self._storage)
        index = await handle.synced_index(self._embedder)
        ranking = rank(
            index,
            signals,
            hops=level.max_hops(self._config),
            trail=self._use_reflex,
            weights=self._weights,
            min_relative_score=self._min_relative_score,
            at_most=max_fibers * _EXPIRY_WINDOW,
        )
        chosen = await _unexpired(handle, index, ranking.candidates, max_fibers, now)
        return handle, index, ranking, chosen

    async def _signals(
        self,
        text: str,
        now: datetime,
        asker: str | None,
        vector: npt.NDArray[np.float32] | None = None,
        analysis: Extraction | None = None,
    ) -> QuerySignals:
        if analysis is None:
            analysis = extract(text, now, with_own_day=False)
        if self._embedder is None:
            vector = None
        elif vector is None:
            vector = (await self._embedder.embed([text]))[0]
        first_person = bool(_FIRST_PERSON & set(tokenize(text)))
        return QuerySignals(
            terms=analysis.terms,
            keys=analysis.keys,
            time_spans=analysis.time_spans,
            vector=vector,
            asker_key=word_key(asker) if first_person and asker else None,
            first_person=first_person,
        )

    async def _after_recall(
        self,
        handle: BrainHandle,
        index: BrainIndex,
        used: Sequence[Fiber],
        activated: Sequence[str],
        result: RetrievalResult,
        now: datetime,
    ) -> None:
        """Write back what recall used and record the query, both sent at once.

        The two writes are independent, so they go to storage together: one round trip to
        its thread instead of two. The first failure is raised once both are done.
        """
        writes: list[Awaitable[object]] = []
        if self._reinforce and used:
            writes.append(
                handle.write_deltas(self._reinforcement(index, used, activated, result, now))
            )
        if self._record_events:
            event = RecallEvent.create(
                result.query,
                result.fibers_matched,
                confidence=result.confidence,
                created_at=utcnow(),
            )
            writes.append(handle.storage.add_recall_event(event))
        outcomes = await asyncio.gather(*writes, return_exceptions=True)
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome

    def _reinforcement(
        self,
        index: BrainIndex,
        used: Sequence[Fiber],
        activated: Sequence[str],
        result: RetrievalResult,
        now: datetime,
    ) -> WriteBatch:
        """The deltas strengthening what recall used (see ``reinforcement_batch``)."""
        fired = set(activated) | set(result.anchors)
        synapses = [
            sid
            for fiber in used[:_STRENGTHENED_FIBERS]
            for sid in fiber.synapse_ids
            if (link := index.link(sid)) is not None
            and link.source_id in fired
            and link.target_id in fired
        ]
        return reinforcement_batch(
            self._config.reinforcement_delta,
            neuron_ids=result.anchors,
            synapse_ids=sorted(set(synapses)),
            fiber_ids=[fiber.id for fiber in used],
            at=now,
        )


async def _unexpired(
    handle: BrainHandle,
    index: BrainIndex,
    candidates: Sequence[Candidate],
    limit: int,
    now: datetime,
) -> list[Candidate]:
    """The best ``limit`` candidates whose memory has not expired, loaded in the index.

    Looks ``limit * _EXPIRY_WINDOW`` candidates down at most. The expiry of the first
    ``limit`` and their memories are read in one wait (both go to storage at once); the
    expiry of the rest of the window, and memories further down, are read only when one
    above them expired. A memory deleted from storage meanwhile is left out.
    """
    window = candidates[: limit * _EXPIRY_WINDOW]
    first, rest = window[:limit], window[limit:]
    typed, _ = await asyncio.gather(
        handle.storage.get_typed_memories_for_fibers(index.fibers[c.row].id for c in first),
        index.load_fibers(c.row for c in first),
    )
    fresh = _fresh(index, first, typed, now)
    if len(fresh) < limit and rest:  # one above expired: the window's rest may fill in
        typed = await handle.storage.get_typed_memories_for_fibers(
            index.fibers[c.row].id for c in rest
        )
        fresh = [*fresh, *_fresh(index, rest, typed, now)][:limit]
    await index.load_fibers(c.row for c in fresh)  # nothing left to read unless one expired
    return [c for c in fresh if index.fibers[c.row].loaded is not None]


def _fresh(
    index: BrainIndex,
    candidates: Sequence[Candidate],
    typed: Mapping[str, TypedMemory],
    now: datetime,
) -> list[Candidate]:
    """The ``candidates`` whose memory has no typed memory (``typed``) expired at ``now``."""
    return [
        c
        for c in candidates
        if not (m := typed.get(index.fibers[c.row].id)) or not m.is_expired(now)
    ]


def _scored(fiber: Fiber, candidate: Candidate, why: Explanation | None = None) -> ScoredFiber:
    return ScoredFiber(
        fiber_id=fiber.id,
        content=fiber.content,
        score=round(candidate.score, 6),
        lexical=round(candidate.lexical, 6),
        activation=round(candidate.activation, 6),
        semantic=round(candidate.semantic, 6),
        occurred_at=fiber.occurred_at,
        metadata=fiber.metadata,
        why=why,
    )


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


def _check_max_fibers(max_fibers: object) -> None:
    if isinstance(max_fibers, bool) or not isinstance(max_fibers, int) or max_fibers < 1:
        raise ValidationError("max_fibers must be a positive integer")


def _budget(max_tokens: int | None, config: BrainConfig) -> int:
    if max_tokens is None:
        return config.max_context_tokens
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise ValidationError(f"max_tokens must be a positive integer, got {max_tokens!r}")
    return max_tokens


def _co_activations(
    index: BrainIndex, rows: Sequence[int], anchors: Sequence[int]
) -> list[CoActivation]:
    """The neurons the recalled memories ``rows`` bind to two or more of the query's anchors.

    Each anchor is an activation set reaching the neurons of the memories that bind it; the
    core's :func:`~neural_memory.engine.activation.co_activations` groups what they share.
    """
    ids = index.neurons.ids
    distinct = list(dict.fromkeys(anchors))
    reached: dict[int, dict[str, None]] = {}
    for row in rows:
        members = index.fibers[row].neuron_rows
        inside = set(members)
        hit = dict.fromkeys([ids[a] for a in distinct if a in inside])
        if not hit:
            continue
        for neuron in members:  # the anchors reaching each neuron, first reached first
            by = reached.get(neuron)
            if by is None:
                reached[neuron] = dict(hit)
            else:
                by.update(hit)
    sources = {ids[n]: list(by) for n, by in reached.items()}
    return co_activations(sources, sets=len(distinct))


async def _context_lines(index: BrainIndex, chosen: Sequence[Candidate]) -> list[tuple[str, int]]:
    """The chosen memories' context lines and token counts (cached with each memory).

    A long memory's line is formatted and counted in a worker thread the first time (a
    million characters take about 0.15 s to count), so recalling it never holds the loop.
    """
    records = [index.fibers[c.row] for c in chosen]
    long = [r for r in records if r.line is None and len(r.fiber.content) > LONG_MEMORY_CHARS]
    if long:
        await asyncio.to_thread(lambda: [record.context_line() for record in long])
    return [record.context_line() for record in records]


def _now(reference_time: datetime | None) -> datetime:
    """``reference_time`` as UTC (default now); ValidationError unless a supported datetime."""
    moment = optional_utc(reference_time, "reference_time")
    return check_time(moment, "reference_time") if moment is not None else utcnow()
