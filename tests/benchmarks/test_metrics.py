"""Hand-computed cases for the retrieval measures."""

from __future__ import annotations

import math

import pytest
from benchmarks.quality.metrics import (
    dedupe_ranking,
    mean,
    ndcg_at_k,
    percentile,
    recall_all_at_k,
    recall_any_at_k,
    recall_at_k,
)

RANKING = ["a", "b", "c", "d", "e"]


def test_recall_at_k_partial_credit() -> None:
    assert recall_at_k(RANKING, {"b", "e"}, 1) == 0.0
    assert recall_at_k(RANKING, {"b", "e"}, 2) == 0.5
    assert recall_at_k(RANKING, {"b", "e"}, 5) == 1.0
    assert recall_at_k(RANKING, {"a", "z", "y"}, 5) == pytest.approx(1 / 3)


def test_recall_at_k_ignores_duplicates_and_short_rankings() -> None:
    assert recall_at_k(["a", "a", "b"], {"b"}, 2) == 1.0
    assert recall_at_k(["a"], {"a", "b"}, 10) == 0.5
    assert recall_at_k([], {"a"}, 5) == 0.0


def test_recall_any_and_all() -> None:
    assert recall_any_at_k(RANKING, {"c", "z"}, 3) == 1.0
    assert recall_any_at_k(RANKING, {"c", "z"}, 2) == 0.0
    assert recall_all_at_k(RANKING, {"c", "z"}, 5) == 0.0
    assert recall_all_at_k(RANKING, {"a", "c"}, 3) == 1.0
    assert recall_all_at_k(RANKING, {"a", "d"}, 3) == 0.0


def test_ndcg_hand_computed() -> None:
    # One relevant item at rank 1: DCG = IDCG = 1.
    assert ndcg_at_k(RANKING, {"a"}, 10) == 1.0
    # One relevant item at rank 3: DCG = 1/log2(4) = 0.5, IDCG = 1.
    assert ndcg_at_k(RANKING, {"c"}, 10) == pytest.approx(0.5)
    # Relevant {b, d} at ranks 2 and 4: DCG = 1/log2(3) + 1/log2(5);
    # IDCG = 1 + 1/log2(3).
    expected = (1 / math.log2(3) + 1 / math.log2(5)) / (1 + 1 / math.log2(3))
    assert ndcg_at_k(RANKING, {"b", "d"}, 10) == pytest.approx(expected)
    # Cut at k=3: only b counts; IDCG still has two slots.
    assert ndcg_at_k(RANKING, {"b", "d"}, 3) == pytest.approx(
        (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    )
    # More relevant items than k: IDCG uses k slots, so a perfect top-1 scores 1.
    assert ndcg_at_k(RANKING, {"a", "b", "c"}, 1) == 1.0
    assert ndcg_at_k(RANKING, {"z"}, 5) == 0.0


@pytest.mark.parametrize("measure", [recall_at_k, recall_any_at_k, recall_all_at_k, ndcg_at_k])
def test_no_relevant_items_is_an_error(measure: object) -> None:
    with pytest.raises(ValueError):
        measure(RANKING, set(), 5)  # type: ignore[operator]


def test_negative_k_is_an_error() -> None:
    with pytest.raises(ValueError):
        recall_at_k(RANKING, {"a"}, -1)


def test_helpers() -> None:
    assert dedupe_ranking(["s1", "s2", "s1", "s3", "s2"]) == ["s1", "s2", "s3"]
    assert mean([1.0, 0.0, 0.5]) == 0.5
    assert math.isnan(mean([]))
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([5.0], 95) == 5.0
    assert percentile(list(map(float, range(101))), 95) == 95.0
    assert math.isnan(percentile([], 50))
