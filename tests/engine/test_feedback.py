"""Person-scoped relevance feedback: asked about someone, recall gathers their topic."""

from __future__ import annotations

import numpy as np

from neural_memory import BrainConfig
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import FusionWeights, ReflexPipeline
from neural_memory.engine.retrieval.feedback import centroid, expansion_terms, feedback_gain
from neural_memory.storage import Storage

SHARES = {"novel": 0.01, "fantasy": 0.02, "great": 0.4, "dragons": 0.005, "book": 0.05}


def test_the_group_is_described_by_what_its_seeds_share_and_the_rest_lack() -> None:
    seeds = [
        {"book", "novel", "fantasy", "great"},
        {"novel", "fantasy", "great", "dragons"},
        {"novel", "great"},
    ]
    terms = expansion_terms(seeds, SHARES.__getitem__, exclude={"book"}, limit=10, min_shared=2)
    names = [term for term, _ in terms]
    assert names[0] == "novel"
    assert "fantasy" in names
    assert "dragons" not in names  # held by one seed only
    assert "book" not in names  # the query's own term
    weights = dict(terms)
    assert weights.get("great", 0.0) < weights["fantasy"]  # common everywhere: weighs little


def test_a_term_as_common_in_the_brain_as_in_the_seeds_does_not_describe_them() -> None:
    seeds = [{"great"}, {"great"}]
    assert expansion_terms(seeds, lambda _: 1.0, exclude=(), limit=5, min_shared=2) == []


def test_the_centroid_is_a_unit_vector_between_its_members() -> None:
    a = np.array([1.0, 0.0], dtype=np.float32)
    b = np.array([0.0, 1.0], dtype=np.float32)
    middle = centroid([a, b])
    assert middle is not None
    assert np.isclose(float(np.linalg.norm(middle)), 1.0)
    assert np.isclose(float(middle[0]), float(middle[1]))
    assert centroid([]) is None
    assert centroid([a, -a]) is None


def test_only_the_named_persons_memories_gain() -> None:
    gain = feedback_gain(
        lexical=np.array([1.0, 0.5, 0.0], dtype=np.float32),
        semantic=np.array([0.0, 0.8, 0.0], dtype=np.float32),
        members=np.array([0.0, 1.0, 1.0], dtype=np.float32),
        weight=0.5,
    )
    assert np.allclose(gain, [0.0, 0.4, 0.0])


BOOK_TALK = [
    "I read a book about dragons last week, a fantasy novel with a map inside",
    "Another book I read: a fantasy novel set in a desert kingdom",
    "The book I read on the train was a fantasy novel about a thief",
]
SIBLING = "That fantasy novel trilogy by the Welsh author kept me up all night"


def chatter() -> list[MemoryInput]:
    """Small talk from Tim and John, and Tim reading things that are not books."""
    topics = ["gardening", "the weather", "the car", "work", "dinner", "the gym"]
    reading = [
        MemoryInput(text=f"I read the news about {topic} this morning", metadata={"speaker": "Tim"})
        for topic in topics
    ]
    return reading + [
        MemoryInput(
            text=f"Honestly {topics[i % 6]} was fine today, item {i}", metadata={"speaker": who}
        )
        for i in range(60)
        for who in ("Tim", "John")
    ]


async def test_a_question_about_someone_gathers_their_memories_on_its_topic(
    storage: Storage,
) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config, embedder=None)
    await encoder.encode_many(chatter())
    for text in BOOK_TALK:
        await encoder.encode(text, metadata={"speaker": "Tim"})
    sibling = await encoder.encode(SIBLING, metadata={"speaker": "Tim"})
    await encoder.encode(
        "John said the fantasy novel trilogy was too long for him", metadata={"speaker": "John"}
    )
    question = "What books has Tim read?"

    async def rank_of_sibling(weights: FusionWeights) -> int:
        found = await ReflexPipeline(
            storage, config, embedder=None, reinforce=False, weights=weights
        ).search(question, max_fibers=50)
        ids = [f.fiber_id for f in found]
        return ids.index(sibling.fiber.id) if sibling.fiber.id in ids else len(ids) + 1

    without = await rank_of_sibling(FusionWeights())
    with_feedback = await rank_of_sibling(FusionWeights(feedback=0.4))
    assert with_feedback < without
    assert with_feedback <= 3
