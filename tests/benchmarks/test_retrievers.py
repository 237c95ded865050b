"""Retrievers: BM25 (against rank_bm25), the embedding baseline, the NeuralMemory adapter."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

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
from benchmarks.quality.retrievers import (
    ContextRetriever,
    Doc,
    NeuralMemoryApi,
    NeuralMemoryRetriever,
    Retriever,
    SystemUnavailableError,
    budget_context,
    estimate_tokens,
    evidence_in_context,
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
    out = await retriever.search_with_context(
        "Melanie painting hobby", k=1, reference_time=None, max_tokens=30
    )
    assert out.ids == ["D1:2"]
    assert out.context is not None and "Painting sunsets" in out.context
    assert evidence_in_context([DOCS[1].text], out.context) == 1.0
    await retriever.close()


def test_context_helpers() -> None:
    # "aaaa" costs 2 tokens (4 tokens per 3 words), plus one per joining newline.
    assert estimate_tokens("aaaa") == 2
    assert estimate_tokens("Hello, world!") == 5
    assert budget_context(["aaaa", "bbbb", "cccc"], 5) == "aaaa\nbbbb"
    assert budget_context(["a" * 100, "bb"], 10) == "bb"
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


# --------------------------------------------------------- NeuralMemory (fake API)


@dataclass
class FakeFiber:
    id: str


@dataclass
class FakeEncodeResult:
    fiber: FakeFiber


@dataclass
class FakeScored:
    fiber_id: str
    score: float
    content: str


@dataclass
class FakeQueryResult:
    fibers: list[FakeScored]
    context: str


@dataclass
class FakeStorage:
    memories: dict[str, tuple[str, datetime, dict[str, str]]] = field(default_factory=dict)
    brain_id: str | None = None
    closed: bool = False

    async def save_brain(self, brain: Any) -> None:
        self.saved = brain

    def set_brain(self, brain_id: str) -> None:
        self.brain_id = brain_id

    async def close(self) -> None:
        self.closed = True


class FakeBrain:
    def __init__(self, name: str) -> None:
        self.id = f"brain-{name}"
        self.config = {"name": name}

    @classmethod
    def create(cls, name: str) -> FakeBrain:
        return cls(name)


class FakeEncoder:
    def __init__(self, storage: FakeStorage, config: Any) -> None:
        self.storage = storage

    async def encode(
        self, content: str, *, timestamp: datetime, metadata: dict[str, str]
    ) -> FakeEncodeResult:
        fiber_id = f"f{len(self.storage.memories)}"
        self.storage.memories[fiber_id] = (content, timestamp, metadata)
        return FakeEncodeResult(FakeFiber(fiber_id))


class FakePipeline:
    calls: ClassVar[list[dict[str, Any]]] = []

    def __init__(self, storage: FakeStorage, config: Any) -> None:
        self.storage = storage

    async def query(self, query: str, **kwargs: Any) -> FakeQueryResult:
        FakePipeline.calls.append({"query": query, **kwargs})
        words = set(query.lower().split())
        scored = sorted(
            (
                (len(words & set(text.lower().split())), fid, text)
                for fid, (text, _, _) in self.storage.memories.items()
            ),
            reverse=True,
        )
        fibers = [FakeScored(fid, float(s), text) for s, fid, text in scored if s > 0]
        fibers = [*fibers[: kwargs["max_fibers"]], FakeScored("unknown-fiber", 0.0, "")]
        return FakeQueryResult(fibers, "\n".join(f.content for f in fibers[:1]))


class FakeDepth:
    INSTANT, CONTEXT, HABIT, DEEP = 0, 1, 2, 3


FAKE_API = NeuralMemoryApi(
    Brain=FakeBrain,
    InMemoryStorage=FakeStorage,
    SQLiteStorage=None,
    MemoryEncoder=FakeEncoder,
    ReflexPipeline=FakePipeline,
    DepthLevel=FakeDepth,
)


async def test_neural_memory_adapter_with_fake_api() -> None:
    retriever = NeuralMemoryRetriever(api=FAKE_API, brain_name="conv-1")
    assert isinstance(retriever, ContextRetriever)
    await retriever.index(DOCS)
    storage = retriever._storage
    assert storage.brain_id == "brain-conv-1"
    text, stamp, meta = storage.memories["f0"]
    assert (text, stamp, meta) == (DOCS[0].text, T0, {"speaker": "Caroline", "doc_id": "D1:1"})
    when = datetime(2023, 6, 1, tzinfo=UTC)
    out = await retriever.search_with_context(
        "max the puppy", k=2, reference_time=when, max_tokens=1000
    )
    assert out.ids == ["D1:4", "D1:1"]
    assert out.context == DOCS[3].text
    call = FakePipeline.calls[-1]
    assert call["depth"] == FakeDepth.CONTEXT
    assert call["reference_time"] == when
    assert call["max_fibers"] == 100 and call["max_tokens"] == 1000
    assert await retriever.search("max the puppy", k=1, reference_time=when) == ["D1:4"]
    assert FakePipeline.calls[-1]["max_fibers"] == 1
    assert await retriever.search("zebra", k=5, reference_time=None) == []
    await retriever.close()
    assert storage.closed


async def test_neural_memory_adapter_rejects_missing_sqlite() -> None:
    retriever = NeuralMemoryRetriever(api=FAKE_API, storage_kind="sqlite")
    with pytest.raises(SystemUnavailableError):
        await retriever.index(DOCS)
    with pytest.raises(ValueError):
        NeuralMemoryRetriever(depth="SHALLOW")


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
