"""How an Engram is kept in a fiber of the engine: metadata, tags and back (pure).

The fiber's content is the engram's content and its id the engram id; the neuram fields
live under ``metadata["neuram"]``; tags select the long-term region (``neuram:<region>``)
and the memory type (``neuram:<type>``). The embedding is kept as base64 float16, with the
name of the model that made it, so a restarted brain need not embed its memories again.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from neural_memory.core.fiber import Fiber
from neural_memory.engine.embeddings import l2_normalize
from neural_memory.errors import ValidationError
from neuram.engram import Engram, MemoryType

__all__ = [
    "KEY",
    "TAG",
    "decode_vector",
    "encode_vector",
    "engram_from_fiber",
    "engram_metadata",
    "engram_tags",
    "fiber_with",
    "moment",
    "region_tag",
    "retention_state",
    "stored_vector",
]

KEY = "neuram"
"""The metadata key holding the neuram fields."""
TAG = "neuram"
"""Every neuram fiber carries this tag."""
_VERSION = 1
_NO_VECTOR = np.zeros(0, dtype=np.float32)
_NO_VECTOR.flags.writeable = False


def region_tag(region: str) -> str:
    """The tag of a long-term region."""
    return f"{TAG}:{region}"


def moment(posix: float) -> datetime:
    """POSIX seconds as an aware UTC datetime."""
    return datetime.fromtimestamp(posix, UTC)


def encode_vector(vector: npt.NDArray[np.float32]) -> str:
    """A compact text form of an embedding (float16, base64)."""
    return base64.b64encode(np.asarray(vector, dtype="<f2").tobytes()).decode("ascii")


def decode_vector(text: str) -> npt.NDArray[np.float32]:
    """The embedding of :func:`encode_vector` text, re-normalised, read-only."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValidationError(f"stored embedding is not valid base64: {exc}") from exc
    vector = l2_normalize(np.frombuffer(raw, dtype="<f2").astype(np.float32))
    vector.flags.writeable = False
    return vector


def engram_metadata(engram: Engram, embedder: str | None) -> dict[str, Any]:
    """The fiber metadata holding ``engram`` (embedding kept when ``embedder`` names it)."""
    vector = engram.vector
    fields: dict[str, Any] = {
        "v": _VERSION,
        "type": engram.memory_type.value,
        "stability": engram.stability,
        "strength": engram.synaptic_strength,
        "access_count": engram.access_count,
        "created_at": engram.created_at,
        "last_access": engram.last_access,
        "reward": engram.reward,
        "region": engram.region,
        "consolidated": engram.consolidated,
        "associations": [[other, weight] for other, weight in engram.associations],
    }
    if vector is not None and embedder:
        fields["embedding"] = encode_vector(vector)
        fields["embedder"] = embedder
    return {KEY: fields}


def engram_tags(engram: Engram) -> frozenset[str]:
    """The tags of the fiber holding ``engram``."""
    return frozenset({TAG, region_tag(engram.region), f"{TAG}:{engram.memory_type.value}"})


def fiber_with(fiber: Fiber, engram: Engram, embedder: str | None) -> Fiber:
    """``fiber`` (the stored copy) updated to the state of ``engram``.

    A stored embedding is kept when ``engram`` carries none (it was not decoded).
    """
    old_tags = {tag for tag in fiber.tags if tag.startswith(f"{TAG}:")}
    fields = {**(_fields(fiber) or {}), **engram_metadata(engram, embedder)[KEY]}
    metadata = {**fiber.metadata, KEY: fields}
    return replace(
        fiber,
        salience=engram.salience,
        access_count=max(fiber.access_count, engram.access_count),
        last_conducted=moment(engram.last_access) if engram.access_count else None,
        tags=(fiber.tags - old_tags) | engram_tags(engram),
        metadata=metadata,
    )


def _fields(fiber: Fiber) -> Mapping[str, Any] | None:
    fields = fiber.metadata.get(KEY)
    return fields if isinstance(fields, Mapping) and fields.get("v") == _VERSION else None


def retention_state(fiber: Fiber) -> tuple[float, float] | None:
    """``(stability, last_access)`` of a neuram fiber (cheap), None for other fibers."""
    fields = _fields(fiber)
    if fields is None:
        return None
    return float(fields["stability"]), float(fields["last_access"])


def stored_vector(fiber: Fiber, embedder: str | None = None) -> npt.NDArray[np.float32] | None:
    """The embedding stored with a neuram fiber (if ``embedder`` is given: if it made it)."""
    fields = _fields(fiber)
    if fields is None or (embedder is not None and fields.get("embedder") != embedder):
        return None
    text = fields.get("embedding")
    return decode_vector(text) if isinstance(text, str) else None


def engram_from_fiber(fiber: Fiber, *, with_embedding: bool = True) -> Engram | None:
    """The engram a neuram fiber holds, None for a fiber neuram did not write.

    ``with_embedding=False`` leaves the embedding out (cheaper; see :func:`stored_vector`).
    The fields were validated when written, so they are restored without validating again.
    """
    fields = _fields(fiber)
    if fields is None:
        return None
    text = fields.get("embedding") if with_embedding else None
    values: dict[str, Any] = {
        "content": fiber.content,
        "memory_type": MemoryType(fields["type"]),
        "salience": fiber.salience,
        "embedding": decode_vector(text) if isinstance(text, str) else _NO_VECTOR,
        "synaptic_strength": float(fields["strength"]),
        "stability": float(fields["stability"]),
        "access_count": int(fields["access_count"]),
        "associations": [(str(o), float(w)) for o, w in fields.get("associations", ())],
        "fragments": list(fiber.pathway),
        "engram_id": fiber.id,
        "created_at": float(fields["created_at"]),
        "last_access": float(fields["last_access"]),
        "reward": float(fields.get("reward", 0.0)),
        "region": str(fields["region"]),
        "consolidated": bool(fields["consolidated"]),
    }
    engram = object.__new__(Engram)
    for name, value in values.items():
        setattr(engram, name, value)
    return engram
