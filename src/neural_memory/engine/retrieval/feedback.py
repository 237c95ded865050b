"""Person-scoped relevance feedback: gather the memories a question about someone spreads over.

A question about a person's activities, preferences or history ("What books has Tim read?")
has its answer in many memories from many sessions, and most of them do not repeat the
question's words. The best first-pass hits do share what the rest have in common: the
topic's vocabulary ("read", "novel", "series") and its region of the embedding space. So the
best few hits are taken as a *group* (their shared terms and their centroid) and each memory
of the person the query names gains from how well it matches that group; the group's members
then come up together. This is pseudo-relevance feedback (Rocchio / RM3), restricted to the
memories of the named person so that it cannot drift to other people's topics.

Off by default (``FusionWeights.feedback`` 0): on LoCoMo's held-out conversations it lifts
multi-hop recall without embeddings but lowers overall recall with them (docs/quality.md).

Pure functions over the ranking's arrays; no I/O.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.engine.retrieval.scoring import (
    FloatArray,
    normalise,
    relative_similarity,
    top_rows,
)

__all__ = [
    "FeedbackParams",
    "centroid",
    "expansion_terms",
    "feedback_gain",
    "person_feedback",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedbackParams:
    """How the first-pass hits are turned into a group and how much its members gain.

    Attributes:
        weight: What a memory of the named person gains at most (0 switches feedback off).
        seeds: How many of the best first-pass hits of that person form the group.
        terms: How many shared terms describe the group.
        min_shared: A term describes the group when at least this many seeds hold it.
        min_relative: A seed scores at least this share of the best one: the group is what
            the first pass is sure of, not whatever fills its top ``seeds`` places.
    """

    weight: float = 0.0
    seeds: int = 5
    terms: int = 10
    min_shared: int = 2
    min_relative: float = 0.7


def expansion_terms(
    seed_terms: Sequence[Iterable[str]],
    share_of_all: Callable[[str], float],
    *,
    exclude: Iterable[str],
    limit: int,
    min_shared: int,
) -> list[tuple[str, float]]:
    """The terms that set the seeds apart, with weights, best first.

    A term counts when ``min_shared`` or more seeds hold it; its weight is ``s * log(s / b)``
    with ``s`` the share of seeds holding it and ``b`` its share of all memories
    (``share_of_all``): what the seeds have in common *and* the rest of the brain does not
    (the words of the group's topic, not greetings or the other speaker's name). ``exclude``
    (the query's own terms) are left out: they already scored the first pass.
    """
    left_out = set(exclude)
    seeds = [set(terms) - left_out for terms in seed_terms]
    counts = Counter(term for terms in seeds for term in terms)
    weighted = []
    for term, count in counts.items():
        share, background = count / len(seeds), share_of_all(term)
        if count >= min_shared and 0.0 < background < share:
            weighted.append((term, share * math.log(share / background)))
    weighted.sort(key=lambda pair: -pair[1])
    return weighted[:limit]


def centroid(vectors: Sequence[FloatArray]) -> FloatArray | None:
    """The L2-normalised mean of ``vectors`` (None when there are none or they cancel out)."""
    if not vectors:
        return None
    mean = np.mean(np.stack(vectors), axis=0).astype(np.float32)
    norm = float(np.linalg.norm(mean))
    if norm <= 0.0:
        return None
    normalised: FloatArray = mean / np.float32(norm)
    return normalised


def feedback_gain(
    *,
    lexical: FloatArray,
    semantic: FloatArray,
    members: FloatArray,
    weight: float,
) -> FloatArray:
    """What each memory gains from the group: ``weight`` times its best match, for members.

    ``lexical`` and ``semantic`` are how well each memory matches the group's terms and its
    centroid (each 0-1, zeros when a signal is missing); ``members`` is 1 for the memories of
    the person the query names, else 0.
    """
    match = np.maximum(lexical, semantic)
    gain: FloatArray = (np.float32(weight) * match * members).astype(np.float32, copy=False)
    return gain


def person_feedback(
    index: BrainIndex,
    fused: FloatArray,
    *,
    query_terms: Sequence[str],
    members: FloatArray,
    with_vectors: bool,
    params: FeedbackParams,
) -> FloatArray:
    """The feedback gain of every fiber row of ``index`` (zeros when there is no group).

    The group is the best ``params.seeds`` rows of ``fused`` among ``members`` (the named
    person's memories); with ``with_vectors`` (the query was embedded) its centroid adds a
    semantic match to the lexical one.
    """
    size = len(fused)
    zeros = np.zeros(size, dtype=np.float32)
    scores = fused * members
    seeds = top_rows(scores, params.seeds)
    if seeds.size:
        seeds = seeds[scores[seeds] >= params.min_relative * scores[seeds[0]]]
    if params.weight <= 0 or seeds.size < params.min_shared:
        return zeros
    terms = expansion_terms(
        [index.fiber_terms(int(row)) for row in seeds],
        _share_of_all(index),
        exclude=query_terms,
        limit=params.terms,
        min_shared=params.min_shared,
    )
    lexical = zeros.copy()
    for term, weight in terms:
        lexical += np.float32(weight) * index.lexical.scores((term,))
    lexical = normalise(lexical)
    semantic = zeros
    if with_vectors:
        vectors = [v for row in seeds if (v := index.vectors.get(int(row))) is not None]
        middle = centroid(vectors)
        if middle is not None:
            sims = index.vectors.similarities(middle, size)
            semantic = relative_similarity(sims, index.vectors.present(size))
    return feedback_gain(lexical=lexical, semantic=semantic, members=members, weight=params.weight)


def _share_of_all(index: BrainIndex) -> Callable[[str], float]:
    """A term's share of the brain's live memories (smoothed, so never 0 nor 1)."""
    alive = index.lexical.live_count
    return lambda term: (index.lexical.document_frequency(term) + 0.5) / (alive + 1.0)
