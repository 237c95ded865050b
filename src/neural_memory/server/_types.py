"""Strict field types of the HTTP contract: what the schema says is all that is accepted.

JSON has no time type, so times travel as ISO 8601 text only: a number is refused rather
than read as seconds since 1970. Integers are JSON integers (``511.0`` is refused, as the
schema's ``integer`` says), booleans are ``true``/``false`` (never ``1``), and a number
field refuses ``true``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AllowInfNan, AwareDatetime, BeforeValidator, StrictBool, StrictFloat, StrictInt

__all__ = ["AwareTime", "Flag", "Number", "Time", "WholeNumber"]


def _text_only(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str):
        raise ValueError("a time must be ISO 8601 text, e.g. 2026-01-31T09:30:00Z")
    return value


Time = Annotated[datetime, BeforeValidator(_text_only)]
"""A time as ISO 8601 text (no zone = UTC)."""

AwareTime = Annotated[AwareDatetime, BeforeValidator(_text_only)]
"""A time as ISO 8601 text with its zone."""

Number = Annotated[StrictFloat, AllowInfNan(False)]
"""A finite JSON number (integers included), never a boolean or a string."""

WholeNumber = StrictInt
"""A JSON integer, never ``1.0``, a boolean or a string."""

Flag = StrictBool
"""``true`` or ``false``, never ``1`` or ``"yes"``."""
