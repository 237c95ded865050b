"""Typed memories: a fiber labelled with what kind of knowledge it is and how much it matters."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum
from typing import Any

from neural_memory.core._validation import (
    empty_mapping,
    freeze_mapping,
    freeze_strings,
    optional_utc,
    require_enum,
    require_text,
    set_field,
)
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.errors import ValidationError

__all__ = ["MemoryType", "Priority", "TypedMemory"]


class MemoryType(StrEnum):
    """What kind of knowledge a memory holds."""

    FACT = "fact"
    DECISION = "decision"
    PREFERENCE = "preference"
    TODO = "todo"
    INSIGHT = "insight"
    CONTEXT = "context"
    INSTRUCTION = "instruction"
    ERROR = "error"
    WORKFLOW = "workflow"
    REFERENCE = "reference"


class Priority(IntEnum):
    """How much a memory matters, on a 0-10 scale."""

    LOWEST = 0
    LOW = 3
    NORMAL = 5
    HIGH = 7
    CRITICAL = 10


@dataclass(frozen=True, slots=True, kw_only=True)
class TypedMemory:
    """Type, priority, provenance and expiry of the memory stored in one fiber.

    Attributes:
        id: Unique id within its brain.
        fiber_id: The fiber holding the memory.
        memory_type: What kind of knowledge it is.
        priority: 0-10 importance.
        source: Where it came from ("user_input", "db_schema", ...).
        expires_at: After this moment it is no longer recalled (None: never).
        tags: Free labels.
        project_id: The project it belongs to, if any.
        created_at: Creation time.
        metadata: Free-form, read-only extra data.
    """

    id: str
    fiber_id: str
    memory_type: MemoryType
    priority: Priority = Priority.NORMAL
    source: str = ""
    expires_at: datetime | None = None
    tags: frozenset[str] = frozenset()
    project_id: str | None = None
    created_at: datetime = field(default_factory=utcnow)
    metadata: Mapping[str, Any] = field(default_factory=empty_mapping)

    def __post_init__(self) -> None:
        require_text(self.id, "typed memory id")
        require_text(self.fiber_id, "fiber_id")
        set_field(self, "memory_type", require_enum(self.memory_type, MemoryType, "memory_type"))
        set_field(self, "priority", _coerce_priority(self.priority))
        if not isinstance(self.source, str):
            raise ValidationError("source must be a string")
        set_field(self, "expires_at", optional_utc(self.expires_at, "expires_at"))
        set_field(self, "tags", freeze_strings(self.tags, "tags"))
        if self.project_id is not None:
            require_text(self.project_id, "project_id")
        set_field(self, "created_at", as_utc(self.created_at))
        set_field(self, "metadata", freeze_mapping(self.metadata, "metadata"))

    @classmethod
    def create(
        cls,
        fiber_id: str,
        memory_type: MemoryType,
        priority: Priority | int = Priority.NORMAL,
        source: str = "",
        expires_in_days: float | None = None,
        tags: Iterable[str] | None = None,
        project_id: str | None = None,
        *,
        created_at: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> TypedMemory:
        """Create a typed memory; ``expires_in_days`` counts from ``created_at`` (default now)."""
        created = as_utc(created_at) if created_at else utcnow()
        expires_at = None
        if expires_in_days is not None:
            if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int | float):
                raise ValidationError("expires_in_days must be a number")
            if expires_in_days <= 0:
                raise ValidationError("expires_in_days must be positive")
            expires_at = created + timedelta(days=expires_in_days)
        return cls(
            id=f"tm-{uuid.uuid4().hex}",
            fiber_id=fiber_id,
            memory_type=memory_type,
            priority=_coerce_priority(priority),
            source=source,
            expires_at=expires_at,
            tags=freeze_strings(tags, "tags"),
            project_id=project_id,
            created_at=created,
            metadata=freeze_mapping(metadata, "metadata"),
        )

    def is_expired(self, at: datetime | None = None) -> bool:
        """True when the memory has expired at ``at`` (default now)."""
        if self.expires_at is None:
            return False
        return self.expires_at <= (as_utc(at) if at else utcnow())

    def with_priority(self, priority: Priority | int) -> TypedMemory:
        """Return a copy with ``priority``."""
        return replace(self, priority=_coerce_priority(priority))

    def with_tags(self, *tags: str) -> TypedMemory:
        """Return a copy with ``tags`` added."""
        return replace(self, tags=self.tags | freeze_strings(tags, "tags"))


def _coerce_priority(value: object) -> Priority:
    if isinstance(value, Priority):
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ValidationError(f"priority must be an integer from 0 to 10, got {value!r}")
    try:
        return Priority(value)
    except ValueError:
        # Priorities between the named levels round down to the nearest named level.
        return max(level for level in Priority if level <= value)
