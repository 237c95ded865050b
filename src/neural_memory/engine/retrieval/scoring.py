"""Score fusion for retrieval (pure functions over numpy arrays, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "FusionWeights",
    "fuse",
    "normalise",
    "relative_similarity",
    "top_rows",
]

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True, kw_only=True)
class FusionWeights:
    """How much each signal counts in a fiber's final score."""

    lexical: float = 1.0
    activation: float = 0.8
    activation_gamma: float = 0.5
    """Activation is compressed (``a ** gamma``) so that facts two hops away stay visible."""
    semantic: float = 0.6
    """Weight of embedding similarity, taken relative to the query (see ``relative_similarity``)."""
    time: float = 0.3
    entity: float = 0.2
    speaker: float = 0.4
    """What a memory gains when it was said by someone the query names: asked about a person,
    their own words tell most about them."""
    thread: float = 0.5
    """Share of a conversation neighbour's score a memory gains (see ``thread_boost``)."""
    superseded_penalty: float = 0.3
    conductivity: float = 0.03
    """How much a faded memory (low conductivity) loses: enough to break ties only."""
    feedback: float = 0.0
    """What a memory of the person a query names gains at most from matching the group of
    that person's best first-pass hits (see :mod:`~neural_memory.engine.retrieval.feedback`);
    0 (the default) switches person-scoped feedback off."""


def normalise(values: FloatArray) -> FloatArray:
    """Scale to 0-1 by the maximum (all zeros stay zeros)."""
    peak = float(values.max()) if values.size else 0.0
    return values / np.float32(peak) if peak > 0 else values


def relative_similarity(similarities: FloatArray, present: npt.NDArray[np.bool_]) -> FloatArray:
    """Cosine similarities rescaled per query: the median memory 0, the closest one 1.

    Raw cosines of a sentence model sit in a narrow band whose level depends on the query
    (short queries score lower everywhere), so as a score they barely move a ranking; how
    far a memory stands above the typical one is what tells. Rows without a vector get 0.
    """
    out = np.zeros_like(similarities)
    known = similarities[present]
    if known.size == 0:
        return out
    top = float(known.max())
    floor = float(np.median(known))
    if top <= floor:
        return out
    scaled = (similarities - np.float32(floor)) / np.float32(top - floor)
    np.clip(scaled, 0.0, 1.0, out=scaled)
    scaled[~present] = 0.0
    result: FloatArray = scaled.astype(np.float32, copy=False)
    return result


def top_rows(values: FloatArray, k: int) -> npt.NDArray[np.intp]:
    """Indices of the ``k`` largest positive values, best first; equal values lowest first.

    Ties are broken by index wherever they fall, at the cut too (``argpartition`` alone
    keeps an arbitrary few of the values equal to the k-th largest), so the answer does not
    depend on how numpy partitions. Only the k-th largest value is searched for (a partition
    of the values, no index array); the rows at or above it are then taken in index order.
    """
    size = values.size
    if k < 1:
        return np.zeros(0, dtype=np.intp)
    kth = np.partition(values, size - k)[size - k] if size > k else 0
    rows = np.flatnonzero(values >= kth) if kth > 0 else np.flatnonzero(values > 0)
    order = np.argsort(-values[rows], kind="stable")[:k]
    return rows[order]


def fuse(
    *,
    lexical: FloatArray,
    semantic: FloatArray | None,
    activation: FloatArray,
    time_match: FloatArray | None,
    entity_match: FloatArray,
    speaker_match: FloatArray,
    conductivity: FloatArray,
    superseded: npt.NDArray[np.bool_],
    weights: FusionWeights,
) -> FloatArray:
    """Combine per-fiber signals into one score per fiber row.

    Every argument holds one value per row, for the same rows (all of a brain's, or some
    of them): ``activation`` is the raw spreading activation, scaled here by its maximum
    (so ``rows`` must hold every activated fiber); the other signals are already 0-1.
    ``semantic`` and ``time_match`` may be None (no query vector, no time asked about):
    every row 0, and the passes that would add those zeros are skipped (adding 0 changes
    no float, so the scores are the same).
    """
    act = normalise(activation) ** weights.activation_gamma
    score = weights.lexical * lexical + weights.activation * act
    if semantic is not None:
        score = score + weights.semantic * semantic
    relevant = score > 0
    if time_match is None:
        context = weights.entity * entity_match + weights.speaker * speaker_match
    else:  # summed in this order, as always
        timed = weights.time * time_match + weights.entity * entity_match
        context = timed + weights.speaker * speaker_match
    score = score + context * relevant
    score *= 1.0 - weights.conductivity + weights.conductivity * conductivity
    score[superseded] *= weights.superseded_penalty
    fused: FloatArray = score.astype(np.float32, copy=False)
    return fused
