"""Small validators shared by the core value objects (pure, no I/O)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Any, TypeVar

from neural_memory.core.clock import as_utc
from neural_memory.errors import ValidationError

E = TypeVar("E", bound=Enum)
R = TypeVar("R")

EMPTY_MAPPING: Mapping[str, Any] = MappingProxyType({})


def require_text(value: object, name: str) -> str:
    """Return ``value`` if it is a non-blank string, else raise ValidationError."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    if not value.strip():
        raise ValidationError(f"{name} must not be empty")
    return value


def require_unit(value: object, name: str) -> float:
    """Return ``value`` as a float in [0, 1], else raise ValidationError."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValidationError(f"{name} must be between 0 and 1, got {value}")
    return float(value)


def require_enum(value: object, enum_type: type[E], name: str) -> E:
    """Coerce ``value`` (a member or its value) to ``enum_type``."""
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum_type)
        raise ValidationError(f"{name} must be one of {allowed}; got {value!r}") from None


def require_count(value: object, name: str) -> int:
    """Return ``value`` if it is a non-negative int."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def freeze_mapping(value: Mapping[str, Any] | None, name: str) -> Mapping[str, Any]:
    """Return a read-only copy of ``value``."""
    if value is None or value is EMPTY_MAPPING:
        return EMPTY_MAPPING
    if not isinstance(value, Mapping):
        raise ValidationError(f"{name} must be a mapping, got {type(value).__name__}")
    return MappingProxyType(dict(value))


def freeze_strings(values: Iterable[str] | None, name: str) -> frozenset[str]:
    """Return ``values`` as a frozenset of strings (a lone string is refused)."""
    if values is None:
        return frozenset()
    if isinstance(values, str):
        raise ValidationError(f"{name} must be a collection of strings, not a string")
    result = frozenset(values)
    if not all(isinstance(item, str) for item in result):
        raise ValidationError(f"{name} must contain only strings")
    return result


def optional_utc(value: datetime | None, name: str) -> datetime | None:
    """Return ``value`` as aware UTC, or None."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(f"{name} must be a datetime, got {type(value).__name__}")
    return as_utc(value)


def set_field(obj: object, name: str, value: object) -> None:
    """Assign a normalised value in a frozen dataclass's ``__post_init__``."""
    object.__setattr__(obj, name, value)


def assembler(record_type: type[R], *, positional: bool = False) -> Callable[..., R]:
    """A function making a ``record_type`` from every field's value (by keyword), as given.

    It skips ``__post_init__``: only for values already in the form that check leaves them in
    (read-only mappings, frozensets, aware UTC times, enum members, floats) that the engine
    made from input it validated. Bulk ingest makes tens of thousands of records per batch,
    and checking them again cost a fifth of its time; storage still checks every write.
    The function is generated once per type (as ``dataclasses`` makes ``__init__``), from
    the field names only, and refuses a missing or unknown field like any call.
    ``positional`` makes it take the values in field order instead (bulk decoding builds
    records from columns, where a keyword dict per record would cost as much as the record).
    """
    names: tuple[str, ...] = record_type.__slots__  # type: ignore[attr-defined]
    scope: dict[str, Any] = {"new": object.__new__, "kind": record_type}
    star = "" if positional else "*, "
    lines = [f"def assemble({star}{', '.join(names)}):", "    record = new(kind)"]
    for name in names:
        scope[f"set_{name}"] = getattr(record_type, name).__set__  # the slot, past frozen
        lines.append(f"    set_{name}(record, {name})")
    lines.append("    return record")
    exec("\n".join(lines), scope)
    made: Callable[..., R] = scope["assemble"]
    return made


def empty_mapping() -> Mapping[str, Any]:
    """Default factory for read-only metadata fields."""
    return EMPTY_MAPPING
