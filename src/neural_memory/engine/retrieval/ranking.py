"""Ranking: from a query's terms, anchors and vector to scored fiber rows (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from neural_memory.core.neuron import NeuronType, stable_neuron_id
from neural_memory.engine.activation import SpreadParams, SpreadResult, spread
from neural_memory.engine.extraction import word_key
from neural_memory.engine.retrieval.candidates import (
    BitArray,
    RowScores,
    Stamp,
    member_bits,
    member_mask,
)
from neural_memory.engine.retrieval.feedback import FeedbackParams, person_feedback
from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.engine.retrieval.lexical import merge_rows, sorted_union
from neural_memory.engine.retrieval.scoring import (
    FusionWeights,
    fuse,
    normalise,
    relative_similarity,
    top_rows,
)
from neural_memory.engine.timeparse import TimeSpan

__all__ = ["Candidate", "QuerySignals", "Ranking", "rank"]

SEED_FIBERS = 20
CANDIDATES = 200
MAX_ENTITY_FIBERS = 50_000
"""Fibers of one entity considered for the entity-match signal (bounds work on giant hubs)."""

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True, kw_only=True)
class QuerySignals:
    """What the query says, already analysed: terms, neuron keys, times and its vector."""

    terms: Sequence[str]
    keys: Sequence[str]
    time_spans: Sequence[TimeSpan]
    vector: FloatArray | None = None
    asker_key: str | None = None
    """Neuron key of who is asking, when the query speaks in the first person."""
    first_person: bool = False
    """The query speaks in the first person; without ``asker_key`` the brain's owner asks."""


class Candidate(NamedTuple):
    """One fiber row with its fused score and the signals behind it.

    Immutable; a named tuple rather than a frozen dataclass because every recall builds up to
    :data:`CANDIDATES` of them, and a tuple is several times cheaper to build.
    """

    row: int
    score: float
    lexical: float
    activation: float
    semantic: float


@dataclass(frozen=True, slots=True)
class Ranking:
    """Candidates best first, the activation that produced them, and the query's anchors."""

    candidates: list[Candidate]
    spread: SpreadResult
    anchors: list[int]
    coverage: float


def rank(
    index: BrainIndex,
    signals: QuerySignals,
    *,
    hops: int,
    trail: bool,
    weights: FusionWeights,
    min_relative_score: float,
    at_most: int | None = None,
) -> Ranking:
    """Score the fibers of ``index`` the query reaches and keep the best candidates.

    Only the rows some signal reaches are scored (see :mod:`.candidates`): the query terms'
    postings, the rows similar to the query's vector, the rows spreading activation reached
    and their conversation neighbours. Every other row would score 0. ``at_most``: at most
    this many candidates are returned (the best; default :data:`CANDIDATES`).
    """
    lexical = _lexical(index, signals.terms)
    cosine, semantic = _semantic(index, signals.vector)
    anchors = anchor_rows(index, signals.keys)
    seeded, seed_scores = _seeded(lexical, semantic)
    seeds = top_rows(seed_scores, SEED_FIBERS)
    top = float(seed_scores[seeds[0]]) if seeds.size else 1.0
    result = spread(
        seed_fibers={int(seeded.rows[p]): float(seed_scores[p]) / top for p in seeds},
        anchor_neurons={a: anchor_weight(index, a) for a in anchors},
        fiber_neurons=index.fiber_neuron_view(),
        neuron_fibers=index.neurons.fibers,
        adjacency=index.neurons.adjacency,
        params=SpreadParams(hops=hops, trail=trail),
        quiet_neurons=index.time_rows,
    )
    asker = _asker_row(index, signals)
    entities = _entities(index, anchors, asker)
    feedback = weights.feedback > 0 and bool(entities)
    rows, lexical_rows, activation = _candidates(
        index, seeded, result.fiber_activation, every_row=feedback
    )
    entity_match = _entity_match(index, entities, rows)
    speaker_match = _speaker_match(index, entities, rows)
    fused = fuse(
        lexical=lexical_rows,
        semantic=None if semantic is None else semantic[rows],
        activation=activation,
        time_match=_time_match(index, signals.time_spans, rows) if signals.time_spans else None,
        entity_match=entity_match,
        speaker_match=speaker_match,
        conductivity=index.conductivity()[rows],
        superseded=index.suppressed()[rows],
        weights=weights,
    )
    if feedback:  # rows are every row: person_feedback reads the dense arrays
        fused += person_feedback(
            index,
            fused,
            query_terms=signals.terms,
            members=np.maximum(entity_match > 0, speaker_match).astype(np.float32),
            with_vectors=signals.vector is not None,
            params=FeedbackParams(weight=weights.feedback),
        )
    ranked, scores = _with_thread_neighbours(index, RowScores(rows, fused), weights.thread, asker)
    if ranked.size:
        keep = scores >= min_relative_score * scores[0]
        ranked, scores = ranked[keep], scores[keep]
    alive = index.lexical.live(ranked)  # a memory is live exactly while its document is
    picked, picked_scores = ranked[alive][:at_most], scores[alive][:at_most]
    candidates = [
        Candidate(*values)
        for values in zip(
            picked.tolist(),
            picked_scores.tolist(),
            lexical.at(picked).tolist(),
            _relative_activation(result.fiber_activation, picked.tolist()).tolist(),
            _gather(cosine, picked).tolist(),
            strict=True,
        )
    ]
    coverage = _coverage(index, candidates[:3], signals.terms)
    return Ranking(candidates, result, anchors, coverage)


