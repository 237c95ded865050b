"""Checks and normalisation shared by every embedder (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from neural_memory.errors import ConfigError, EmbeddingError, ValidationError

__all__ = ["Vectors", "checked_vectors", "l2_normalize", "require_positive", "require_texts"]

Vectors: TypeAlias = npt.NDArray[np.float32]
"""A ``(n, dimension)`` float32 matrix of L2-normalised rows."""


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
