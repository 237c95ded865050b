"""LexicalIndex: documents added in bulk score exactly as documents added one by one."""

from __future__ import annotations

import random

import numpy as np
import pytest

from neural_memory.engine.retrieval.lexical import LexicalIndex, group_bounds


def _documents(count: int) -> list[list[str]]:
    rng = random.Random(3)
    words = [f"w{i}" for i in range(300)]
    return [[rng.choice(words[: rng.choice((5, 300))]) for _ in range(rng.randint(0, 9))]
            for _ in range(count)]  # fmt: skip


def test_extend_scores_like_add_one_by_one() -> None:
    documents = _documents(400)
    one_by_one, bulk = LexicalIndex(), LexicalIndex()
    for row, terms in enumerate(documents):
        one_by_one.add(row, terms)
    bulk.add(0, documents[0])
    bulk.extend([" ".join(terms) for terms in documents[1:200]])
    bulk.extend([])
    bulk.extend([" ".join(terms) for terms in documents[200:]])
    one_by_one.remove(7)
    bulk.remove(7)
    assert bulk.size == one_by_one.size and bulk.live_count == one_by_one.live_count
    for query in (["w1", "w2"], ["w299", "w4", "w4"], ["absent"]):
        np.testing.assert_allclose(bulk.scores(query), one_by_one.scores(query), rtol=1e-6)
        assert [bulk.idf(t) for t in query] == pytest.approx([one_by_one.idf(t) for t in query])


def test_group_bounds_split_runs_of_equal_keys() -> None:
    keys = np.array([1, 1, 4, 6, 6, 6], dtype=np.int64)
    assert group_bounds(keys) == ([0, 2, 3], [2, 3, 6])
    assert group_bounds(np.array([], dtype=np.int64)) == ([], [])
