"""Projects: a named, optionally time-boxed group of typed memories."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from neural_memory.core._validation import freeze_strings, optional_utc, require_text, set_field
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.errors import ValidationError

__all__ = ["Project"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Project:
    """A project memories can belong to (``TypedMemory.project_id``).

    Attributes:
        id: Unique id within its brain.
        name: Human name.
        description: Free text.
        tags: Free labels.
        created_at: Start of the project.
        ends_at: End of a time-boxed project (None: open-ended).
    """

    id: str
    name: str
    description: str = ""
    tags: frozenset[str] = frozenset()
    created_at: datetime = field(default_factory=utcnow)
    ends_at: datetime | None = None

    def __post_init__(self) -> None:
        require_text(self.id, "project id")
        require_text(self.name, "project name")
        if not isinstance(self.description, str):
            raise ValidationError("description must be a string")
        set_field(self, "tags", freeze_strings(self.tags, "tags"))
        set_field(self, "created_at", as_utc(self.created_at))
        set_field(self, "ends_at", optional_utc(self.ends_at, "ends_at"))

    @classmethod
    def create(
        cls,
        name: str,
        description: str = "",
        duration_days: float | None = None,
        tags: Iterable[str] | None = None,
        *,
        created_at: datetime | None = None,
    ) -> Project:
        """Create a project; ``duration_days`` sets its end relative to ``created_at``."""
        start = as_utc(created_at) if created_at else utcnow()
        ends_at = None
        if duration_days is not None:
            if isinstance(duration_days, bool) or not isinstance(duration_days, int | float):
                raise ValidationError("duration_days must be a number")
            if duration_days <= 0:
                raise ValidationError("duration_days must be positive")
            ends_at = start + timedelta(days=duration_days)
        return cls(
            id=f"p-{uuid.uuid4().hex}",
            name=name,
            description=description,
            tags=freeze_strings(tags, "tags"),
            created_at=start,
            ends_at=ends_at,
        )

    def is_active(self, at: datetime | None = None) -> bool:
        """True while the project has not ended at ``at`` (default now)."""
        return self.ends_at is None or (as_utc(at) if at else utcnow()) < self.ends_at

    def with_description(self, description: str) -> Project:
        """Return a copy with ``description``."""
        return replace(self, description=description)