def _lexical(index: BrainIndex, terms: Sequence[str]) -> RowScores:
    """BM25 of the rows holding a query term, 1.0 for the best (``normalise`` of the dense)."""
    rows, values = index.lexical.sparse_scores(terms)
    return RowScores(rows, normalise(values))


def _seeded(lexical: RowScores, semantic: FloatArray | None) -> tuple[RowScores, FloatArray]:
    """The rows the query's terms or vector reached with their BM25, and their seed scores.

    Seed scores are BM25 plus relative similarity (the rows closer than the median memory).
    """
    if semantic is None:
        return lexical, lexical.values
    rows, (at, _) = merge_rows([lexical.rows, np.flatnonzero(semantic > 0)])
    bm25 = np.zeros(rows.shape, dtype=np.float32)
    bm25[at] = lexical.values
    return RowScores(rows, bm25), bm25 + semantic[rows]


def _candidates(
    index: BrainIndex, seeded: RowScores, activation: dict[int, float], *, every_row: bool
) -> tuple[RowArray, FloatArray, FloatArray]:
    """The rows scored, and their BM25 (``seeded``: 0 elsewhere) and raw activation.

    The rows are those the query or its vector reached and those activation reached; with
    ``every_row``, every row of the index.
    """
    reached = np.fromiter(activation, dtype=np.intp, count=len(activation))
    if every_row:
        rows = np.arange(len(index.fibers), dtype=np.intp)
        seeded_at, reached_at = seeded.rows, reached
    else:
        rows, (seeded_at, reached_at) = merge_rows([seeded.rows, reached])
    lexical = np.zeros(rows.shape, dtype=np.float32)
    lexical[seeded_at] = seeded.values
    raw = np.zeros(rows.shape, dtype=np.float32)
    raw[reached_at] = np.fromiter(activation.values(), dtype=np.float32, count=len(activation))
    return rows, lexical, raw


def _gather(values: FloatArray | None, rows: RowArray) -> FloatArray:
    """``values[rows]``; zeros when there are no values (no query vector)."""
    if values is None:
        return np.zeros(rows.shape, dtype=np.float32)
    gathered: FloatArray = values[rows]
    return gathered


def thread_boost(
    scores: FloatArray | RowScores,
    rows: npt.NDArray[np.intp],
    previous: npt.NDArray[np.int32],
    following: npt.NDArray[np.int32],
    asks: npt.NDArray[np.bool_],
    speakers: npt.NDArray[np.int32],
    weight: float,
) -> FloatArray:
    """What each of ``rows`` gains from the question-and-answer exchange it belongs to.

    A memory that follows a question (one step, or two steps at half weight) gains
    ``weight`` times that question's score (``scores``: every row's, or some rows' with the
    rest 0), and a question gains from the memory that
    answers it: an answer rarely repeats the words of what it answers. Someone does not answer
    their own question: a memory and the one right next to it, said by the same known speaker
    (``speakers``, -1 unknown), exchange no gain, so a run of one person's notes is not
    mistaken for a conversation. Two steps on, the same speaker is following up on what they
    asked (question, reply, follow-up), which keeps its half gain.
    """
    before = _at(previous, rows)
    twice_before = _at(previous, before)
    after = _at(following, rows)
    after_question = np.maximum(
        _asked(scores, asks, before) * _other(speakers, rows, before),
        0.5 * _asked(scores, asks, twice_before),
    )
    answered = _score(scores, after) * asks[rows] * _other(speakers, rows, after)
    boost: FloatArray = (weight * np.maximum(after_question, answered)).astype(
        np.float32, copy=False
    )
    return boost


