"""Retrievers: BM25 (against rank_bm25), the embedding baseline, the NeuralMemory adapter."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from benchmarks.quality.baselines import (
    ENGLISH_STOP_WORDS,
    BM25Index,
    BM25Retriever,
    EmbeddingRetriever,
    locomo_document_text,
    tokenize,
)
from benchmarks.quality.nm_retriever import NeuralMemoryRetriever
from benchmarks.quality.retrievers import (
    ContextRetriever,
    Doc,
    Retriever,
    SystemUnavailableError,
    budget_context,
    estimate_tokens,
    evidence_in_context,
    plain_text,
)

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
DOCS = [
    Doc("D1:1", "I adopted a puppy named Max last week!", "Caroline", T0, "1:56 pm on 8 May, 2023"),
    Doc("D1:2", "Painting sunsets is my favourite hobby.", "Melanie", T0, "1:56 pm on 8 May, 2023"),
    Doc(
        "D1:3", "The LGBTQ support group was so powerful.", "Caroline", T0, "1:56 pm on 8 May, 2023"
    ),
    Doc("D1:4", "Max the puppy chewed my shoes.", "Caroline", T0, "1:56 pm on 8 May, 2023"),
]


def test_tokenize() -> None:
    assert len(ENGLISH_STOP_WORDS) == 179
    assert tokenize("Hey Mel! I'm at the LGBTQ+ group, 2023.") == [
        "hey",
        "mel",
        "lgbtq",
        "group",
        "2023",
    ]


def test_locomo_document_text() -> None:
    assert locomo_document_text(DOCS[0]) == (
        '(1:56 pm on 8 May, 2023) Caroline said, "I adopted a puppy named Max last week!"'
    )


def test_bm25_matches_rank_bm25() -> None:
    rank_bm25 = pytest.importorskip("rank_bm25")
    corpus = [tokenize(locomo_document_text(d)) for d in DOCS] + [["puppy"] * 3, ["max"]]
    reference = rank_bm25.BM25Okapi(corpus)
    index = BM25Index(corpus)
    for query in (["puppy", "max"], ["caroline", "puppy", "puppy"], ["sunsets"], ["nothing"]):
        np.testing.assert_allclose(index.scores(query), reference.get_scores(query))


async def test_bm25_retriever_ranks_and_builds_context() -> None:
    retriever = BM25Retriever(document_text=locomo_document_text)
    assert isinstance(retriever, Retriever)
    assert isinstance(retriever, ContextRetriever)
    fillers = [Doc(f"D2:{i}", f"Filler turn number {i}.", "Melanie", T0, "x") for i in range(4)]
    await retriever.index(DOCS + fillers)
    ids = await retriever.search("What is the name of Caroline's puppy?", k=2, reference_time=None)
    assert set(ids) == {"D1:1", "D1:4"}
    assert await retriever.search("Who chewed the shoes?", k=1, reference_time=None) == ["D1:4"]
    budget = estimate_tokens(locomo_document_text(DOCS[1]))  # room for that one turn only
    out = await retriever.search_with_context(
        "Melanie painting hobby", k=1, reference_time=None, max_tokens=budget
    )
    assert out.ids == ["D1:2"]
    assert out.context is not None and "Painting sunsets" in out.context
    assert evidence_in_context([DOCS[1].text], out.context) == 1.0
    await retriever.close()


def test_context_helpers() -> None:
    # Costs come from the engine's token estimate, plus one per joining newline.
    cost = estimate_tokens("aaaa")
    assert estimate_tokens("aaaa") == estimate_tokens("bbbb") > 0
    assert budget_context(["aaaa", "bbbb", "cccc"], 2 * cost + 1) == "aaaa\nbbbb"
    assert budget_context(["a" * 400, "bb"], estimate_tokens("bb")) == "bb"
    assert evidence_in_context(["Hello  World", "absent"], "x hello world y") == 0.5
    with pytest.raises(ValueError):
        evidence_in_context([], "ctx")


class FakeSentenceModel:
    """Bag-of-letters 'embeddings': enough to check the cosine ranking plumbing."""

    def encode(self, texts: list[str], **_: Any) -> np.ndarray:
        out = np.zeros((len(texts), 26), dtype=np.float32)
        for row, text in enumerate(texts):
            for ch in text.lower():
                if "a" <= ch <= "z":
                    out[row, ord(ch) - 97] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1.0, norms)


async def test_embedding_retriever_with_fake_model() -> None:
    retriever = EmbeddingRetriever()
    retriever._model = FakeSentenceModel()
    docs = [Doc("x", "zzzz zzz", "u", T0), Doc("y", "aaaa bbb", "u", T0)]
    await retriever.index(docs)
    assert await retriever.search("abba", k=2, reference_time=None) == ["y", "x"]
    out = await retriever.search_with_context("zz", k=1, reference_time=None, max_tokens=1000)
    assert out.ids == ["x"] and out.context == "zzzz zzz\naaaa bbb"


@pytest.mark.embeddings
async def test_embedding_retriever_real_model() -> None:
    from benchmarks.quality.baselines import load_embedding_model

    try:
        load_embedding_model()
    except SystemUnavailableError as exc:
        pytest.skip(str(exc))
    retriever = EmbeddingRetriever()
    await retriever.index(DOCS)
    ids = await retriever.search("Tell me about the dog", k=2, reference_time=None)
    assert "D1:1" in ids or "D1:4" in ids


# ------------------------------------------------------- NeuralMemory (real engine)


async def test_neural_memory_adapter_real_engine() -> None:
    pytest.importorskip("neural_memory.engine.encoder")
    pytest.importorskip("neural_memory.engine.retrieval")
    retriever = NeuralMemoryRetriever(brain_name="smoke")
    try:
        await retriever.index(DOCS)
        out = await retriever.search_with_context(
            "What is the name of Caroline's puppy?",
            k=3,
            reference_time=datetime(2023, 6, 1, tzinfo=UTC),
            max_tokens=1000,
        )
    finally:
        await retriever.close()
    assert set(out.ids) <= {d.id for d in DOCS}
    assert isinstance(out.context, str)


async def test_plain_text_docs_recall_like_docs_with_fields() -> None:
    """The same turns, as a user writes them (date and speaker in the text), rank alike."""
    when = datetime(2023, 6, 1, tzinfo=UTC)
    rankings = []
    for plain in (False, True):
        docs = [replace(d, text=plain_text(d)) for d in DOCS] if plain else list(DOCS)
        retriever = NeuralMemoryRetriever(brain_name="plain", plain_text=plain)
        try:
            await retriever.index(docs)
            rankings.append(
                await retriever.search("What is Caroline's puppy called?", k=3, reference_time=when)
            )
        finally:
            await retriever.close()
    assert rankings[0] == rankings[1]
