"""Entity <-> JSON value conversion for snapshots, with strict type checks on the way in.

Encoding walks each dataclass's fields, so every field of the core model is written. Decoding
requires exactly those fields (none missing, none unknown), checks every JSON type, then lets
the core constructors validate values; any problem becomes a SnapshotFormatError naming the
offending path (``fibers[3].pathway``).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from neural_memory.core.brain import Brain, BrainConfig
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.project import Project
from neural_memory.core.synapse import Direction, Synapse, SynapseType
from neural_memory.core.typed_memory import MemoryType, TypedMemory
from neural_memory.errors import ConfigError, SnapshotFormatError, ValidationError
from neural_memory.sharing.limits import MAX_FIBER_MEMBERS, MAX_TAGS

__all__ = ["DECODERS", "decode_brain", "decode_time", "encode_entity", "encode_time"]

E = TypeVar("E", bound=Enum)
T = TypeVar("T")


# -- encoding ------------------------------------------------------------------------------


def encode_time(moment: datetime) -> str:
    """ISO 8601 with its UTC offset, microseconds kept."""
    return moment.isoformat()


def encode_entity(entity: Any) -> dict[str, Any]:
    """Every dataclass field of ``entity`` as a JSON value."""
    return {f.name: _encode_value(getattr(entity, f.name)) for f in dataclasses.fields(entity)}


def _encode_value(value: Any) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return encode_time(value)
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_entity(value)
    return value


# -- decoding ------------------------------------------------------------------------------


class _Fields:
    """Typed access to one JSON object that must hold exactly the fields of ``kind``."""

    def __init__(self, value: Any, path: str, kind: type) -> None:
        if not isinstance(value, dict):
            raise SnapshotFormatError(f"{path} must be an object, got {_json_type(value)}")
        expected = {f.name for f in dataclasses.fields(kind)}
        missing = expected - value.keys()
        if missing:
            raise SnapshotFormatError(f"{path} is missing field(s) {sorted(missing)}")
        unknown = value.keys() - expected
        if unknown:
            raise SnapshotFormatError(f"{path} has unknown field(s) {sorted(unknown)}")
        self.value = value
        self.path = path

    def _at(self, name: str) -> str:
        return f"{self.path}.{name}"

    def text(self, name: str) -> str:
        value = self.value[name]
        if not isinstance(value, str):
            raise SnapshotFormatError(f"{self._at(name)} must be a string, got {_json_type(value)}")
        return value

    def optional_text(self, name: str) -> str | None:
        return None if self.value[name] is None else self.text(name)

    def number(self, name: str) -> float:
        value = self.value[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SnapshotFormatError(f"{self._at(name)} must be a number, got {_json_type(value)}")
        return float(value)

    def integer(self, name: str) -> int:
        value = self.value[name]
        if isinstance(value, bool) or not isinstance(value, int):
            raise SnapshotFormatError(f"{self._at(name)} must be an integer, got {value!r}")
        return value

    def time(self, name: str) -> datetime:
        return decode_time(self.value[name], self._at(name))

    def optional_time(self, name: str) -> datetime | None:
        return None if self.value[name] is None else self.time(name)

    def enum(self, name: str, kind: type[E]) -> E:
        value = self.value[name]
        try:
            return kind(value)
        except (ValueError, TypeError):
            allowed = ", ".join(str(member.value) for member in kind)
            raise SnapshotFormatError(
                f"{self._at(name)} must be one of {allowed}; got {value!r}"
            ) from None

    def strings(self, name: str, max_items: int) -> list[str]:
        value = self.value[name]
        if not isinstance(value, list):
            raise SnapshotFormatError(f"{self._at(name)} must be a list, got {_json_type(value)}")
        if len(value) > max_items:
            raise SnapshotFormatError(f"{self._at(name)} has more than {max_items} items")
        if not all(isinstance(item, str) for item in value):
            raise SnapshotFormatError(f"{self._at(name)} must contain only strings")
        return value

    def metadata(self, name: str) -> dict[str, Any]:
        value = self.value[name]
        if not isinstance(value, dict):
            raise SnapshotFormatError(
                f"{self._at(name)} must be an object, got {_json_type(value)}"
            )
        return value


def decode_time(value: Any, path: str) -> datetime:
    """An ISO 8601 timestamp with a UTC offset."""
    if not isinstance(value, str) or len(value) > 64:
        raise SnapshotFormatError(f"{path} must be an ISO 8601 timestamp string")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise SnapshotFormatError(f"{path} is not an ISO 8601 timestamp: {value!r}") from None
    if moment.tzinfo is None:
        raise SnapshotFormatError(f"{path} must carry a UTC offset: {value!r}")
    return moment


def _build(path: str, factory: Callable[..., T], **kwargs: Any) -> T:
    try:
        return factory(**kwargs)
    except (ValidationError, ConfigError) as error:
        raise SnapshotFormatError(f"{path}: {error}") from None


def decode_brain(value: Any, path: str = "brain") -> Brain:
    """The brain object (with its config)."""
    fields = _Fields(value, path, Brain)
    config = _Fields(value["config"], f"{path}.config", BrainConfig)
    config_values = {name: config.value[name] for name in config.value}
    for name, item in config_values.items():
        if isinstance(item, bool) or not isinstance(item, int | float):
            raise SnapshotFormatError(f"{path}.config.{name} must be a number, got {item!r}")
    return _build(
        path,
        Brain,
        id=fields.text("id"),
        name=fields.text("name"),
        config=_build(f"{path}.config", BrainConfig, **config_values),
        created_at=fields.time("created_at"),
        updated_at=fields.optional_time("updated_at"),
    )


def _neuron(value: Any, path: str) -> Neuron:
    f = _Fields(value, path, Neuron)
    return _build(
        path,
        Neuron,
        id=f.text("id"),
        type=f.enum("type", NeuronType),
        content=f.text("content"),
        metadata=f.metadata("metadata"),
        created_at=f.time("created_at"),
        activation=f.number("activation"),
        access_count=f.integer("access_count"),
        last_accessed=f.optional_time("last_accessed"),
    )


def _synapse(value: Any, path: str) -> Synapse:
    f = _Fields(value, path, Synapse)
    return _build(
        path,
        Synapse,
        id=f.text("id"),
        source_id=f.text("source_id"),
        target_id=f.text("target_id"),
        type=f.enum("type", SynapseType),
        weight=f.number("weight"),
        direction=f.enum("direction", Direction),
        metadata=f.metadata("metadata"),
        created_at=f.time("created_at"),
        last_activated=f.optional_time("last_activated"),
        reinforced_count=f.integer("reinforced_count"),
    )


def _fiber(value: Any, path: str) -> Fiber:
    f = _Fields(value, path, Fiber)
    return _build(
        path,
        Fiber,
        id=f.text("id"),
        neuron_ids=f.strings("neuron_ids", MAX_FIBER_MEMBERS),
        synapse_ids=f.strings("synapse_ids", MAX_FIBER_MEMBERS),
        anchor_neuron_id=f.text("anchor_neuron_id"),
        pathway=f.strings("pathway", MAX_FIBER_MEMBERS),
        content=f.text("content"),
        conductivity=f.number("conductivity"),
        salience=f.number("salience"),
        last_conducted=f.optional_time("last_conducted"),
        access_count=f.integer("access_count"),
        tags=f.strings("tags", MAX_TAGS),
        metadata=f.metadata("metadata"),
        occurred_at=f.optional_time("occurred_at"),
        created_at=f.time("created_at"),
        superseded_by=f.optional_text("superseded_by"),
    )


def _typed_memory(value: Any, path: str) -> TypedMemory:
    f = _Fields(value, path, TypedMemory)
    return _build(
        path,
        TypedMemory,
        id=f.text("id"),
        fiber_id=f.text("fiber_id"),
        memory_type=f.enum("memory_type", MemoryType),
        priority=f.integer("priority"),
        source=f.text("source"),
        expires_at=f.optional_time("expires_at"),
        tags=f.strings("tags", MAX_TAGS),
        project_id=f.optional_text("project_id"),
        created_at=f.time("created_at"),
        metadata=f.metadata("metadata"),
    )


def _project(value: Any, path: str) -> Project:
    f = _Fields(value, path, Project)
    return _build(
        path,
        Project,
        id=f.text("id"),
        name=f.text("name"),
        description=f.text("description"),
        tags=f.strings("tags", MAX_TAGS),
        created_at=f.time("created_at"),
        ends_at=f.optional_time("ends_at"),
    )


DECODERS: dict[str, Callable[[Any, str], Any]] = {
    "neurons": _neuron,
    "synapses": _synapse,
    "fibers": _fiber,
    "typed_memories": _typed_memory,
    "projects": _project,
}
"""Snapshot section -> decoder of one item of it."""


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number" if not isinstance(value, float) or math.isfinite(value) else "NaN"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
