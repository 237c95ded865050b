"""Query objects passed from the storage front-end to backends."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from neural_memory.core.alert import AlertStatus, AlertType
from neural_memory.core.neuron import NeuronType
from neural_memory.core.synapse import SynapseType
from neural_memory.core.typed_memory import MemoryType

__all__ = ["AlertFilter", "FiberFilter", "NeuronFilter", "SynapseFilter", "TypedMemoryFilter"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NeuronFilter:
    """Neurons of ``type`` whose content equals ``content`` (case-insensitively)."""

    type: NeuronType | None = None
    content: str | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SynapseFilter:
    """Synapses leaving ``source_id`` and/or reaching ``target_id``, of ``type``."""

    source_id: str | None = None
    target_id: str | None = None
    type: SynapseType | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FiberFilter:
    """Fibers binding ``neuron_id`` and carrying every tag in ``tags``; oldest first.

    ``current`` keeps only fibers no other fiber supersedes (``superseded_by`` unset).
    """

    neuron_id: str | None = None
    tags: frozenset[str] = frozenset()
    current: bool = False
    limit: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class TypedMemoryFilter:
    """Typed memories matching every given criterion; highest priority first, then newest.

    ``min_priority`` is a 0-10 threshold (not necessarily a named Priority level);
    ``not_expired_at`` drops memories that have expired at that moment.
    """

    memory_type: MemoryType | None = None
    min_priority: int | None = None
    tags: frozenset[str] = frozenset()
    project_id: str | None = None
    fiber_ids: frozenset[str] | None = None
    not_expired_at: datetime | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertFilter:
    """Alerts with one of ``statuses`` and one of ``types`` (None: any); newest first."""

    ids: frozenset[str] | None = None
    statuses: frozenset[AlertStatus] | None = None
    types: frozenset[AlertType] | None = None
    limit: int | None = None
