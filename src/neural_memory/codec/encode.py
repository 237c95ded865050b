"""Core records -> JSON values (pure, no I/O).

A record becomes an object with every field of the dataclass, in declaration order:
timestamps as ISO 8601 text with their UTC offset (microseconds kept), enums as their
values, sets as sorted lists, tuples as lists, metadata as an object, a nested record
(the brain's config) as an object. The caller serialises the result with :mod:`json`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Set
from datetime import datetime
from enum import Enum
from typing import Any

from neural_memory.codec.schema import FIELD_NAMES
from neural_memory.core.events import ChangeRecord
from neural_memory.errors import ValidationError

__all__ = ["encode_change", "encode_record", "encode_time"]

_PRIMITIVES = frozenset({str, int, float, bool, type(None)})


def encode_time(moment: datetime) -> str:
    """ISO 8601 with its UTC offset, microseconds kept."""
    return moment.isoformat()


def encode_record(record: object) -> dict[str, Any]:
    """Every field of a core record (Brain, Neuron, Alert, BrainStats, ...) as a JSON value."""
    names = FIELD_NAMES.get(type(record))
    if names is None:
        raise ValidationError(f"{type(record).__name__} is not a core record")
    plain: dict[str, Any] = {}
    for name in names:
        value = getattr(record, name)
        plain[name] = value if type(value) in _PRIMITIVES else _encode_value(value)
    return plain


def encode_change(change: ChangeRecord) -> list[Any]:
    """A change record as a compact ``[seq, kind, entity_id]`` triple."""
    return [change.seq, change.kind.value, change.entity_id]


def _encode_value(value: object) -> Any:
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return encode_time(value)
    if isinstance(value, Set):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return encode_record(value)
    return value
