"""The fiber metadata keys the engine reserves: each key's type and meaning (pure data).

A fiber's metadata is free-form, except for the keys in :data:`RESERVED_KEYS`: the engine
writes and reads them, so a value of the wrong type is refused with ValidationError by
``Fiber.create``, ``Fiber.with_metadata``, the JSON decoder and every storage write. A fiber
read back from a brain stored before that check keeps what it holds: its typed keys read as
None, so no old brain becomes unreadable. Code reads them typed, through
:meth:`MetadataKey.get` (``SPEAKER.get(fiber.metadata)``), never with ``metadata.get("...")``.
The server's JSON Schema of a fiber lists the same keys (``server/record_schemas.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, Generic, TypeVar, cast

from neural_memory.errors import ValidationError

__all__ = [
    "CONCEPT_OF",
    "CONVERSATION",
    "EDITED",
    "FACT_VALUE",
    "FOLLOWS",
    "HEADER",
    "LAST_MENTIONED",
    "MENTIONS",
    "PATTERN",
    "RESERVED_KEYS",
    "SHOWN_KEYS",
    "SOURCES",
    "SPEAKER",
    "STAGE",
    "SUPERSEDES",
    "MetadataKey",
    "ValueKind",
    "check_reserved",
]

T = TypeVar("T")


class ValueKind(Enum):
    """What a reserved key's value must be (its JSON form)."""

    TEXT = "text"
    """Any string."""
    ID = "id"
    """A non-blank string naming a record (a fiber or a neuron)."""
    COUNT = "count"
    """A positive integer."""
    FLAG = "flag"
    """True or false."""
    TIME = "time"
    """An ISO 8601 timestamp with a UTC offset, as text."""
    IDS = "ids"
    """A list of non-blank strings naming records."""


@dataclass(frozen=True, slots=True)
class MetadataKey(Generic[T]):
    """One reserved metadata key: its name, the kind of value it holds and what it means."""

    name: str
    kind: ValueKind
    meaning: str

    def get(self, metadata: Mapping[str, Any]) -> T | None:
        """The key's value in ``metadata``, or None when it is absent or not of its kind.

        Fiber metadata is checked on its way into a brain; a fiber stored before that check,
        or a memory's input metadata before it becomes a fiber, may hold anything, and a value
        of another kind reads as None.
        """
        value = metadata.get(self.name)
        return cast("T", value) if value is not None and _FITS[self.kind](value) else None

    def check(self, value: object) -> None:
        """Raise ValidationError when ``value`` is not of this key's kind."""
        if not _FITS[self.kind](value):
            raise ValidationError(
                f"metadata[{self.name!r}] must be {_EXPECTED[self.kind]}, got {value!r}"
            )


def _text(name: str, meaning: str) -> MetadataKey[str]:
    return MetadataKey(name, ValueKind.TEXT, meaning)


def _id(name: str, meaning: str) -> MetadataKey[str]:
    return MetadataKey(name, ValueKind.ID, meaning)


SPEAKER = _text("speaker", "Who said or wrote the memory.")
CONVERSATION = _id("conversation", "The conversation or session the memory belongs to.")
FOLLOWS = _id("follows", "The id of the memory this one follows in its conversation.")
SUPERSEDES = _id("supersedes", "The id of the older memory this one replaces (a fact's chain).")
MENTIONS: MetadataKey[int] = MetadataKey(
    "mentions", ValueKind.COUNT, "How many times the same text was stored (1 when absent)."
)
LAST_MENTIONED: MetadataKey[str] = MetadataKey(
    "last_mentioned", ValueKind.TIME, "When the text was last stored again (a repeat)."
)
FACT_VALUE = _text("fact_value", "The value the memory states for its fact's subject.")
HEADER = _text("header", "The date and speaker header the text started with, as written.")
STAGE = _text("stage", "Maturation stage: episodic (when absent) or semantic.")
CONCEPT_OF = _id("concept_of", "The neuron a consolidated concept memory summarises.")
SOURCES: MetadataKey[Sequence[str]] = MetadataKey(
    "sources", ValueKind.IDS, "Ids of the memories a concept memory was promoted from."
)
EDITED: MetadataKey[bool] = MetadataKey(
    "edited", ValueKind.FLAG, "True when the memory is an edit of an older version."
)
PATTERN = _text("pattern", "The design pattern a database-schema memory describes.")

RESERVED_KEYS: Mapping[str, MetadataKey[Any]] = {
    key.name: key
    for key in (
        SPEAKER,
        CONVERSATION,
        FOLLOWS,
        SUPERSEDES,
        MENTIONS,
        LAST_MENTIONED,
        FACT_VALUE,
        HEADER,
        STAGE,
        CONCEPT_OF,
        SOURCES,
        EDITED,
        PATTERN,
    )
}
"""Reserved key name -> its :class:`MetadataKey` (every other key is free-form)."""

SHOWN_KEYS: tuple[MetadataKey[Any], ...] = (SPEAKER,)
"""The reserved keys the interfaces show as fields of a memory of their own.

The HTTP API's and the MCP tools' memory models get one typed field per key here
(``server/metadata_fields.py``); the other keys stay inside ``metadata``.
"""

_EXPECTED = {
    ValueKind.TEXT: "a string",
    ValueKind.ID: "a non-blank string",
    ValueKind.COUNT: "a positive integer",
    ValueKind.FLAG: "true or false",
    ValueKind.TIME: "an ISO 8601 timestamp with a UTC offset",
    ValueKind.IDS: "a list of non-blank strings",
}


def check_reserved(metadata: Mapping[str, Any]) -> None:
    """Raise ValidationError when a reserved key of ``metadata`` holds a value of another kind."""
    if metadata.keys().isdisjoint(_FITS_BY_NAME):
        return
    for name, value in metadata.items():
        fits = _FITS_BY_NAME.get(name)
        if fits is not None and not fits(value):
            RESERVED_KEYS[name].check(value)


def _is_text(value: object) -> bool:
    return isinstance(value, str)


def _is_id(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_count(value: object) -> bool:
    return type(value) is int and value > 0


def _is_flag(value: object) -> bool:
    return isinstance(value, bool)


def _is_time(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        return datetime.fromisoformat(value).utcoffset() is not None
    except ValueError:
        return False


def _is_ids(value: object) -> bool:
    return isinstance(value, list | tuple) and all(_is_id(item) for item in value)


_FITS: dict[ValueKind, Callable[[object], bool]] = {
    ValueKind.TEXT: _is_text,
    ValueKind.ID: _is_id,
    ValueKind.COUNT: _is_count,
    ValueKind.FLAG: _is_flag,
    ValueKind.TIME: _is_time,
    ValueKind.IDS: _is_ids,
}
_FITS_BY_NAME = {name: _FITS[key.kind] for name, key in RESERVED_KEYS.items()}
"""Reserved key name -> the test its values must pass (what a fiber's construction runs)."""
