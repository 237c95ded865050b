"""Fiber: one memory, a signal pathway through the neural graph."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from neural_memory.core._validation import (
    assembler,
    empty_mapping,
    freeze_mapping,
    freeze_strings,
    optional_utc,
    require_count,
    require_text,
    require_unit,
    set_field,
)
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber_metadata import check_reserved
from neural_memory.errors import ValidationError

__all__ = ["CONDUCT_REINFORCEMENT", "Fiber"]

CONDUCT_REINFORCEMENT = 0.02
"""Conductivity gained each time a fiber conducts with ``reinforce=True``."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Fiber:
    """A memory: the neurons it binds, the synapses between them and its signal pathway.

    Attributes:
        id: Unique id within its brain.
        neuron_ids: Every neuron the memory binds.
        synapse_ids: The synapses created or used by the memory.
        anchor_neuron_id: The neuron the pathway starts from.
        pathway: Ordered neuron sequence the signal follows.
        content: The memory's text (empty for hand-built fibers).
        conductivity: Signal transmission quality (0-1).
        salience: How important the memory is (0-1).
        last_conducted: When recall last activated it (None if never).
        access_count: How many times it was recalled.
        tags: Free labels.
        metadata: Read-only extra data: free-form, except the engine's reserved keys, whose
            values must be of their kind (``core.fiber_metadata``): checked by
            :meth:`create`, :meth:`with_metadata`, the JSON decoder and every storage write.
            A fiber read back from a brain stored before the check keeps what it holds
            (its typed keys read as None), so no old brain becomes unreadable.
        occurred_at: When the remembered event happened.
        created_at: When the memory was stored.
        superseded_by: Id of a newer fiber that replaces this fact (None if current).
    """

    id: str
    neuron_ids: frozenset[str]
    synapse_ids: frozenset[str] = frozenset()
    anchor_neuron_id: str
    pathway: tuple[str, ...] = ()
    content: str = ""
    conductivity: float = 1.0
    salience: float = 0.5
    last_conducted: datetime | None = None
    access_count: int = 0
    tags: frozenset[str] = frozenset()
    metadata: Mapping[str, Any] = field(default_factory=empty_mapping)
    occurred_at: datetime | None = None
    created_at: datetime = field(default_factory=utcnow)
    superseded_by: str | None = None

    def __post_init__(self) -> None:
        require_text(self.id, "fiber id")
        set_field(self, "neuron_ids", freeze_strings(self.neuron_ids, "neuron_ids"))
        set_field(self, "synapse_ids", freeze_strings(self.synapse_ids, "synapse_ids"))
        if self.anchor_neuron_id not in self.neuron_ids:
            raise ValidationError("anchor_neuron_id must be one of the fiber's neuron_ids")
        pathway: object = self.pathway
        if isinstance(pathway, str):
            raise ValidationError("pathway must be a sequence of neuron ids, not a string")
        set_field(self, "pathway", tuple(self.pathway))
        stray = set(self.pathway) - self.neuron_ids
        if stray:
            raise ValidationError(f"pathway names neurons outside the fiber: {sorted(stray)}")
        if not isinstance(self.content, str):
            raise ValidationError("fiber content must be a string")
        set_field(self, "conductivity", require_unit(self.conductivity, "conductivity"))
        set_field(self, "salience", require_unit(self.salience, "salience"))
        set_field(self, "last_conducted", optional_utc(self.last_conducted, "last_conducted"))
        require_count(self.access_count, "access_count")
        set_field(self, "tags", freeze_strings(self.tags, "tags"))
        set_field(self, "metadata", freeze_mapping(self.metadata, "metadata"))
        set_field(self, "created_at", as_utc(self.created_at))
        set_field(self, "occurred_at", as_utc(self.occurred_at or self.created_at))

    @classmethod
    def create(
        cls,
        neuron_ids: Iterable[str],
        synapse_ids: Iterable[str] = (),
        anchor_neuron_id: str | None = None,
        pathway: Sequence[str] | None = None,
        *,
        content: str = "",
        salience: float = 0.5,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        occurred_at: datetime | None = None,
        created_at: datetime | None = None,
        fiber_id: str | None = None,
    ) -> Fiber:
        """Create a fiber with a fresh id; the anchor defaults to the first pathway neuron."""
        neurons = freeze_strings(neuron_ids, "neuron_ids")
        if not neurons:
            raise ValidationError("a fiber needs at least one neuron")
        path = tuple(pathway) if pathway is not None else ()
        anchor = anchor_neuron_id or (path[0] if path else min(neurons))
        fiber = cls(
            id=fiber_id or f"f-{uuid.uuid4().hex}",
            neuron_ids=neurons,
            synapse_ids=freeze_strings(synapse_ids, "synapse_ids"),
            anchor_neuron_id=anchor,
            pathway=path,
            content=content,
            salience=salience,
            tags=freeze_strings(tags, "tags"),
            metadata=freeze_mapping(metadata, "metadata"),
            occurred_at=occurred_at,
            created_at=created_at or utcnow(),
        )
        check_reserved(fiber.metadata)
        return fiber

    @property
    def pathway_length(self) -> int:
        """Number of neurons in the pathway."""
        return len(self.pathway)

    def pathway_position(self, neuron_id: str) -> int | None:
        """Index of ``neuron_id`` in the pathway, or None when it is not on it."""
        try:
            return self.pathway.index(neuron_id)
        except ValueError:
            return None

    def is_in_pathway(self, neuron_id: str) -> bool:
        """True when ``neuron_id`` is on the pathway."""
        return neuron_id in self.pathway

    def with_conductivity(self, conductivity: float) -> Fiber:
        """Return a copy with ``conductivity`` (clamped to 0-1)."""
        return replace(self, conductivity=min(1.0, max(0.0, conductivity)))

    def conduct(self, *, reinforce: bool = True, conducted_at: datetime | None = None) -> Fiber:
        """Return a copy that has conducted a signal at ``conducted_at`` (default now).

        With ``reinforce`` the conductivity grows by ``CONDUCT_REINFORCEMENT`` (capped at 1).
        """
        gain = CONDUCT_REINFORCEMENT if reinforce else 0.0
        at = optional_utc(conducted_at, "conducted_at") if conducted_at else utcnow()
        return _assemble(  # only the changed fields need a check: the rest were checked
            id=self.id,
            neuron_ids=self.neuron_ids,
            synapse_ids=self.synapse_ids,
            anchor_neuron_id=self.anchor_neuron_id,
            pathway=self.pathway,
            content=self.content,
            conductivity=min(1.0, self.conductivity + gain),
            salience=self.salience,
            last_conducted=at,
            access_count=self.access_count + 1,
            tags=self.tags,
            metadata=self.metadata,
            occurred_at=self.occurred_at,
            created_at=self.created_at,
            superseded_by=self.superseded_by,
        )

    def with_salience(self, salience: float) -> Fiber:
        """Return a copy with ``salience`` (0-1)."""
        return replace(self, salience=salience)

    def add_tags(self, *tags: str) -> Fiber:
        """Return a copy with ``tags`` added."""
        return replace(self, tags=self.tags | freeze_strings(tags, "tags"))

    def with_metadata(self, **changes: Any) -> Fiber:
        """Return a copy whose metadata has ``changes`` merged in (reserved keys checked)."""
        check_reserved(changes)
        return replace(self, metadata={**self.metadata, **changes})

    def superseded(self, newer_fiber_id: str) -> Fiber:
        """Return a copy marked as replaced by the fiber ``newer_fiber_id``."""
        return replace(self, superseded_by=require_text(newer_fiber_id, "newer_fiber_id"))

    @property
    def last_used(self) -> datetime:
        """When the memory was last used: last conducted, else stored."""
        return self.last_conducted or self.created_at


_assemble = assembler(Fiber)
