"""JSON encoding of the core records for the Redis backend (pure, no I/O).

Every record is stored as one compact JSON object whose keys are the dataclass field names:
datetimes as ISO-8601 strings, enums as their values, sets sorted into lists, metadata as a
JSON object. Top-level fields the Lua write script reads (``source_id``, ``target_id``,
``neuron_ids``, ``fiber_id``, ``project_id``) are plain strings or lists of strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Set
from dataclasses import fields
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from neural_memory.core.brain import Brain, BrainConfig
from neural_memory.errors import StorageError, ValidationError

__all__ = ["decode", "encode", "encode_value", "from_micros", "micros"]

_T = TypeVar("_T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_PRIMITIVES = frozenset({str, int, float, bool, type(None)})


def micros(moment: datetime) -> int:
    """Return whole microseconds since the Unix epoch (exact; sorted-set scores)."""
    return (moment - _EPOCH) // _MICRO


def from_micros(value: float | int | str) -> datetime:
    """Return the UTC datetime :func:`micros` turned into ``value``."""
    return _EPOCH + timedelta(microseconds=int(float(value)))


def encode(record: object) -> str:
    """Encode one core record (Neuron, Synapse, Fiber, ...) as compact JSON."""
    plain: dict[str, object] = {}
    for name in _field_names(type(record)):
        value = getattr(record, name)
        plain[name] = value if type(value) in _PRIMITIVES else _plain(value)
    try:
        return _ENCODER.encode(plain)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{type(record).__name__} {getattr(record, 'id', '')!r} cannot be stored: {exc}"
        ) from exc


def decode(kind: type[_T], raw: str | bytes) -> _T:
    """Rebuild a record of ``kind`` from the JSON :func:`encode` produced."""
    try:
        data: dict[str, Any] = json.loads(raw)
        for name in _datetime_fields(kind):
            value = data.get(name)
            if value is not None:
                data[name] = datetime.fromisoformat(value)
        if kind is Brain:
            data["config"] = BrainConfig(**data["config"])
        return kind(**data)
    except (TypeError, ValueError, KeyError) as exc:
        raise StorageError(f"corrupt {kind.__name__} record in Redis: {exc}") from exc


def encode_value(value: object) -> str:
    """Encode a JSON value (brain metadata) as compact JSON."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value is not JSON-serialisable: {exc}") from exc


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_DATETIME_FIELDS: dict[type, tuple[str, ...]] = {}


def _field_names(kind: type) -> tuple[str, ...]:
    found = _FIELD_NAMES.get(kind)
    if found is None:
        found = _FIELD_NAMES[kind] = tuple(f.name for f in fields(kind))
    return found


def _datetime_fields(kind: type) -> tuple[str, ...]:
    found = _DATETIME_FIELDS.get(kind)
    if found is None:
        found = tuple(f.name for f in fields(kind) if "datetime" in str(f.type))
        _DATETIME_FIELDS[kind] = found
    return found


def _plain(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Set):
        return sorted(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, BrainConfig):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    return value


def _default(value: object) -> object:
    """Nested metadata values json does not know natively."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default)
