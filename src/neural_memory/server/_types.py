"""Strict field types of the HTTP contract: what the schema says is all that is accepted.

JSON has no time type, so times travel as ISO 8601 text only: a number is refused rather
than read as seconds since 1970. An integer is what JSON Schema calls one: any number
without a fraction (``511`` and ``511.0``; ``511.5`` is refused), never a boolean or a
string. Booleans are ``true``/``false`` (never ``1``), and a number field refuses ``true``
and ``"0.5"``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AllowInfNan,
    AwareDatetime,
    BeforeValidator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
)

__all__ = [
    "TIME_PATTERN",
    "AwareTime",
    "Flag",
    "NoNul",
    "NotBlank",
    "Number",
    "Time",
    "Whole",
    "WholeNumber",
]

TIME_PATTERN = (
    "^(100[1-9]|10[1-9][0-9]|1[1-9][0-9]{2}|[2-7][0-9]{3}|8[0-8][0-9]{2}|89[0-8][0-9]|899[0-8])-"
)
"""Times of the years 1001 to 8998 as written: whatever their offset, they lie within
``core.limits``' years 1000 to 8999 in UTC."""
_FIRST_YEAR, _LAST_YEAR = 1001, 8998


def _text_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("a time must be ISO 8601 text, e.g. 2026-01-31T09:30:00Z")
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


def _whole(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _storable_year(value: datetime) -> datetime:
    if not _FIRST_YEAR <= value.year <= _LAST_YEAR:
        raise ValueError(f"a time must lie within the years {_FIRST_YEAR} to {_LAST_YEAR}")
    return value


_TIME_SCHEMA = Field(json_schema_extra={"pattern": TIME_PATTERN})

Time = Annotated[
    datetime, BeforeValidator(_text_only), AfterValidator(_storable_year), _TIME_SCHEMA
]
"""A time as ISO 8601 text (no zone = UTC), of the years 1001 to 8998."""

AwareTime = Annotated[
    AwareDatetime, BeforeValidator(_text_only), AfterValidator(_storable_year), _TIME_SCHEMA
]
"""A time as ISO 8601 text with its zone, of the years 1001 to 8998."""

Number = Annotated[StrictFloat, AllowInfNan(False)]
"""A finite JSON number (integers included), never a boolean or a string."""

Whole = BeforeValidator(_whole)
"""Reads ``5.0`` as ``5``; put it after the constraints: ``Annotated[StrictInt, Field(ge=0),
Whole]`` (constraints on an alias of a validated type are not translated to JSON Schema)."""

WholeNumber = Annotated[StrictInt, Whole]
"""A number without a fraction (``5`` or ``5.0``), never a boolean or a string."""

Flag = StrictBool
"""``true`` or ``false``, never ``1`` or ``"yes"``."""

NotBlank = AfterValidator(_not_blank)
"""Refuses text that is only spaces (the schema says so with a ``pattern``)."""


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not hold a NUL character")
    return value


NoNul = AfterValidator(_no_nul)
"""Refuses text holding a NUL character (``core.limits`` refuses it in stored text)."""
