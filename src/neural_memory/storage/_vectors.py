"""Vectors as bytes and text: float32, little-endian (pure, no I/O)."""

from __future__ import annotations

import base64
import binascii

import numpy as np
import numpy.typing as npt

from neural_memory.errors import ValidationError

__all__ = ["vector_from_bytes", "vector_from_text", "vector_to_bytes", "vector_to_text"]


def vector_to_bytes(vector: npt.NDArray[np.float32]) -> bytes:
    """A vector as stored: its float32 values, little-endian."""
    return np.ascontiguousarray(vector, dtype="<f4").tobytes()


def vector_from_bytes(data: bytes) -> npt.NDArray[np.float32]:
    """A vector stored by :func:`vector_to_bytes` (read-only float32 array)."""
    if len(data) % 4:
        raise ValidationError(f"a stored vector has {len(data)} bytes, not a multiple of 4")
    return np.frombuffer(data, dtype="<f4").astype(np.float32, copy=False)


def vector_to_text(vector: npt.NDArray[np.float32]) -> str:
    """A vector as text (base64 of :func:`vector_to_bytes`), for JSON and Redis."""
    return base64.b64encode(vector_to_bytes(vector)).decode("ascii")


def vector_from_text(text: str) -> npt.NDArray[np.float32]:
    """A vector written by :func:`vector_to_text`; ValidationError on anything else."""
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValidationError(f"a vector must be base64 text: {exc}") from None
    return vector_from_bytes(data)
