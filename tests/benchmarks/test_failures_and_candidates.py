"""The failure report's session cap and the candidate-embedder wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.quality.candidates import CANDIDATES, CandidateEmbedder
from benchmarks.quality.failures import Outcome, format_session_caps, session_capped
from benchmarks.quality.systems import EMBEDDERS

from neural_memory.errors import EmbeddingError, ValidationError


def test_a_session_cap_moves_a_sessions_extra_turns_behind_the_others() -> None:
    ranked = ["D1:1", "D1:2", "D1:3", "D2:1", "D1:4", "D3:1"]
    assert session_capped(ranked, 2) == ["D1:1", "D1:2", "D2:1", "D3:1", "D1:3", "D1:4"]
    assert session_capped(ranked, 9) == ranked


def test_the_cap_table_reports_recall_with_and_without_the_cap() -> None:
    outcome = Outcome(
        category="multi-hop",
        evidence=2,
        in_top10=1,
        in_top50=2,
        no_shared_word=False,
        relative_date=False,
        sessions=2,
        ranked=(*(f"D1:{n}" for n in range(1, 11)), "D2:1"),
        wanted=("D1:1", "D2:1"),
    )
    table = format_session_caps([outcome], (3,)).splitlines()
    assert table[1].split()[:2] == ["none", "0.500"]
    assert table[2].split()[:2] == ["3", "1.000"]


def test_a_miss_known_only_from_the_top_10_is_neither_near_nor_deep() -> None:
    outcome = Outcome("temporal", 1, 0, -1, False, False, 1)
    assert outcome.verdict == "miss"
    assert Outcome("temporal", 1, 0, 0, False, False, 1).verdict == "deep miss"
    assert Outcome("temporal", 1, 0, 1, False, False, 1).verdict == "near miss"


async def test_a_candidate_embeds_normalised_rows_and_refuses_bad_output() -> None:
    embedder = CandidateEmbedder("two-d", 2, lambda texts: np.array([[3.0, 4.0]] * len(texts)))
    vectors = await embedder.embed(["a", "b"])
    assert vectors.shape == (2, 2)
    assert np.allclose(vectors[0], [0.6, 0.8])
    assert (await embedder.embed([])).shape == (0, 2)
    with pytest.raises(ValidationError):
        await embedder.embed("one string")
    wrong = CandidateEmbedder("bad", 3, lambda texts: np.zeros((len(texts), 2)))
    with pytest.raises(EmbeddingError):
        await wrong.embed(["a"])


def test_every_candidate_is_a_harness_embedder_choice() -> None:
    assert set(CANDIDATES) <= set(EMBEDDERS)
