"""Recall scoring: cue and cosine give initial activation, associations spread it (pure).

Initial activation of an engram is its cosine similarity to the query (when both have
embeddings) blended with how much of the query's cue it holds: the idf-weighted share of the
query's fragments (the engine's neurons: stemmed words, names, times) that are fragments of
the engram too. Activation then spreads through the association graph, multiplied by the
edge weight and by 0.6 at every hop (Collins & Loftus). The recall score weighs activation
by how vivid the memory still is.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from neural_memory.core.neuron import stable_neuron_id
from neural_memory.engine.activation import spread_max
from neural_memory.engine.extraction import Extraction, extract
from neuram.engram import Association, Engram
from neuram.forgetting import current_strength

__all__ = [
    "HOP_DECAY",
    "MAX_HOPS",
    "MIN_ACTIVATION",
    "Candidate",
    "EngramSource",
    "analyse_query",
    "cue_coverage",
    "cue_of",
    "fragment_weights",
    "fragments_of",
    "idf",
    "initial_activation",
    "query_fragments",
    "rank",
    "recall_score",
    "spread_activation",
]

HOP_DECAY = 0.6
"""Activation kept per hop through the association graph."""
MAX_HOPS = 2
"""How far activation spreads from the engrams the query lit up directly."""
MIN_ACTIVATION = 0.05
"""Engrams less active than this are not recalled."""
SEMANTIC_WEIGHT = 0.6
"""Share of initial activation from cosine similarity (the rest from the cue)."""
_VIVIDNESS_WEIGHT = 0.25


@dataclass(frozen=True, slots=True)
class Candidate:
    """An engram a query may recall: its cosine similarity (None without embeddings)."""

    engram: Engram
    cosine: float | None
    weight: float = 1.0
    """Multiplies the activation (e.g. a statement superseded by a newer one counts less)."""


class EngramSource(Protocol):
    """Where engrams live, as recall needs it: fragment statistics and lookup by id."""

    @property
    def size(self) -> int:
        """Number of engrams."""
        ...

    def fragment_count(self, fragment: str) -> int:
        """How many engrams hold ``fragment``."""
        ...

    def lookup(self, engram_id: str) -> Engram | None:
        """The engram with this id, or None."""
        ...


def _moment(posix: float) -> datetime:
    return datetime.fromtimestamp(posix, UTC)


def fragments_of(content: str, created_at: float) -> list[str]:
    """The fragment ids of a memory written at ``created_at`` (the engine's neuron ids)."""
    return [stable_neuron_id(key) for key in extract(content, _moment(created_at)).keys]


def analyse_query(query: str, now: float) -> Extraction:
    """What a query holds, once per recall: the engine's extraction (its own day is no cue)."""
    return extract(query, _moment(now), with_own_day=False)


def cue_of(analysis: Extraction) -> list[str]:
    """The fragment ids a query cues, from its :func:`analyse_query`."""
    return [stable_neuron_id(key) for key in analysis.keys]


def query_fragments(query: str, now: float) -> list[str]:
    """The fragment ids a query cues (its own day is not a cue)."""
    return cue_of(analyse_query(query, now))


def idf(document_frequency: int, documents: int) -> float:
    """BM25 inverse document frequency (rare fragments tell more)."""
    documents = max(documents, document_frequency)
    return math.log(1.0 + (documents - document_frequency + 0.5) / (document_frequency + 0.5))


def fragment_weights(fragments: Sequence[str], sources: Sequence[EngramSource]) -> dict[str, float]:
    """The idf of each query fragment over every source together."""
    documents = sum(source.size for source in sources)
    return {
        fragment: idf(sum(source.fragment_count(fragment) for source in sources), documents)
        for fragment in dict.fromkeys(fragments)
    }


def cue_coverage(weights: Mapping[str, float], fragments: Iterable[str]) -> float:
    """The idf-weighted share of the query's fragments that the engram holds (0-1)."""
    total = sum(weights.values())
    if total <= 0.0:
        return 0.0
    held = set(fragments)
    return sum(weight for fragment, weight in weights.items() if fragment in held) / total


def initial_activation(cosine: float | None, cue: float) -> float:
    """Activation before spreading: cosine blended with the cue (the cue alone without)."""
    if cosine is None:
        return cue
    return SEMANTIC_WEIGHT * max(0.0, cosine) + (1.0 - SEMANTIC_WEIGHT) * cue


def spread_activation(
    seeds: Mapping[str, float],
    neighbours: Callable[[str], Iterable[Association]],
    *,
    decay: float = HOP_DECAY,
    hops: int = MAX_HOPS,
) -> dict[str, float]:
    """Spread activation from ``seeds`` through association edges, ``decay`` per hop.

    An engram keeps the strongest activation that reaches it (its own, or a neighbour's
    times the edge weight times ``decay`` per hop), so a neighbourhood lights up without
    hubs piling up activation: the engine's :func:`~neural_memory.engine.activation.spread_max`
    over the association graph.
    """
    reached = spread_max(seeds, neighbours, decay=decay, hops=hops, min_activation=MIN_ACTIVATION)
    return reached.activation


def recall_score(activation: float, vividness: float) -> float:
    """The recall score: activation, weighed by how vivid the memory still is (0-1)."""
    return activation * (1.0 - _VIVIDNESS_WEIGHT + _VIVIDNESS_WEIGHT * vividness)


def rank(
    candidates: Sequence[Candidate],
    sources: Sequence[EngramSource],
    cue: Sequence[str],
    *,
    now: float,
    top_k: int,
) -> list[tuple[Engram, float]]:
    """Score ``candidates`` for a query cueing ``cue``, spread, and keep the best ``top_k``."""
    weights = fragment_weights(cue, sources)
    known: dict[str, Engram] = {}
    seeds: dict[str, float] = {}
    for candidate in candidates:
        engram = candidate.engram
        known[engram.engram_id] = engram
        value = candidate.weight * initial_activation(
            candidate.cosine, cue_coverage(weights, engram.fragments)
        )
        if value > seeds.get(engram.engram_id, 0.0):
            seeds[engram.engram_id] = value

    def find(engram_id: str) -> Engram | None:
        found = known.get(engram_id) or _lookup(sources, engram_id)
        if found is not None:
            known[engram_id] = found
        return found

    def neighbours(engram_id: str) -> list[Association]:
        found = find(engram_id)
        return found.associations if found is not None else []

    activation = spread_activation(seeds, neighbours)
    scored = [
        (hit, recall_score(value, current_strength(hit, now)))
        for engram_id, value in activation.items()
        if value >= MIN_ACTIVATION and (hit := find(engram_id)) is not None
    ]
    scored.sort(key=lambda pair: (-pair[1], pair[0].engram_id))
    return [(engram, round(score, 6)) for engram, score in scored[:top_k]]


def _lookup(sources: Sequence[EngramSource], engram_id: str) -> Engram | None:
    for source in sources:
        engram = source.lookup(engram_id)
        if engram is not None:
            return engram
    return None
