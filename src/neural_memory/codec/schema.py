"""The field table of every core record: each field's name and JSON shape (pure data).

One table drives the strict decoder (:mod:`neural_memory.codec.decode`), the encoder's field
order (:mod:`neural_memory.codec.encode`) and the trusted fast decoders of backends that
store records as JSON (which only need :data:`TIME_FIELDS` and :data:`NESTED_RECORDS`).
A test checks the table against ``dataclasses.fields`` of each record, so a field added to
the core model without a shape here fails loudly.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, auto

from neural_memory.core.alert import Alert, AlertSeverity, AlertStatus, AlertType
from neural_memory.core.brain import Brain, BrainConfig
from neural_memory.core.events import BrainStats, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import MAX_FIBER_MEMBERS, MAX_TAGS
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.project import Project
from neural_memory.core.synapse import Direction, Synapse, SynapseType
from neural_memory.core.typed_memory import MemoryType, TypedMemory

__all__ = [
    "FIELD_NAMES",
    "MAX_FIBER_MEMBERS",
    "MAX_TAGS",
    "NESTED_RECORDS",
    "SCHEMAS",
    "TIME_FIELDS",
    "FieldSpec",
    "Shape",
]


class Shape(Enum):
    """The JSON shape of one field and how the strict decoder reads it."""

    TEXT = auto()
    """A string."""
    OPTIONAL_TEXT = auto()
    """A string or null."""
    NUMBER = auto()
    """An int or float, decoded as float."""
    CONFIG_NUMBER = auto()
    """An int or float, passed on as it is (brain config values)."""
    INTEGER = auto()
    """An int."""
    TIME = auto()
    """An ISO 8601 timestamp with a UTC offset."""
    OPTIONAL_TIME = auto()
    """A timestamp or null."""
    ENUM = auto()
    """A member's value of :attr:`FieldSpec.enum`."""
    MEMBERS = auto()
    """A list of at most :data:`MAX_FIBER_MEMBERS` strings."""
    TAGS = auto()
    """A list of at most :data:`MAX_TAGS` strings."""
    METADATA = auto()
    """A JSON object."""
    RECORD = auto()
    """A nested record of type :attr:`FieldSpec.record`."""


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One field of a record: its name, shape, and the enum or record type it needs."""

    name: str
    shape: Shape
    enum: type[Enum] | None = None
    record: type | None = None


def _f(name: str, shape: Shape) -> FieldSpec:
    return FieldSpec(name, shape)


def _enum(name: str, kind: type[Enum]) -> FieldSpec:
    return FieldSpec(name, Shape.ENUM, enum=kind)


_ID = _f("id", Shape.TEXT)
_CREATED = _f("created_at", Shape.TIME)
_META = _f("metadata", Shape.METADATA)
_TAGS = _f("tags", Shape.TAGS)

SCHEMAS: dict[type, tuple[FieldSpec, ...]] = {
    BrainConfig: tuple(
        _f(name, Shape.CONFIG_NUMBER)
        for name in (
            "decay_rate",
            "reinforcement_delta",
            "activation_threshold",
            "max_spread_hops",
            "max_context_tokens",
        )
    ),
    Brain: (
        _ID,
        _f("name", Shape.TEXT),
        FieldSpec("config", Shape.RECORD, record=BrainConfig),
        _CREATED,
        _f("updated_at", Shape.OPTIONAL_TIME),
    ),
    Neuron: (
        _ID,
        _enum("type", NeuronType),
        _f("content", Shape.TEXT),
        _META,
        _CREATED,
        _f("activation", Shape.NUMBER),
        _f("access_count", Shape.INTEGER),
        _f("last_accessed", Shape.OPTIONAL_TIME),
    ),
    Synapse: (
        _ID,
        _f("source_id", Shape.TEXT),
        _f("target_id", Shape.TEXT),
        _enum("type", SynapseType),
        _f("weight", Shape.NUMBER),
        _enum("direction", Direction),
        _META,
        _CREATED,
        _f("last_activated", Shape.OPTIONAL_TIME),
        _f("reinforced_count", Shape.INTEGER),
    ),
    Fiber: (
        _ID,
        _f("neuron_ids", Shape.MEMBERS),
        _f("synapse_ids", Shape.MEMBERS),
        _f("anchor_neuron_id", Shape.TEXT),
        _f("pathway", Shape.MEMBERS),
        _f("content", Shape.TEXT),
        _f("conductivity", Shape.NUMBER),
        _f("salience", Shape.NUMBER),
        _f("last_conducted", Shape.OPTIONAL_TIME),
        _f("access_count", Shape.INTEGER),
        _TAGS,
        _META,
        _f("occurred_at", Shape.OPTIONAL_TIME),
        _CREATED,
        _f("superseded_by", Shape.OPTIONAL_TEXT),
    ),
    TypedMemory: (
        _ID,
        _f("fiber_id", Shape.TEXT),
        _enum("memory_type", MemoryType),
        _f("priority", Shape.INTEGER),
        _f("source", Shape.TEXT),
        _f("expires_at", Shape.OPTIONAL_TIME),
        _TAGS,
        _f("project_id", Shape.OPTIONAL_TEXT),
        _CREATED,
        _META,
    ),
    Project: (
        _ID,
        _f("name", Shape.TEXT),
        _f("description", Shape.TEXT),
        _TAGS,
        _CREATED,
        _f("ends_at", Shape.OPTIONAL_TIME),
    ),
    Alert: (
        _ID,
        _enum("alert_type", AlertType),
        _enum("severity", AlertSeverity),
        _f("message", Shape.TEXT),
        _enum("status", AlertStatus),
        _f("metric_value", Shape.NUMBER),
        _f("threshold", Shape.NUMBER),
        _CREATED,
        _f("seen_at", Shape.OPTIONAL_TIME),
        _f("acknowledged_at", Shape.OPTIONAL_TIME),
        _f("resolved_at", Shape.OPTIONAL_TIME),
    ),
    RecallEvent: (
        _ID,
        _f("query", Shape.TEXT),
        _f("fiber_ids", Shape.MEMBERS),
        _f("confidence", Shape.NUMBER),
        _CREATED,
    ),
    BrainStats: (
        *(
            _f(name, Shape.INTEGER)
            for name in (
                "neuron_count",
                "synapse_count",
                "fiber_count",
                "typed_memory_count",
                "project_count",
                "orphan_neuron_count",
                "expired_memory_count",
            )
        ),
        _f("oldest_unused_fiber_at", Shape.OPTIONAL_TIME),
        _f("change_seq", Shape.INTEGER),
    ),
}
"""Record type -> its fields in declaration order (the order they are written in)."""

FIELD_NAMES: dict[type, tuple[str, ...]] = {
    kind: tuple(spec.name for spec in specs) for kind, specs in SCHEMAS.items()
}
"""Record type -> its field names in declaration order."""

TIME_FIELDS: dict[type, tuple[str, ...]] = {
    kind: tuple(s.name for s in specs if s.shape in (Shape.TIME, Shape.OPTIONAL_TIME))
    for kind, specs in SCHEMAS.items()
}
"""Record type -> the names of its timestamp fields (ISO 8601 strings in JSON)."""

NESTED_RECORDS: dict[type, tuple[tuple[str, type], ...]] = {
    kind: tuple((s.name, s.record) for s in specs if s.record is not None)
    for kind, specs in SCHEMAS.items()
}
"""Record type -> ``(field name, record type)`` of its fields that hold a nested record."""
