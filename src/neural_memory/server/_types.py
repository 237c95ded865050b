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
    StrictBool,
    StrictFloat,
    StrictInt,
)

__all__ = ["AwareTime", "Flag", "NoNul", "NotBlank", "Number", "Time", "Whole", "WholeNumber"]


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


Time = Annotated[datetime, BeforeValidator(_text_only)]
"""A time as ISO 8601 text (no zone = UTC)."""

AwareTime = Annotated[AwareDatetime, BeforeValidator(_text_only)]
"""A time as ISO 8601 text with its zone."""

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
