"""A list of JSON records -> core records, column by column (pure, no I/O).

The fast path of :func:`~neural_memory.codec.decode.decode_records` for bulk data (snapshot
sections, RPC answers): every item must be an object with exactly the record's fields, then
each field is read for all items at once with one type test per value instead of a checked
read per field. It accepts only what the strict per-record reader accepts and yields the
same values; whenever anything is not plainly right it answers None, and the caller decodes
record by record, which names the offending path. The records' constructors still validate
the values (ranges, blank ids, references within a record).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable, Iterable
from datetime import datetime
from enum import Enum
from typing import Any, TypeVar

from neural_memory.codec._assemble import ASSEMBLERS as _ASSEMBLERS
from neural_memory.codec.schema import MAX_FIBER_MEMBERS, MAX_TAGS, SCHEMAS, FieldSpec, Shape
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import check_reserved
from neural_memory.errors import ConfigError, ValidationError

__all__ = ["decode_columns"]

T = TypeVar("T")

_Column = list[Any]
_MAX_TIME_CHARS = 64  # as decode_time


def decode_columns(kind: type[T], values: list[Any]) -> list[T] | None:
    """The records of ``kind`` in ``values``, or None when the strict reader must look.

    None for record types with nested records, for any item that is not an object with
    exactly the record's fields, any value not plainly of its field's shape, and any
    record its constructor refuses.
    """
    specs = SCHEMAS.get(kind)
    if specs is None or any(spec.shape is Shape.RECORD for spec in specs):
        return None
    names = {spec.name for spec in specs}
    if not _only(values, _DICT):
        return None
    if not all(map(operator.eq, map(dict.keys, values), itertools.repeat(names))):
        return None
    columns: list[_Column] = []
    for spec in specs:
        column = _read_column(spec, list(map(operator.itemgetter(spec.name), values)))
        if column is None:
            return None
        columns.append(column)
    return _build_all(kind, tuple(spec.name for spec in specs), columns)


def _build_all(kind: type[T], names: tuple[str, ...], columns: list[_Column]) -> list[T] | None:
    assemble = _ASSEMBLERS.get(kind)
    if assemble is not None:
        records: list[Any] | None = assemble(dict(zip(names, columns, strict=True)))
    else:
        records = _constructed(kind, names, columns)
    if records is not None and kind is Fiber:
        try:
            for record in records:
                check_reserved(metadata=record.metadata)
        except ValidationError:
            return None
    return records


def _constructed(kind: type[T], names: tuple[str, ...], columns: list[_Column]) -> list[T] | None:
    try:
        return [kind(**dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)]
    except (ValidationError, ConfigError):
        return None


def _read_column(spec: FieldSpec, column: _Column) -> _Column | None:
    """``column`` as the record's constructor takes it, or None if not plainly right."""
    shape = spec.shape
    if shape is Shape.ENUM:
        return _enums(column, spec.enum) if spec.enum is not None else None
    read = _READERS.get(shape)
    return read(column) if read is not None else None


def _only(column: Iterable[Any], types: frozenset[type]) -> bool:
    """Whether every value's exact type is one of ``types`` (one C pass: no bool for int)."""
    return set(map(type, column)) <= types


_STR = frozenset({str})
_OPTIONAL_STR: frozenset[type] = frozenset({str, type(None)})
_FLOAT = frozenset({float})
_NUMBER = frozenset({float, int})
_INT = frozenset({int})
_LIST = frozenset({list})
_DICT = frozenset({dict})


def _texts(column: _Column) -> _Column | None:
    return column if _only(column, _STR) else None


def _optional_texts(column: _Column) -> _Column | None:
    return column if _only(column, _OPTIONAL_STR) else None


def _numbers(column: _Column) -> _Column | None:
    found = set(map(type, column))
    if found <= _FLOAT:
        return column
    if found <= _NUMBER:
        return [float(value) for value in column]
    return None


def _integers(column: _Column) -> _Column | None:
    return column if _only(column, _INT) else None


def _times(column: _Column) -> _Column | None:
    if not _only(column, _STR) or max(map(len, column), default=0) > _MAX_TIME_CHARS:
        return None
    try:
        moments = [datetime.fromisoformat(value) for value in column]
    except ValueError:
        return None
    return moments if all(moment.tzinfo is not None for moment in moments) else None


def _optional_times(column: _Column) -> _Column | None:
    present = [value for value in column if value is not None]
    moments = _times(present)
    if moments is None or len(present) == len(column):
        return moments
    found = iter(moments)
    return [None if value is None else next(found) for value in column]


def _enums(column: _Column, kind: type[Enum]) -> _Column | None:
    members = {member.value: member for member in kind}
    if not _only(column, _STR):
        return None
    try:
        return [members[value] for value in column]
    except KeyError:
        return None


def _string_lists(max_items: int) -> Callable[[_Column], _Column | None]:
    def read(column: _Column) -> _Column | None:
        if not _only(column, _LIST) or max(map(len, column), default=0) > max_items:
            return None
        return column if _only(itertools.chain.from_iterable(column), _STR) else None

    return read


def _objects(column: _Column) -> _Column | None:
    return column if _only(column, _DICT) else None


_READERS: dict[Shape, Callable[[_Column], _Column | None]] = {
    Shape.TEXT: _texts,
    Shape.OPTIONAL_TEXT: _optional_texts,
    Shape.NUMBER: _numbers,
    Shape.INTEGER: _integers,
    Shape.TIME: _times,
    Shape.OPTIONAL_TIME: _optional_times,
    Shape.MEMBERS: _string_lists(MAX_FIBER_MEMBERS),
    Shape.TAGS: _string_lists(MAX_TAGS),
    Shape.METADATA: _objects,
}
"""Shape -> its column reader (ENUM needs the spec's enum; RECORD is never read here)."""
