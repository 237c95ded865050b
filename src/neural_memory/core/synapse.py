"""Synapse: a typed, weighted connection between two neurons."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from neural_memory.core._validation import (
    assembler,
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
from neural_memory.errors import ValidationError

__all__ = ["Direction", "Synapse", "SynapseType", "stable_synapse_id"]


class SynapseType(StrEnum):
    """The kind of relation a synapse carries."""

    # Temporal
    HAPPENED_AT = "happened_at"
    BEFORE = "before"
    AFTER = "after"
    DURING = "during"
    # Causal
    CAUSED_BY = "caused_by"
    LEADS_TO = "leads_to"
    ENABLES = "enables"
    PREVENTS = "prevents"
    # Associative
    CO_OCCURS = "co_occurs"
    RELATED_TO = "related_to"
    SIMILAR_TO = "similar_to"
    # Semantic
    IS_A = "is_a"
    HAS_PROPERTY = "has_property"
    INVOLVES = "involves"


class Direction(StrEnum):
    """Whether activation flows one way or both ways through a synapse."""

    UNIDIRECTIONAL = "unidirectional"
    BIDIRECTIONAL = "bidirectional"


def stable_synapse_id(source_id: str, target_id: str, type: SynapseType) -> str:
    """A deterministic id for the synapse ``source -type-> target``."""
    key = f"{source_id}|{type.value}|{target_id}".encode()
    return f"s-{hashlib.blake2b(key, digest_size=16, person=b'nm-synapse').hexdigest()}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Synapse:
    """A weighted edge of the memory graph.

    Attributes:
        id: Unique id within its brain.
        source_id: Neuron the signal leaves.
        target_id: Neuron the signal reaches.
        type: Relation kind.
        weight: Strength (0-1); grows with co-activation, decays with disuse.
        direction: One-way or both ways.
        metadata: Free-form, read-only extra data.
        created_at: Creation time.
        last_activated: When recall last carried a signal through it.
        reinforced_count: How many times it was strengthened.
    """

    id: str
    source_id: str
    target_id: str
    type: SynapseType
    weight: float = 0.5
    direction: Direction = Direction.UNIDIRECTIONAL
    metadata: Mapping[str, Any] = field(default_factory=empty_mapping)
    created_at: datetime = field(default_factory=utcnow)
    last_activated: datetime | None = None
    reinforced_count: int = 0

    def __post_init__(self) -> None:
        require_text(self.id, "synapse id")
        require_text(self.source_id, "source_id")
        require_text(self.target_id, "target_id")
        if self.source_id == self.target_id:
            raise ValidationError("a synapse cannot connect a neuron to itself")
        set_field(self, "type", require_enum(self.type, SynapseType, "synapse type"))
        set_field(self, "weight", require_unit(self.weight, "weight"))
        set_field(self, "direction", require_enum(self.direction, Direction, "direction"))
        set_field(self, "metadata", freeze_mapping(self.metadata, "metadata"))
        set_field(self, "created_at", as_utc(self.created_at))
        set_field(self, "last_activated", optional_utc(self.last_activated, "last_activated"))
        require_count(self.reinforced_count, "reinforced_count")

    @classmethod
    def create(
        cls,
        source_id: str,
        target_id: str,
        type: SynapseType,
        *,
        weight: float = 0.5,
        direction: Direction = Direction.UNIDIRECTIONAL,
        metadata: Mapping[str, Any] | None = None,
        created_at: datetime | None = None,
        synapse_id: str | None = None,
    ) -> Synapse:
        """Create a synapse; without ``synapse_id`` the id is derived from its endpoints."""
        kind = require_enum(type, SynapseType, "synapse type")
        return cls(
            id=synapse_id or stable_synapse_id(source_id, target_id, kind),
            source_id=source_id,
            target_id=target_id,
            type=kind,
            weight=weight,
            direction=direction,
            metadata=freeze_mapping(metadata, "metadata"),
            created_at=created_at or utcnow(),
        )

    @property
    def is_bidirectional(self) -> bool:
        """True when activation flows both ways."""
        return self.direction is Direction.BIDIRECTIONAL

    def connects(self, neuron_id: str) -> bool:
        """True when ``neuron_id`` is either endpoint."""
        return neuron_id in (self.source_id, self.target_id)

    def with_weight(self, weight: float) -> Synapse:
        """Return a copy with ``weight`` (clamped to 0-1)."""
        return replace(self, weight=min(1.0, max(0.0, weight)))

    def reinforce(self, delta: float, *, at: datetime | None = None) -> Synapse:
        """Return a copy strengthened by ``delta`` and stamped as activated at ``at``."""
        return _assemble(  # only the changed fields need a check: the rest were checked
            id=self.id,
            source_id=self.source_id,
            target_id=self.target_id,
            type=self.type,
            weight=require_unit(min(1.0, self.weight + delta), "weight"),
            direction=self.direction,
            metadata=self.metadata,
            created_at=self.created_at,
            last_activated=optional_utc(at, "at") if at else utcnow(),
            reinforced_count=self.reinforced_count + 1,
        )


_assemble = assembler(Synapse)