def _with_thread_neighbours(
    index: BrainIndex, fused: RowScores, weight: float, asker: int | None
) -> tuple[RowArray, FloatArray]:
    """The best rows and their scores, best first, after the thread gains of the top rows.

    Only the neighbourhood of the best candidates can change the ranking, so the work is
    bounded by the number of candidates, not by the size of the brain; in a brain where no
    memory asks a question, nothing gains and the pass is skipped. Asked by someone about
    their own life (``asker``), only their own words gain.
    """
    top = top_rows(fused.values, CANDIDATES)
    if weight <= 0 or not top.size or not index.asks().any():
        # only a question passes gains on, or gains from its answer: none, nothing moves
        return fused.rows[top], fused.values[top]
    rows = fused.rows[top]
    previous, following = index.thread_links()
    after = _at(following, rows)
    pool = sorted_union([rows, _at(previous, rows), after, _at(following, after)])
    pool = pool[pool >= 0]
    gain = thread_boost(fused, pool, previous, following, index.asks(), index.speakers(), weight)
    if asker is not None:
        gain *= _binds(index, asker, pool)
    scores = fused.at(pool) + gain
    order = np.argsort(-scores, kind="stable")[:CANDIDATES]
    ranked, ranked_scores = pool[order], scores[order]
    keep = ranked_scores > 0
    return ranked[keep], ranked_scores[keep]


def _at(links: npt.NDArray[np.int32], rows: npt.NDArray[np.intp]) -> npt.NDArray[np.intp]:
    """``links[rows]``, keeping -1 (no link) as -1."""
    out = np.full(rows.shape, -1, dtype=np.intp)
    valid = rows >= 0
    out[valid] = links[rows[valid]]
    return out


def _score(scores: FloatArray | RowScores, rows: npt.NDArray[np.intp]) -> FloatArray:
    out = np.zeros(rows.shape, dtype=np.float32)
    valid = rows >= 0
    wanted = rows[valid]
    out[valid] = scores.at(wanted) if isinstance(scores, RowScores) else scores[wanted]
    return out


def _other(
    speakers: npt.NDArray[np.int32], rows: npt.NDArray[np.intp], others: npt.NDArray[np.intp]
) -> FloatArray:
    """0 where ``rows[i]`` and ``others[i]`` were said by the same known speaker, else 1."""
    mine = speakers[rows]
    theirs = np.where(others >= 0, speakers[np.maximum(others, 0)], -1)
    return np.where((mine >= 0) & (mine == theirs), 0.0, 1.0).astype(np.float32)


def _asked(
    scores: FloatArray | RowScores, asks: npt.NDArray[np.bool_], rows: npt.NDArray[np.intp]
) -> FloatArray:
    return _score(scores, rows) * np.where(rows >= 0, asks[np.maximum(rows, 0)], False)


def anchor_rows(index: BrainIndex, keys: Sequence[str]) -> list[int]:
    """Rows of the neurons the query names directly."""
    rows = []
    for key in keys:
        row = index.neuron_row(stable_neuron_id(key))
        if row is not None:
            rows.append(row)
    return rows


def anchor_weight(index: BrainIndex, row: int) -> float:
    """Initial activation of an anchor: rare neurons fire harder than common ones."""
    degree = len(index.neurons.fibers[row])
    alive = max(1, index.lexical.live_count)
    return float(np.log1p(alive / max(1, degree)) / np.log1p(alive))


def _semantic(
    index: BrainIndex, vector: FloatArray | None
) -> tuple[FloatArray | None, FloatArray | None]:
    """Each row's cosine similarity to the query (clipped to 0-1) and its relative score.

    Both None without a query vector (every row 0).
    """
    if vector is None:
        return None, None
    size = len(index.fibers)
    sims = index.vectors.similarities(vector, size)
    cosine: FloatArray = np.clip(sims, 0.0, 1.0).astype(np.float32, copy=False)
    return cosine, relative_similarity(sims, index.vectors.present(size))


OWNER_ROLE = "user"
"""The chat role of whoever a brain's memories are about, when it speaks in them."""
OWNER_LEAD = 2.0
"""A brain without that role is owned by a speaker who said this many times more than anyone."""


def _asker_row(index: BrainIndex, signals: QuerySignals) -> int | None:
    """The neuron row of who asks: the named asker, else for a first-person query the owner."""
    if signals.asker_key is not None:
        return _row_of(index, signals.asker_key)
    if not signals.first_person:
        return None
    role_row = _row_of(index, word_key(OWNER_ROLE))
    return index.recall_arrays.owner(
        _stamp(index), role_row, lambda: owner_row(index.speakers(), role_row)
    )


