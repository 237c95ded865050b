"""Recall scores only the rows its signals reach; what it keeps between queries stays true."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from neural_memory import Brain, BrainConfig
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.extraction import extract
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.retrieval import lexical as lexical_module
from neural_memory.engine.retrieval.candidates import RowScores, member_bits, member_mask
from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.engine.retrieval.lexical import LexicalIndex, merge_rows, sorted_union
from neural_memory.engine.retrieval.ranking import QuerySignals, rank
from neural_memory.engine.retrieval.scoring import FusionWeights, top_rows
from tests.backends import BACKENDS

START = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
QUERY = "What did Carol tell me about the mobile team?"


def _memories(first: int, count: int) -> list[MemoryInput]:
    speakers = ["user", "Carol", "Ben"]
    topics = ["mobile team", "login crash", "billing service", "release plan"]
    return [
        MemoryInput(
            text=f"Carol and Dan talked about the {topics[i % 4]} on day {i}",
            timestamp=START + timedelta(hours=i),
            metadata={"speaker": speakers[i % 3]},
        )
        for i in range(first, first + count)
    ]


def _ranked(index: BrainIndex, signals: QuerySignals) -> list[tuple[str, float, float]]:
    ranking = rank(
        index, signals, hops=3, trail=True, weights=FusionWeights(), min_relative_score=0.05
    )
    return [(index.fibers[c.row].id, c.score, c.lexical) for c in ranking.candidates]


async def test_an_index_that_answered_before_ranks_new_memories_like_a_fresh_one(
    tmp_path: Path,
) -> None:
    async with BACKENDS["memory"](tmp_path) as storage:
        brain = Brain.create("sparse")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, BrainConfig(), embedder=None)
        analysis = extract(QUERY, START + timedelta(days=30), with_own_day=False)
        signals = QuerySignals(
            terms=analysis.terms, keys=analysis.keys, time_spans=(), first_person=True
        )
        handle = BrainHandle.of(storage)
        await encoder.encode_many(_memories(0, 30))
        before = _ranked(await handle.synced_index(None), signals)  # fills what it keeps
        await encoder.encode_many(_memories(30, 30))
        kept = _ranked(await handle.synced_index(None), signals)
        fresh = BrainIndex(handle.storage, handle.brain_id, None)
        await fresh.sync()
    assert kept == _ranked(fresh, signals)
    assert len(kept) > len(before)  # the new memories of Carol were reached


async def test_a_ranking_cut_short_is_the_head_of_the_whole_one(tmp_path: Path) -> None:
    async with BACKENDS["memory"](tmp_path) as storage:
        brain = Brain.create("cut")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await MemoryEncoder(storage, BrainConfig(), embedder=None).encode_many(_memories(0, 40))
        analysis = extract(QUERY, START + timedelta(days=30), with_own_day=False)
        signals = QuerySignals(terms=analysis.terms, keys=analysis.keys, time_spans=())
        index = await BrainHandle.of(storage).synced_index(None)
        weights = FusionWeights()
        whole = rank(index, signals, hops=3, trail=True, weights=weights, min_relative_score=0)
        head = rank(
            index, signals, hops=3, trail=True, weights=weights, min_relative_score=0, at_most=7
        )
    assert len(whole.candidates) > 7
    assert head.candidates == whole.candidates[:7]
    assert head.coverage == whole.coverage and head.anchors == whole.anchors


def test_sparse_scores_hold_exactly_the_rows_of_the_query_terms() -> None:
    lexical = LexicalIndex()
    lexical.extend(["red apple", "green apple", "blue sky", "red sky", "apple pie"])
    lexical.remove(1)
    rows, scores = lexical.sparse_scores(["apple", "red", "apple", "absent"])
    assert rows.tolist() == [0, 1, 3, 4]
    dense = lexical.scores(["apple", "red"])
    assert scores.tolist() == dense[rows].tolist()
    assert scores[1] == 0.0  # removed
    assert np.count_nonzero(dense) == 3


def test_row_scores_read_zero_for_rows_they_do_not_hold() -> None:
    scores = RowScores(np.array([2, 5, 9], dtype=np.intp), np.array([0.5, 1.0, 0.25], "f4"))
    wanted = np.array([0, 2, 6, 9, 12], dtype=np.intp)
    assert scores.at(wanted).tolist() == [0.0, 0.5, 0.0, 0.25, 0.0]
    empty = RowScores(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32))
    assert empty.at(wanted).tolist() == [0.0] * 5


def test_top_rows_break_ties_by_lowest_row_at_the_cut_too() -> None:
    rng = np.random.default_rng(3)
    values = rng.choice(np.array([0.0, 0.25, 0.5, 1.0], dtype=np.float32), size=5000)
    for k in (1, 7, 200, 5000):
        expected = sorted(np.flatnonzero(values > 0).tolist(), key=lambda r: (-values[r], r))
        assert top_rows(values, k).tolist() == expected[:k]
    assert top_rows(np.zeros(3, dtype=np.float32), 2).size == 0
    assert top_rows(values, 0).size == 0


def test_member_bits_tell_which_rows_are_members() -> None:
    wanted = np.array([0, 2, 6, 9, 12, 39], dtype=np.intp)
    for members in ([1, 4], [2, 12], list(range(0, 40, 3)), []):
        bits = member_bits(np.array(members, dtype=np.intp), 40)
        expected = [1.0 if row in members else 0.0 for row in wanted.tolist()]
        assert member_mask(bits, wanted).tolist() == expected


def test_sorted_union_is_ascending_and_distinct() -> None:
    parts = [np.array([5, 1, 3], dtype=np.int32), np.array([3, 7, -1], dtype=np.intp)]
    assert sorted_union(parts).tolist() == [-1, 1, 3, 5, 7]
    assert sorted_union([np.array([2, 2, 1], dtype=np.int32)]).tolist() == [1, 2]
    assert sorted_union([]).tolist() == []


def test_merge_rows_says_where_each_part_landed() -> None:
    parts = [np.array([1, 4, 9], dtype=np.int32), np.array([0, 4, 10], dtype=np.intp)]
    union, slots = merge_rows(parts)
    assert union.tolist() == [0, 1, 4, 9, 10]
    for part, at in zip(parts, slots, strict=True):
        assert union[at].tolist() == part.tolist()


def test_kept_term_scores_follow_added_and_removed_documents() -> None:
    query = ["apple", "sky"]
    kept = LexicalIndex()
    steps = [
        lambda index: index.extend(["red apple", "green apple", "blue sky"]),
        lambda index: index.extend(["apple pie", "red sky sky"]),
        lambda index: index.remove(0),
        lambda index: index.add(5, ["apple"]),
    ]
    for number, step in enumerate(steps):
        step(kept)
        kept.sparse_scores(query)  # keeps both terms' gains for the next step
        rebuilt = LexicalIndex()
        for done in steps[: number + 1]:
            done(rebuilt)
        for got, want in zip(kept.sparse_scores(query), rebuilt.sparse_scores(query), strict=True):
            assert got.tolist() == want.tolist(), number


def test_term_scores_past_the_budget_are_dropped_not_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lexical_module, "POSTINGS_KEPT", 2)
    kept = LexicalIndex()
    kept.extend(["red apple", "green apple", "red sky", "apple pie"])
    first = [kept.sparse_scores([term]) for term in ("apple", "red", "sky", "apple")]
    again = [kept.sparse_scores([term]) for term in ("apple", "red", "sky", "apple")]
    for (rows, scores), (rows_again, scores_again) in zip(first, again, strict=True):
        assert rows.tolist() == rows_again.tolist()
        assert scores.tolist() == scores_again.tolist()
    assert kept.sparse_scores(["apple"])[0].tolist() == [0, 1, 3]
