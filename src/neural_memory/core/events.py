"""Records the storage keeps besides the graph: recall events, change log, statistics."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from neural_memory.core._validation import require_text, require_unit, set_field
from neural_memory.core.clock import as_utc, utcnow

__all__ = ["BrainStats", "BrainVersion", "ChangeKind", "ChangeRecord", "RecallEvent"]


@dataclass(frozen=True, slots=True, kw_only=True)
class RecallEvent:
    """One query and what it recalled (mined for query patterns).

    Attributes:
        id: Unique id.
        query: The query text.
        fiber_ids: The fibers recalled, best first.
        confidence: The pipeline's confidence (0-1).
        created_at: When the query ran.
    """

    id: str
    query: str
    fiber_ids: tuple[str, ...] = ()
    confidence: float = 0.0
    created_at: datetime = field(default_factory=utcnow)

    def __post_init__(self) -> None:
        require_text(self.id, "recall event id")
        require_text(self.query, "query")
        set_field(self, "confidence", require_unit(self.confidence, "confidence"))
        set_field(self, "fiber_ids", tuple(self.fiber_ids))
        set_field(self, "created_at", as_utc(self.created_at))

    @classmethod
    def create(
        cls,
        query: str,
        fiber_ids: Iterable[str] = (),
        *,
        confidence: float = 0.0,
        created_at: datetime | None = None,
    ) -> RecallEvent:
        """Create an event with a fresh id."""
        return cls(
            id=f"r-{uuid.uuid4().hex}",
            query=query,
            fiber_ids=tuple(fiber_ids),
            confidence=confidence,
            created_at=created_at or utcnow(),
        )


class ChangeKind(StrEnum):
    """Which aggregate a change-log entry is about."""

    NEURON = "neuron"
    SYNAPSE = "synapse"
    FIBER = "fiber"


@dataclass(frozen=True, slots=True)
class ChangeRecord:
    """One entry of a brain's change log: ``entity_id`` of ``kind`` changed at ``seq``.

    In-process indexes replay the log from their last ``seq`` to stay in sync with storage
    that other processes write to. Whether the entity was added, updated or deleted is read
    from storage itself (a missing entity was deleted).
    """

    seq: int
    kind: ChangeKind
    entity_id: str


@dataclass(frozen=True, slots=True)
class BrainVersion:
    """Where a brain stands: its generation, change seq and the version of its record.

    A process that keeps something derived from a brain (its record, its recall index)
    compares versions to learn, in one storage round trip, whether anything changed. A
    brain deleted and created again under the same id starts its change seq and record
    version again, but gets a new, larger ``generation``: whoever sees the generation change
    treats the brain as all new (re-reads its record, rebuilds its index).

    Attributes:
        change_seq: The brain's latest change sequence number (moves with every write).
        record: Moves whenever ``save_brain`` replaces the brain's name or config.
        generation: Set when the brain is created, never reused for its id in one storage,
            and larger than any earlier brain's of that id (0: a storage that does not say,
            such as a server of an older release).
    """

    change_seq: int
    record: int
    generation: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class BrainStats:
    """Counts describing one brain."""

    neuron_count: int = 0
    synapse_count: int = 0
    fiber_count: int = 0
    typed_memory_count: int = 0
    project_count: int = 0
    orphan_neuron_count: int = 0
    expired_memory_count: int = 0
    oldest_unused_fiber_at: datetime | None = None
    change_seq: int = 0

    @property
    def orphan_ratio(self) -> float:
        """Share of neurons that no synapse touches."""
        return self.orphan_neuron_count / self.neuron_count if self.neuron_count else 0.0

    @property
    def synapses_per_neuron(self) -> float:
        """Average connectivity."""
        return self.synapse_count / self.neuron_count if self.neuron_count else 0.0