def owner_row(speakers: npt.NDArray[np.int32], role_row: int | None) -> int | None:
    """Whose brain this is, from who said its memories (``speakers``: neuron row per fiber).

    The chat role ``user`` (``role_row``) when it speaks in the brain; else the speaker of
    the most memories when they said at least :data:`OWNER_LEAD` times as many as the next
    speaker (one person's notes and chats); else nobody (a conversation among equals).
    """
    said = speakers[speakers >= 0]
    if said.size == 0:
        return None
    if role_row is not None and bool(np.any(said == role_row)):
        return role_row
    counts = np.bincount(said)
    top = int(np.argmax(counts))
    runner_up = float(np.max(np.delete(counts, top))) if counts.size > 1 else 0.0
    return top if counts[top] >= OWNER_LEAD * runner_up else None


def _row_of(index: BrainIndex, key: str | None) -> int | None:
    return index.neuron_row(stable_neuron_id(key)) if key is not None else None


def _stamp(index: BrainIndex) -> Stamp:
    return (index.neurons, len(index.fibers), index.lexical.live_count)


def _binds(index: BrainIndex, neuron: int, rows: RowArray) -> FloatArray:
    """1.0 for each of ``rows`` binding ``neuron``, else 0.0.

    Only the first MAX_ENTITY_FIBERS fibers of a neuron count (bounds work on giant hubs).
    """

    def members() -> BitArray:
        fibers = index.neurons.fibers[neuron][:MAX_ENTITY_FIBERS]
        rows = np.fromiter(fibers, dtype=np.intp, count=len(fibers))
        return member_bits(rows, len(index.fibers))

    return member_mask(index.recall_arrays.members(_stamp(index), neuron, members), rows)


def _entities(index: BrainIndex, anchors: Sequence[int], asker: int | None) -> list[int]:
    """Neuron rows of the entities the query names, and of its asker."""
    entities = [a for a in anchors if _is_entity(index, a)]
    if asker is not None and asker not in entities:
        entities.append(asker)
    return entities


def _entity_match(index: BrainIndex, entities: Sequence[int], rows: RowArray) -> FloatArray:
    """Share of ``entities`` each of ``rows`` binds."""
    match = np.zeros(rows.shape, dtype=np.float32)
    for entity in entities:
        match += _binds(index, entity, rows) / len(entities)
    return match


def _speaker_match(index: BrainIndex, entities: Sequence[int], rows: RowArray) -> FloatArray:
    """1 for each of ``rows`` one of ``entities`` said (their speaker), else 0."""
    if not entities:
        return np.zeros(rows.shape, dtype=np.float32)
    speakers = index.speakers()[rows]
    said = speakers == entities[0]
    for entity in entities[1:]:  # a few rows: one pass each beats np.isin's setup
        said |= speakers == entity
    match: FloatArray = said.astype(np.float32)
    return match


def _is_entity(index: BrainIndex, row: int) -> bool:
    return index.neuron_type(row) is NeuronType.ENTITY


def _relative_activation(activation: dict[int, float], rows: Sequence[int]) -> FloatArray:
    """Activation of ``rows`` as a share of the strongest (float32), without a dense array.

    The same values as ``normalise`` over a dense per-row array, read at ``rows``: the
    dense array's maximum is the strongest activation (activations are positive).
    """
    picked = np.fromiter(
        (activation.get(row, 0.0) for row in rows), dtype=np.float32, count=len(rows)
    )
    if not activation:
        return picked
    peak = float(np.fromiter(activation.values(), dtype=np.float32, count=len(activation)).max())
    return picked / np.float32(peak) if peak > 0 else picked


def _time_match(index: BrainIndex, spans: Sequence[TimeSpan], rows: RowArray) -> FloatArray:
    """1 for each of ``rows`` whose event happened inside one of ``spans``, else 0."""
    match = np.zeros(rows.shape, dtype=np.float32)
    if spans:
        days = index.occurred_days()[rows]
        for span in spans:
            inside = (days >= span.start.toordinal()) & (days <= span.end.toordinal())
            match = np.maximum(match, inside.astype(np.float32))
    return match


def _coverage(index: BrainIndex, candidates: Sequence[Candidate], terms: Sequence[str]) -> float:
    wanted = {t: index.lexical.idf(t) for t in terms}
    total = sum(wanted.values())
    if not candidates or total <= 0:
        return 0.0
    present: set[str] = set()
    for candidate in candidates:
        present |= index.fiber_terms(candidate.row)
    return sum(w for t, w in wanted.items() if t in present) / total
