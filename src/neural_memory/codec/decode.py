"""JSON values -> core records, strictly (pure, no I/O).

A record's object must hold exactly its fields (none missing, none unknown); every JSON type
is checked against the field table of :mod:`neural_memory.codec.schema`, then the core
constructor validates the values. Any problem is a
:class:`~neural_memory.errors.SnapshotFormatError` (a ValidationError) naming the offending
path, such as ``fibers[3].pathway``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Set
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from neural_memory.codec.columns import decode_columns
from neural_memory.codec.schema import MAX_FIBER_MEMBERS, MAX_TAGS, SCHEMAS, FieldSpec, Shape
from neural_memory.core.events import ChangeKind, ChangeRecord
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import check_reserved
from neural_memory.errors import ConfigError, SnapshotFormatError, ValidationError

__all__ = ["decode_change", "decode_record", "decode_records", "decode_time", "require_fields"]

T = TypeVar("T")

_CHANGE_KINDS = frozenset(member.value for member in ChangeKind)


def decode_record(kind: type[T], value: Any, path: str) -> T:
    """A record of ``kind`` (Brain, Neuron, Alert, BrainStats, ...) from its JSON object."""
    specs = SCHEMAS.get(kind)
    if specs is None:
        raise ValidationError(f"{kind.__name__} is not a core record")
    reader = _Reader(value, path, specs)
    values = {spec.name: reader.read(spec) for spec in specs}
    record = _build(path, kind, **values)
    if isinstance(record, Fiber):
        _build(path, check_reserved, metadata=record.metadata)
    return record


def decode_records(kind: type[T], values: Any, path: str) -> list[T]:
    """A JSON list of records of ``kind``; items are named ``path[i]`` in errors."""
    if not isinstance(values, list):
        raise SnapshotFormatError(f"{path} must be a list")
    fast = decode_columns(kind, values)
    if fast is not None:
        return fast
    return [decode_record(kind, item, f"{path}[{i}]") for i, item in enumerate(values)]


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


def decode_change(value: Any, path: str = "change") -> ChangeRecord:
    """A ``[seq, kind, entity_id]`` triple."""
    if not isinstance(value, list) or len(value) != 3:
        raise SnapshotFormatError(f"{path} must be a [seq, kind, entity_id] list")
    seq, kind, entity_id = value
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise SnapshotFormatError(f"{path}[0] must be a non-negative integer, got {seq!r}")
    if not isinstance(kind, str) or kind not in _CHANGE_KINDS:
        raise SnapshotFormatError(f"{path}[1] is not a change kind: {kind!r}")
    if not isinstance(entity_id, str):
        raise SnapshotFormatError(f"{path}[2] must be a string")
    return ChangeRecord(seq, ChangeKind(kind), entity_id)


def require_fields(
    value: Mapping[str, Any], expected: Set[str], subject: str, *, all_required: bool = True
) -> None:
    """SnapshotFormatError unless ``value`` has only ``expected`` keys (all, if required).

    ``subject`` starts the message: ``"fibers[0] is missing field(s) ['content']"``.
    """
    missing = expected - value.keys() if all_required else set()
    if missing:
        raise SnapshotFormatError(f"{subject} is missing field(s) {sorted(missing)}")
    unknown = value.keys() - expected
    if unknown:
        raise SnapshotFormatError(f"{subject} has unknown field(s) {sorted(unknown)}")


def _build(path: str, factory: Callable[..., T], **kwargs: Any) -> T:
    try:
        return factory(**kwargs)
    except (ValidationError, ConfigError) as error:
        raise SnapshotFormatError(f"{path}: {error}") from None


class _Reader:
    """Typed access to one JSON object that must hold exactly the fields in ``specs``."""

    def __init__(self, value: Any, path: str, specs: tuple[FieldSpec, ...]) -> None:
        if not isinstance(value, dict):
            raise SnapshotFormatError(f"{path} must be an object, got {_json_type(value)}")
        require_fields(value, {spec.name for spec in specs}, path)
        self.value = value
        self.path = path

    def read(self, spec: FieldSpec) -> Any:
        """The value of one field, checked against its shape."""
        value = self.value[spec.name]
        shape = spec.shape
        plain = _PLAINLY.get(type(value))
        if plain is not None and (plain is shape or plain is _ANY_SHAPE.get(shape)):
            return value  # already what the field holds (most fields of a bulk import)
        at = f"{self.path}.{spec.name}"
        if value is None and shape in (Shape.OPTIONAL_TEXT, Shape.OPTIONAL_TIME):
            return None
        if shape in (Shape.TEXT, Shape.OPTIONAL_TEXT):
            return _text(value, at)
        if shape in (Shape.TIME, Shape.OPTIONAL_TIME):
            return decode_time(value, at)
        if shape is Shape.NUMBER:
            return float(_number(value, at, _json_type(value)))
        if shape is Shape.CONFIG_NUMBER:
            return _number(value, at, repr(value))
        if shape is Shape.INTEGER:
            return _integer(value, at)
        if shape is Shape.ENUM and spec.enum is not None:
            return _enum(value, at, spec.enum)
        if shape is Shape.MEMBERS:
            return _strings(value, at, MAX_FIBER_MEMBERS)
        if shape is Shape.TAGS:
            return _strings(value, at, MAX_TAGS)
        if shape is Shape.METADATA:
            return _object(value, at)
        if shape is Shape.RECORD and spec.record is not None:
            return decode_record(spec.record, value, at)
        raise ValidationError(f"{at}: field table entry {spec!r} is incomplete")


_PLAINLY: dict[type, Shape] = {str: Shape.TEXT, float: Shape.NUMBER, int: Shape.INTEGER}
"""The shape a JSON value of each type is read as unchanged (``bool`` is not an ``int`` here)."""
_ANY_SHAPE: dict[Shape, Shape] = {Shape.OPTIONAL_TEXT: Shape.TEXT}
"""Shapes that read a value as another shape does (when it is not null)."""


def _text(value: Any, at: str) -> str:
    if not isinstance(value, str):
        raise SnapshotFormatError(f"{at} must be a string, got {_json_type(value)}")
    return value


def _number(value: Any, at: str, shown: str) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SnapshotFormatError(f"{at} must be a number, got {shown}")
    return value


def _integer(value: Any, at: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SnapshotFormatError(f"{at} must be an integer, got {value!r}")
    return value


def _enum(value: Any, at: str, kind: type[Enum]) -> Enum:
    try:
        return kind(value)
    except (ValueError, TypeError):
        allowed = ", ".join(str(member.value) for member in kind)
        raise SnapshotFormatError(f"{at} must be one of {allowed}; got {value!r}") from None


def _strings(value: Any, at: str, max_items: int) -> list[str]:
    if not isinstance(value, list):
        raise SnapshotFormatError(f"{at} must be a list, got {_json_type(value)}")
    if len(value) > max_items:
        raise SnapshotFormatError(f"{at} has more than {max_items} items")
    if not all(isinstance(item, str) for item in value):
        raise SnapshotFormatError(f"{at} must contain only strings")
    return value


def _object(value: Any, at: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SnapshotFormatError(f"{at} must be an object, got {_json_type(value)}")
    return value


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
