"""Recall confidence: a calibrated probability, higher when the context answers the question."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.engine.retrieval.confidence import (
    FEATURES,
    LEXICAL_COEFFICIENTS,
    SEMANTIC_COEFFICIENTS,
    calibrated_confidence,
    confidence_features,
)
from neural_memory.storage import InMemoryStorage


@dataclass(frozen=True)
class Hit:
    score: float
    semantic: float = 0.0


def test_the_coefficients_match_the_features() -> None:
    assert len(LEXICAL_COEFFICIENTS) == len(SEMANTIC_COEFFICIENTS) == len(FEATURES)
    assert LEXICAL_COEFFICIENTS[FEATURES.index("top_cosine")] == 0.0


def test_features_of_one_recall() -> None:
    recalled = [Hit(1.0, 0.6), Hit(0.8), Hit(0.7), Hit(0.6), Hit(0.25), Hit(0.1)]
    features = dict(zip(FEATURES, confidence_features(recalled, 0.5), strict=True))
    assert features["bias"] == 1.0 and features["coverage"] == 0.5
    assert features["margin"] == pytest.approx(0.75)  # against the fifth memory
    assert features["top_cosine"] == 0.6
    alone = dict(zip(FEATURES, confidence_features([Hit(2.0)], 1.0), strict=True))
    assert alone["margin"] == 1.0


def test_nothing_recalled_is_zero_and_everything_else_a_probability() -> None:
    assert calibrated_confidence([], 1.0, semantic=False) == 0.0
    assert calibrated_confidence([Hit(0.0)], 1.0, semantic=True) == 0.0
    for coverage in (0.0, 0.5, 1.0):
        for semantic in (False, True):
            value = calibrated_confidence([Hit(1.0, 0.5), Hit(0.3)], coverage, semantic=semantic)
            assert 0.0 < value < 1.0


def test_a_clear_winner_means_more_confidence_than_a_flat_ranking() -> None:
    flat = [Hit(1.0, 0.5), Hit(0.95), Hit(0.9), Hit(0.9), Hit(0.85)]
    clear = [Hit(1.0, 0.5), Hit(0.4), Hit(0.3), Hit(0.2), Hit(0.1)]
    for semantic in (False, True):
        assert calibrated_confidence(clear, 0.8, semantic=semantic) > calibrated_confidence(
            flat, 0.8, semantic=semantic
        )


async def test_an_answered_question_is_more_confident_than_an_unanswered_one() -> None:
    memories = (
        "Alice chose PostgreSQL for the billing service.",
        "Bob fixed the login crash on Tuesday.",
        "Carol leads the mobile team.",
        "The office moves to the fourth floor in May.",
    )
    async with InMemoryStorage() as storage:
        brain = Brain.create("team")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None)
        for text in memories:
            await encoder.encode(text)
        pipeline = ReflexPipeline(storage, brain.config, embedder=None)
        answered = await pipeline.query("Which database did Alice choose for billing?")
        unanswered = await pipeline.query("Which database did Zoe pick for the warehouse?")
    assert answered.fibers[0].content == memories[0]
    assert answered.coverage > unanswered.coverage
    assert answered.confidence > unanswered.confidence
