"""Neuron: the atomic unit of information in the graph."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from neural_memory.core._validation import (
    empty_mapping,
    freeze_mapping,
    optional_utc,
    require_count,
    require_enum,
    require_text,
    require_unit,
    set_field,
)
from neural_memory.core.clock import as_utc, utcnow

__all__ = ["Neuron", "NeuronType", "neuron_key", "stable_neuron_id"]


class NeuronType(StrEnum):
    """What a neuron stands for."""

    TIME = "time"
    """Temporal references (a day, a month, a season)."""
    SPATIAL = "spatial"
    """Locations."""
    ENTITY = "entity"
    """People and things with a name."""
    ACTION = "action"
    """Activities (verbs)."""
    STATE = "state"
    """Conditions and qualities."""
    CONCEPT = "concept"
    """Ideas and topics (keywords)."""
    SENSORY = "sensory"
    """Observations (what was seen, heard, shown)."""
    INTENT = "intent"
    """Goals and plans."""


def neuron_key(type: NeuronType, content: str) -> str:
    """The normalised identity of a neuron: the same key means the same neuron."""
    return f"{type.value}:{' '.join(content.casefold().split())}"


def stable_neuron_id(key: str) -> str:
    """A deterministic neuron id for a normalised key, identical in every process."""
    return f"n-{hashlib.blake2b(key.encode(), digest_size=16, person=b'nm-neuron').hexdigest()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Neuron:
    """A node of the memory graph.

    Attributes:
        id: Unique id within its brain.
        type: What the neuron stands for.
        content: Its text ("Alice", "2024-05-07", "deploy").
        metadata: Free-form, read-only extra data.
        created_at: When it was first created.
        activation: Current strength (0-1): decays with disuse, grows on access.
        access_count: How many times recall has used it.
        last_accessed: When recall last used it (None if never).
    """

    id: str
    type: NeuronType
    content: str
    metadata: Mapping[str, Any] = field(default_factory=empty_mapping)
    created_at: datetime = field(default_factory=utcnow)
    activation: float = 1.0
    access_count: int = 0
    last_accessed: datetime | None = None

    def __post_init__(self) -> None:
        require_text(self.id, "neuron id")
        set_field(self, "type", require_enum(self.type, NeuronType, "neuron type"))
        require_text(self.content, "neuron content")
        set_field(self, "metadata", freeze_mapping(self.metadata, "metadata"))
        set_field(self, "created_at", as_utc(self.created_at))
        set_field(self, "activation", require_unit(self.activation, "activation"))
        require_count(self.access_count, "access_count")
        set_field(self, "last_accessed", optional_utc(self.last_accessed, "last_accessed"))

    @classmethod
    def create(
        cls,
        type: NeuronType,
        content: str,
        *,
        metadata: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
        neuron_id: str | None = None,
    ) -> Neuron:
        """Create a neuron; without ``neuron_id`` its id is derived from its normalised key."""
        kind = require_enum(type, NeuronType, "neuron type")
        text = require_text(content, "neuron content")
        return cls(
            id=neuron_id or stable_neuron_id(neuron_key(kind, text)),
            type=kind,
            content=text,
            metadata=freeze_mapping(metadata, "metadata"),
            created_at=created_at or utcnow(),
        )

    @property
    def key(self) -> str:
        """The normalised identity (type and case-folded content)."""
        return neuron_key(self.type, self.content)

    def with_activation(self, activation: float) -> Neuron:
        """Return a copy with ``activation`` (clamped to 0-1)."""
        return replace(self, activation=min(1.0, max(0.0, activation)))

    def accessed(self, *, delta: float, at: datetime | None = None) -> Neuron:
        """Return a copy strengthened by ``delta`` and stamped as used at ``at``."""
        return replace(
            self,
            activation=min(1.0, max(0.0, self.activation + delta)),
            access_count=self.access_count + 1,
            last_accessed=as_utc(at) if at else utcnow(),
        )

    def with_metadata(self, **changes: Any) -> Neuron:
        """Return a copy whose metadata has ``changes`` merged in."""
        return replace(self, metadata={**self.metadata, **changes})
