"""The engine's reserved fiber metadata keys: typed on construction, typed when read."""

from __future__ import annotations

import re
from typing import Any

import pytest

from neural_memory.core import Fiber
from neural_memory.core.fiber_metadata import (
    FOLLOWS,
    MENTIONS,
    RESERVED_KEYS,
    SOURCES,
    SPEAKER,
    ValueKind,
)
from neural_memory.errors import ValidationError


def _fiber(**metadata: Any) -> Fiber:
    return Fiber.create(["n-1"], content="hello", metadata=metadata)


@pytest.mark.parametrize(
    ("key", "value", "needle"),
    [
        ("speaker", 5, "metadata['speaker'] must be a string"),
        ("follows", " ", "metadata['follows'] must be a non-blank string"),
        ("mentions", 0, "must be a positive integer"),
        ("mentions", True, "must be a positive integer"),
        ("mentions", "3", "must be a positive integer"),
        ("edited", "yes", "must be true or false"),
        ("last_mentioned", "2024-05-01T12:00:00", "with a UTC offset"),
        ("sources", "f-1", "a list of non-blank strings"),
        ("concept_of", None, "non-blank string"),
    ],
)
def test_a_reserved_key_of_the_wrong_kind_is_refused(key: str, value: Any, needle: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(needle)):
        _fiber(**{key: value})


def test_reserved_keys_of_their_kind_and_free_form_keys_are_kept() -> None:
    fiber = _fiber(
        speaker="Ann",
        follows="f-0",
        mentions=3,
        last_mentioned="2024-05-01T12:00:00+00:00",
        sources=["f-1", "f-2"],
        edited=True,
        role={"any": ["json", 1]},
        speaker_note=5,
    )
    assert SPEAKER.get(fiber.metadata) == "Ann"
    assert FOLLOWS.get(fiber.metadata) == "f-0"
    assert MENTIONS.get(fiber.metadata) == 3
    assert SOURCES.get(fiber.metadata) == ["f-1", "f-2"]
    assert fiber.metadata["role"] == {"any": ["json", 1]}


def test_with_metadata_checks_reserved_keys_too() -> None:
    with pytest.raises(ValidationError, match="mentions"):
        _fiber().with_metadata(mentions=-1)


def test_reading_unchecked_metadata_gives_none_for_the_wrong_kind() -> None:
    raw = {"speaker": ["not", "text"], "mentions": 2}
    assert SPEAKER.get(raw) is None
    assert MENTIONS.get(raw) == 2
    assert FOLLOWS.get({}) is None


def test_every_reserved_key_says_what_it_means() -> None:
    assert {"speaker", "follows", "supersedes", "mentions", "fact_value"} <= set(RESERVED_KEYS)
    for name, key in RESERVED_KEYS.items():
        assert key.name == name
        assert isinstance(key.kind, ValueKind)
        assert key.meaning.endswith(".")
