"""Checks and normalisation shared by every embedder (pure, no I/O)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol, TypeAlias, runtime_checkable

import numpy as np
import numpy.typing as npt

from neural_memory.errors import ConfigError, EmbeddingError, ValidationError

__all__ = [
    "Embedder",
    "VectorCache",
    "Vectors",
    "checked_vectors",
    "l2_normalize",
    "require_positive",
    "require_texts",
]

Vectors: TypeAlias = npt.NDArray[np.float32]
"""A ``(n, dimension)`` float32 matrix of L2-normalised rows."""


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


def require_texts(texts: Sequence[str]) -> list[str]:
    """Return ``texts`` as a list, refusing a lone string and non-string items."""
    if isinstance(texts, str | bytes):
        raise ValidationError("texts must be a sequence of strings, not a single string")
    items = list(texts)
    for item in items:
        if not isinstance(item, str):
            raise ValidationError(f"texts must contain only strings, got {type(item).__name__}")
    return items


def require_positive(value: object, name: str) -> int:
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


def checked_vectors(raw: object, count: int, dimension: int, source: str) -> Vectors:
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


class VectorCache:
    """A thread-safe LRU cache of read-only vectors by text (``size`` 0 keeps nothing)."""

    __slots__ = ("_entries", "_lock", "_size")

    def __init__(self, size: int) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ConfigError(f"cache_size must be a non-negative integer, got {size!r}")
        self._size = size
        self._entries: OrderedDict[str, Vectors] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str) -> Vectors | None:
        """The cached vector of ``text`` (now the most recent), or None."""
        with self._lock:
            vector = self._entries.get(text)
            if vector is not None:
                self._entries.move_to_end(text)
            return vector

    def put(self, text: str, vector: Vectors) -> Vectors:
        """Keep a read-only copy of ``vector`` for ``text`` and return that copy."""
        frozen = vector.copy()
        frozen.flags.writeable = False
        if self._size == 0:
            return frozen
        with self._lock:
            self._entries[text] = frozen
            self._entries.move_to_end(text)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return frozen

    def clear(self) -> None:
        """Forget every vector."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
