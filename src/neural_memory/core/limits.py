"""The limits every stored value respects, in one place, and the pure checks that enforce them.

Every write path checks them at the storage boundary (``Storage.write``, ``save_brain``,
``add_alerts``, ``add_recall_event``, ``set_meta``, the storage RPC of the server) and the
snapshot importer and exporter check the very same functions, so anything a brain accepts
it can also export, import and serve over :class:`~neural_memory.storage.SharedStorage`.

==========================  =============================================================
What                        Limit
==========================  =============================================================
any id                      1 to :data:`MAX_ID_LENGTH` characters
a name, tag, source, key    at most :data:`MAX_NAME_LENGTH` characters
a text (content, query...)  at most :data:`MAX_TEXT_LENGTH` characters
tags of one record          at most :data:`MAX_TAGS`
members of one fiber        at most :data:`MAX_FIBER_MEMBERS` ids per list
metadata of one record      a JSON object of at most :data:`MAX_METADATA_CHARS` characters
                            (compact JSON) nested at most :data:`MAX_METADATA_DEPTH` deep
a meta value                any JSON value of at most :data:`MAX_META_VALUE_CHARS`
a vector                    at most :data:`MAX_VECTOR_DIMENSIONS` finite numbers
every number                finite (no NaN, no infinity)
every string                valid Unicode (no lone surrogate) without NUL characters
every timestamp             year :data:`MIN_YEAR` to :data:`MAX_YEAR` (UTC)
==========================  =============================================================

A value that is too large raises :class:`~neural_memory.errors.LimitExceededError`
(HTTP 413); a value that is invalid (NaN, a lone surrogate, a far date, a value JSON cannot
hold) raises :class:`~neural_memory.errors.ValidationError` (HTTP 422).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from datetime import datetime
from enum import Enum
from types import MappingProxyType
from typing import Any

from neural_memory.errors import LimitExceededError, ValidationError

__all__ = [
    "MAX_FIBER_MEMBERS",
    "MAX_ID_LENGTH",
    "MAX_METADATA_CHARS",
    "MAX_METADATA_DEPTH",
    "MAX_META_VALUE_CHARS",
    "MAX_NAME_LENGTH",
    "MAX_TAGS",
    "MAX_TEXT_LENGTH",
    "MAX_VECTOR_DIMENSIONS",
    "MAX_YEAR",
    "MIN_YEAR",
    "check_id",
    "check_json_value",
    "check_number",
    "check_record",
    "check_records",
    "check_text",
    "check_time",
    "plain_deltas",
    "unplain_fields",
]

MAX_ID_LENGTH = 256
"""Longest id of any entity (brain, neuron, synapse, fiber, typed memory, project, alert)."""

MAX_NAME_LENGTH = 1_000
"""Longest brain or project name, tag, typed-memory source, meta key or model name."""

MAX_TEXT_LENGTH = 1_000_000
"""Longest neuron or fiber content, project description, alert message or recall query."""

MAX_TAGS = 1_000
"""Most tags on one fiber, typed memory or project."""

MAX_FIBER_MEMBERS = 100_000
"""Most neuron ids, synapse ids or pathway steps in one fiber (or fiber ids in an event)."""

MAX_METADATA_CHARS = 100_000
"""Longest metadata object of one entity, measured as compact JSON."""

MAX_METADATA_DEPTH = 32
"""Most levels of lists and objects inside a metadata object or meta value (the outer one
not counted): ``{"a": {"b": []}}`` is nested 2 deep."""

MAX_META_VALUE_CHARS = 1_000_000
"""Longest value stored with ``set_meta`` or ``WriteBatch.put_meta``, as compact JSON."""

MAX_VECTOR_DIMENSIONS = 65_536
"""Most numbers in one stored embedding."""

MIN_YEAR = 1000
"""Earliest year of any stored timestamp (a memory's own time, not a time it mentions)."""

MAX_YEAR = 8999
"""Latest year of any stored timestamp; dates stay far from ``datetime``'s edges."""

_FIELD_NAMES: dict[type, tuple[str, ...]] = {}
_UNCHECKED = frozenset({bool, int})
_UNCHECKED_OR_NONE = frozenset({bool, int, type(None)})
_MEMBERS = (MAX_FIBER_MEMBERS, MAX_ID_LENGTH)

# Field name -> the length limit of its text; any other string field is an id.
_TEXT_FIELDS = frozenset({"content", "description", "message", "query"})
_NAME_FIELDS = frozenset({"name", "source"})
_MEMBER_FIELDS = frozenset({"neuron_ids", "synapse_ids", "pathway", "fiber_ids"})
_ID_BOUNDS = (1, MAX_ID_LENGTH)
_STRING_BOUNDS = {
    **dict.fromkeys(_TEXT_FIELDS, (0, MAX_TEXT_LENGTH)),
    **dict.fromkeys(_NAME_FIELDS, (0, MAX_NAME_LENGTH)),
}


def check_text(value: str, what: str, limit: int = MAX_TEXT_LENGTH) -> str:
    """``value`` if it is a string of valid Unicode, without NUL, of at most ``limit`` chars."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a string, got {type(value).__name__}")
    if len(value) > limit:
        raise LimitExceededError(f"{what} is longer than {limit} characters ({len(value)})")
    if "\x00" in value:
        raise ValidationError(f"{what} holds a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(f"{what} is not valid Unicode: {exc.reason}") from None
    return value


def check_id(value: str, what: str) -> str:
    """``value`` if it is a valid id: non-empty valid text of at most MAX_ID_LENGTH."""
    check_text(value, what, MAX_ID_LENGTH)
    if not value:
        raise ValidationError(f"{what} must not be empty")
    return value


def check_number(value: float, what: str) -> float:
    """``value`` if it is a finite number."""
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError(f"{what} must be a finite number, got {value!r}")
    return value


def check_time(value: datetime, what: str) -> datetime:
    """``value`` if its year lies within MIN_YEAR to MAX_YEAR."""
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValidationError(
            f"{what} must lie within the years {MIN_YEAR} to {MAX_YEAR}, got {value.isoformat()}"
        )
    return value


def check_json_value(value: Any, what: str, limit: int = MAX_META_VALUE_CHARS) -> Any:
    """``value`` if it is plain JSON data that survives a round trip unchanged.

    Refused: NaN and infinity, non-string keys, tuples and other non-JSON types, nesting
    deeper than MAX_METADATA_DEPTH, invalid Unicode, more than ``limit`` characters.
    """
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} is not plain JSON data: {exc}") from None
    except RecursionError:
        raise ValidationError(f"{what} is nested deeper than {MAX_METADATA_DEPTH} levels") from None
    if text.count("{") + text.count("[") > MAX_METADATA_DEPTH:
        _check_depth(value, what)  # only text with that many brackets can nest that deep
    if len(text) > limit:
        raise LimitExceededError(f"{what} is larger than {limit} characters of JSON")
    check_text(text, what, limit)
    if json.loads(text) != value:
        raise ValidationError(f"{what} would change in JSON (use lists and string keys)")
    return value


def check_record(record: object, what: str | None = None) -> None:
    """Check every field of a core record (Neuron, Fiber, Brain, Alert, ...) against the limits."""
    for name, value in unplain_fields(record):
        _check_field(name, value, f"{what or type(record).__name__}.{name}")


def check_records(records: Sequence[object], what: str) -> None:
    """Check many core records (``what[0]``, ``what[1]``, ...) against the limits at once.

    The same as :func:`check_record` on each, but a bulk write of records that are plainly
    within the limits is checked field by field across all records (each field's values in
    one pass), and only when that finds a doubt record by record.
    """
    if not records:
        return
    kind = type(records[0])
    if all(type(record) is kind for record in records) and is_dataclass(kind):
        names = _field_names(kind)
        if all(_plain_column(name, [getattr(r, name) for r in records]) for name in names):
            return
    for index, record in enumerate(records):
        if unplain_fields(record):
            check_record(record, f"{what}[{index}]")


def _plain_column(name: str, values: list[Any]) -> bool:
    """Whether every value of one field (of many records) is plainly within the limits."""
    kinds = set(map(type, values))
    if kinds <= _UNCHECKED_OR_NONE:
        return True
    present = [value for value in values if value is not None]
    kinds.discard(type(None))
    if kinds == {str}:
        return _plain_texts(present, *_STRING_BOUNDS.get(name, _ID_BOUNDS))
    if kinds == {float}:
        return all(map(math.isfinite, present))
    if kinds == {datetime}:
        years: list[int] = [value.year for value in present]
        return min(years) >= MIN_YEAR and max(years) <= MAX_YEAR
    if kinds <= {frozenset, tuple}:
        items, length = (MAX_TAGS, MAX_NAME_LENGTH) if name == "tags" else _MEMBERS
        members = [item for value in present for item in value]
        return max(map(len, present)) <= items and (
            not members or (set(map(type, members)) == {str} and _plain_texts(members, 0, length))
        )
    if kinds <= {dict, MappingProxyType}:
        return all(not value or _plain_mapping(value) for value in present)
    if all(issubclass(kind, Enum) for kind in kinds):
        return True
    return all(_plainly_valid(name, value) for value in present)


def _plain_texts(texts: list[str], low: int, high: int) -> bool:
    """Whether strings are ASCII without NUL, ``low`` to ``high`` characters each."""
    lengths = list(map(len, texts))
    joined = "".join(texts)
    return (
        min(lengths) >= low and max(lengths) <= high and joined.isascii() and "\x00" not in joined
    )


def plain_deltas(deltas: Sequence[tuple[str, float]]) -> bool:
    """Whether (id, number) pairs are plainly within the limits (else check each in full)."""
    if not deltas:
        return True
    ids = [synapse_id for synapse_id, _ in deltas]
    amounts = [amount for _, amount in deltas]
    return (
        set(map(type, ids)) == {str}
        and _plain_texts(ids, *_ID_BOUNDS)
        and set(map(type, amounts)) <= {float, int}
        and all(map(math.isfinite, amounts))
    )


def _field_names(kind: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = tuple(spec.name for spec in fields(kind))
    return names


def unplain_fields(record: object) -> list[tuple[str, Any]]:
    """The fields of a core record that are not obviously within the limits, to check fully.

    Only a short cut for bulk writes of hundreds of thousands of records: the common field
    (a short ASCII id, a finite number, a flat ASCII metadata object) is passed here without
    a function call or a formatted name; everything else is checked by :func:`check_record`,
    which also builds the error message.
    """
    if not is_dataclass(record) or isinstance(record, type):
        raise ValidationError(f"expected a core record, got {type(record).__name__}")
    names = _field_names(type(record))
    unplain: list[tuple[str, Any]] = []
    for name in names:
        value = getattr(record, name)
        if type(value) is str:
            low, high = _STRING_BOUNDS.get(name, _ID_BOUNDS)
            if low <= len(value) <= high and value.isascii() and "\x00" not in value:
                continue
        elif value is None or type(value) in _UNCHECKED or _plainly_valid(name, value):
            continue
        unplain.append((name, value))
    return unplain


def _plainly_valid(name: str, value: Any) -> bool:
    """A quick yes for a non-string field that is obviously within the limits."""
    kind = type(value)
    if kind is float:
        return math.isfinite(value)
    if kind is datetime:
        return bool(MIN_YEAR <= value.year <= MAX_YEAR)
    if kind is frozenset or kind is tuple:
        return _plain_strings(name, value)
    if isinstance(value, Enum):
        return True
    return isinstance(value, Mapping) and (not value or _plain_mapping(value))


def _plain_strings(name: str, values: frozenset[Any] | tuple[Any, ...]) -> bool:
    """Whether a collection of ids (or tags) is plainly within the limits: short ASCII text."""
    if name == "tags":
        items, length = MAX_TAGS, MAX_NAME_LENGTH
    else:
        items, length = MAX_FIBER_MEMBERS, MAX_ID_LENGTH
    if len(values) > items or not all(type(item) is str for item in values):
        return False
    joined = "".join(values)
    return (
        joined.isascii()
        and "\x00" not in joined
        and (not values or max(map(len, values)) <= length)
    )


def _plain_mapping(mapping: Mapping[Any, Any]) -> bool:
    r"""Whether metadata is plainly valid JSON: ASCII text keys to ASCII text or integers.

    Such an object survives a JSON round trip unchanged, and each character takes at most
    6 characters of JSON (``\u001f``), which bounds its size without writing it.
    """
    chars = 2
    for key, value in mapping.items():
        if type(key) is not str or not key.isascii():
            return False
        kind = type(value)
        if kind is str:
            if not value.isascii():
                return False
            chars += 6 * (len(key) + len(value)) + 6
        elif (kind is int or kind is bool) and value.bit_length() < 64:
            chars += 6 * len(key) + 30
        else:
            return False
    return chars <= MAX_METADATA_CHARS


def _check_field(name: str, value: Any, what: str) -> None:
    if isinstance(value, bool | int | Enum):
        return
    if isinstance(value, str):
        _check_string_field(name, value, what)
    elif isinstance(value, float):
        check_number(value, what)
    elif isinstance(value, datetime):
        check_time(value, what)
    elif isinstance(value, Mapping):
        if value:
            check_json_value(dict(value), what, MAX_METADATA_CHARS)
    elif isinstance(value, frozenset | tuple | list):
        _check_strings(name, value, what)
    elif is_dataclass(value) and not isinstance(value, type):
        check_record(value, what)
    else:
        raise ValidationError(f"{what} has an unexpected type {type(value).__name__}")


def _check_string_field(name: str, value: str, what: str) -> None:
    if name in _TEXT_FIELDS:
        check_text(value, what)
    elif name in _NAME_FIELDS:
        check_text(value, what, MAX_NAME_LENGTH)
    else:
        check_id(value, what)


def _check_strings(name: str, values: Any, what: str) -> None:
    limit = MAX_TAGS if name == "tags" else MAX_FIBER_MEMBERS
    if len(values) > limit:
        raise LimitExceededError(f"{what} has more than {limit} items ({len(values)})")
    length = MAX_NAME_LENGTH if name == "tags" else MAX_ID_LENGTH
    for item in values:
        check_text(item, what, length)


def _check_depth(value: Any, what: str) -> None:
    """ValidationError when lists and objects nest deeper than MAX_METADATA_DEPTH."""
    level: list[Any] = [value]
    for _ in range(MAX_METADATA_DEPTH + 1):
        nested = [
            child
            for item in level
            if isinstance(item, Mapping | list | tuple)
            for child in (item.values() if isinstance(item, Mapping) else item)
            if isinstance(child, Mapping | list | tuple)
        ]
        if not nested:
            return
        level = nested
    raise ValidationError(f"{what} is nested deeper than {MAX_METADATA_DEPTH} levels")
