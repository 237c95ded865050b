"""Engram: the physical trace one memory leaves, and the four kinds of memory."""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

from neural_memory.engine.encoder import stable_fiber_id
from neural_memory.errors import ValidationError

__all__ = [
    "BASAL_GANGLIA",
    "CEREBELLUM",
    "HIPPOCAMPUS",
    "NEOCORTEX",
    "Association",
    "Engram",
    "EmbeddingLike",
    "MemoryType",
    "engram_id_for",
]

HIPPOCAMPUS = "hippocampus"
NEOCORTEX = "neocortex"
CEREBELLUM = "cerebellum"
BASAL_GANGLIA = "basal_ganglia"
_REGIONS = frozenset({HIPPOCAMPUS, NEOCORTEX, CEREBELLUM, BASAL_GANGLIA})

Association: TypeAlias = tuple[str, float]
"""An edge of the spreading-activation graph: ``(other engram id, weight 0-1)``."""

EmbeddingLike: TypeAlias = "npt.NDArray[np.float32] | Sequence[float]"
"""An embedding as given: any sequence of floats (stored as a read-only float32 vector)."""


class MemoryType(StrEnum):
    """The four kinds of memory, each consolidated into its own region."""

    EPISODIC = "episodic"
    """Events: what happened, when (Neocortex)."""
    SEMANTIC = "semantic"
    """Facts about the world (Neocortex)."""
    PROCEDURAL = "procedural"
    """Skills and workflows (Cerebellum)."""
    HABITUAL = "habitual"
    """Habits and preferences, shaped by reward (BasalGanglia)."""


def engram_id_for(content: str) -> str:
    """The id of the engram of ``content``: the same words are the same memory.

    It is the id the engine gives the fiber of that text, so an engram keeps its id when it
    is consolidated into a long-term store.
    """
    return stable_fiber_id(content, None)


@dataclass(slots=True, eq=False)
class Engram:
    """One memory: its content, kind, salience and how strong and stable its trace is.

    Engrams compare by identity. Times are POSIX seconds (``time.time()`` scale).

    Attributes:
        content: The remembered text.
        memory_type: What kind of memory it is (never changed after encoding).
        salience: 0-1 emotional weight, set by the Amygdala.
        embedding: Sentence-transformer vector (empty until embedded, or without embeddings).
        synaptic_strength: 0-1 activation at ``last_access``; decays with retention since.
        stability: Hours of resistance to forgetting (``S`` in ``R = e^(-t/S)``).
        access_count: How many times it was recalled.
        associations: Spreading-activation edges ``(engram id, weight)``.
        fragments: Ids of the fragments (the engine's neurons: words, names, times) the
            memory is rebuilt from; engrams sharing a fragment share that piece of memory.
        engram_id: Stable id (derived from the content).
        created_at: When it was encoded.
        last_access: When it was encoded or last recalled (``t`` counts from here).
        reward: Last dopamine-style reward signal, -1 to 1 (0: none).
        region: Where it lives: hippocampus, neocortex, cerebellum or basal_ganglia.
        consolidated: Whether sleep has moved it into a long-term store.
    """

    content: str
    memory_type: MemoryType = MemoryType.EPISODIC
    salience: float = 0.5
    embedding: EmbeddingLike = ()
    synaptic_strength: float = 1.0
    stability: float = 1.0
    access_count: int = 0
    associations: list[Association] = field(default_factory=list)
    fragments: list[str] = field(default_factory=list)
    engram_id: str = ""
    created_at: float = field(default_factory=time.time)
    last_access: float = math.nan
    reward: float = 0.0
    region: str = HIPPOCAMPUS
    consolidated: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.content, str) or not self.content.strip():
            raise ValidationError("engram content must be a non-empty string")
        try:
            self.memory_type = MemoryType(self.memory_type)
        except ValueError:
            allowed = ", ".join(m.value for m in MemoryType)
            raise ValidationError(f"memory_type must be one of {allowed}") from None
        self.salience = _number(self.salience, "salience", 0.0, 1.0)
        self.synaptic_strength = _number(self.synaptic_strength, "synaptic_strength", 0.0, 1.0)
        self.stability = _number(self.stability, "stability", 1e-9, math.inf)
        self.reward = _number(self.reward, "reward", -1.0, 1.0)
        if isinstance(self.access_count, bool) or not isinstance(self.access_count, int):
            raise ValidationError("access_count must be an integer")
        if self.access_count < 0:
            raise ValidationError("access_count must not be negative")
        self.embedding = as_vector(self.embedding)
        self.associations = [_association(edge) for edge in self.associations]
        self.fragments = [str(fragment) for fragment in self.fragments]
        self.engram_id = self.engram_id or engram_id_for(self.content)
        self.created_at = _number(self.created_at, "created_at", 0.0, math.inf)
        if isinstance(self.last_access, float) and math.isnan(self.last_access):
            self.last_access = self.created_at
        self.last_access = _number(self.last_access, "last_access", 0.0, math.inf)
        if self.region not in _REGIONS:
            raise ValidationError(f"region must be one of {', '.join(sorted(_REGIONS))}")

    @property
    def vector(self) -> npt.NDArray[np.float32] | None:
        """The embedding as a float32 vector, or None when the engram has none."""
        embedding = self.embedding
        return embedding if isinstance(embedding, np.ndarray) and embedding.size else None

    def associate(self, engram_id: str, weight: float) -> None:
        """Add (or strengthen to ``weight``) the edge to ``engram_id``."""
        for i, (other, old) in enumerate(self.associations):
            if other == engram_id:
                self.associations[i] = (other, max(old, weight))
                return
        self.associations.append((engram_id, weight))

    def dissociate(self, engram_ids: Iterable[str]) -> None:
        """Drop the edges to ``engram_ids``."""
        doomed = set(engram_ids)
        self.associations = [edge for edge in self.associations if edge[0] not in doomed]

    def __repr__(self) -> str:
        return (
            f"Engram({self.content!r}, {self.memory_type.value}, salience={self.salience:.2f}, "
            f"stability={self.stability:.2f}h, access_count={self.access_count}, "
            f"region={self.region!r})"
        )


def as_vector(value: object) -> npt.NDArray[np.float32]:
    """A read-only float32 copy of an embedding (empty for none)."""
    try:
        vector = np.array(value, dtype=np.float32).reshape(-1)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"embedding must be a sequence of floats: {exc}") from exc
    if not np.all(np.isfinite(vector)):
        raise ValidationError("embedding must contain finite numbers only")
    vector.flags.writeable = False
    return vector


def _number(value: object, name: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number, got {type(value).__name__}")
    number = float(value)
    if not low <= number <= high:
        raise ValidationError(f"{name} must be between {low:g} and {high:g}, got {number}")
    return number


def _association(edge: object) -> Association:
    if not isinstance(edge, Sequence) or isinstance(edge, str) or len(edge) != 2:
        raise ValidationError("an association must be a (engram id, weight) pair")
    other, weight = edge
    if not isinstance(other, str) or not other:
        raise ValidationError("an association must name an engram id")
    return other, _number(weight, "association weight", 0.0, 1.0)
