"""Retrieval-quality measures: pure functions over a ranking and a set of relevant ids.

``ranking`` is a sequence of ids, best first (duplicates after the first are ignored);
``relevant`` is the collection of ids judged relevant. All measures return a float in
``[0, 1]``; with no relevant ids the measure is undefined and ``ValueError`` is raised, so
callers must skip such questions explicitly (as the README's "strict" averaging does).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence


def _top_k(ranking: Sequence[str], k: int) -> list[str]:
    if k < 0:
        raise ValueError(f"k must be >= 0, got {k}")
    seen: set[str] = set()
    top: list[str] = []
    for item in ranking:
        if len(top) >= k:
            break
        if item not in seen:
            seen.add(item)
            top.append(item)
    return top


def _relevant_set(relevant: Collection[str]) -> frozenset[str]:
    rel = frozenset(relevant)
    if not rel:
        raise ValueError("no relevant items: the measure is undefined")
    return rel


def recall_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Partial-credit recall: ``|relevant ∩ top-k| / |relevant|`` (the LoCoMo measure)."""
    rel = _relevant_set(relevant)
    hits = sum(1 for item in _top_k(ranking, k) if item in rel)
    return hits / len(rel)


def recall_any_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 if at least one relevant item is in the top k, else 0.0."""
    rel = _relevant_set(relevant)
    return 1.0 if any(item in rel for item in _top_k(ranking, k)) else 0.0


def recall_all_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1.0 if every relevant item is in the top k, else 0.0."""
    rel = _relevant_set(relevant)
    return 1.0 if rel.issubset(_top_k(ranking, k)) else 0.0


def ndcg_at_k(ranking: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Binary-relevance NDCG@k with the ``1 / log2(rank + 1)`` discount."""
    rel = _relevant_set(relevant)
    dcg = sum(
        1.0 / math.log2(rank + 2) for rank, item in enumerate(_top_k(ranking, k)) if item in rel
    )
    ideal = sum(1.0 / math.log2(rank + 2) for rank in range(min(len(rel), k)))
    return dcg / ideal if ideal > 0 else 0.0


def dedupe_ranking(ids: Iterable[str]) -> list[str]:
    """Keep the first occurrence of every id, preserving order."""
    seen: set[str] = set()
    out: list[str] = []
    for item in ids:
        if item not in seen:
            seen.add(item)
            out.append(item)
    return out


def mean(values: Sequence[float]) -> float:
    """Arithmetic mean; ``nan`` for an empty sequence."""
    return sum(values) / len(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (``q`` in ``[0, 100]``); ``nan`` when empty."""
    if not values:
        return math.nan
    if not 0.0 <= q <= 100.0:
        raise ValueError(f"percentile must be within [0, 100], got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100.0
    lower = math.floor(position)
    upper = math.ceil(position)
    if lower == upper:
        return ordered[lower]
    weight = position - lower
    return ordered[lower] * (1.0 - weight) + ordered[upper] * weight
