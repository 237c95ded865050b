"""The Redis backend's record values: the codec's JSON, read back on a trusted path.

Every record is stored as one compact JSON object in the form of :mod:`neural_memory.codec`
(keys are the dataclass field names, datetimes ISO 8601, enums as values, sets as sorted
lists). Top-level fields the Lua write script reads (``source_id``, ``target_id``,
``neuron_ids``, ``fiber_id``, ``project_id``) are plain strings or lists of strings.

Reading back skips the codec's strict per-field JSON type checks: the values were written by
this backend, the core constructors still validate them, and the write path (which decodes
the stored synapses that deltas move) is hot. It uses the codec's field tables, so both
directions follow the same schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any, TypeVar

from neural_memory.codec import NESTED_RECORDS, TIME_FIELDS, encode_record
from neural_memory.errors import StorageError, ValidationError

__all__ = ["decode", "encode", "encode_value", "from_micros", "micros"]

_T = TypeVar("_T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """Return whole microseconds since the Unix epoch (exact; sorted-set scores)."""
    return (moment - _EPOCH) // _MICRO


def from_micros(value: float | int | str) -> datetime:
    """Return the UTC datetime :func:`micros` turned into ``value``."""
    return _EPOCH + timedelta(microseconds=int(float(value)))


def encode(record: object) -> str:
    """Encode one core record (Neuron, Synapse, Fiber, ...) as compact JSON."""
    try:
        return _ENCODER.encode(encode_record(record))
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"{type(record).__name__} {getattr(record, 'id', '')!r} cannot be stored: {exc}"
        ) from exc


def decode(kind: type[_T], raw: str | bytes) -> _T:
    """Rebuild a record of ``kind`` from the JSON :func:`encode` produced."""
    try:
        return _rebuild(kind, json.loads(raw))
    except (TypeError, ValueError, KeyError) as exc:
        raise StorageError(f"corrupt {kind.__name__} record in Redis: {exc}") from exc


def encode_value(value: object) -> str:
    """Encode a JSON value (brain metadata) as compact JSON."""
    try:
        return _ENCODER.encode(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value is not JSON-serialisable: {exc}") from exc


def _rebuild(kind: type[_T], data: dict[str, Any]) -> _T:
    for name in TIME_FIELDS[kind]:
        value = data.get(name)
        if value is not None:
            data[name] = datetime.fromisoformat(value)
    for name, nested in NESTED_RECORDS[kind]:
        data[name] = _rebuild(nested, data[name])
    return kind(**data)


def _default(value: object) -> object:
    """Nested metadata values json does not know natively."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default)
