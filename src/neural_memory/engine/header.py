"""What a memory's text says about itself before its content (pure, no I/O).

People and programs write a memory the way a log or a chat transcript reads:
"[2023-05-08 13:56] Caroline: I went to the support group", "2023/05/20 (Sat) 02:21 user:
...", "May 8, 2023 - Ann: ...". :func:`read_header` finds such a leading date (and time) and
"Name:" speaker prefix, so the encoder can store the memory exactly as if its timestamp and
speaker had been passed as fields: same time, same speaker, same text.

The header must be at the very start. A date is a header when it is bracketed, or followed
by a separator (``-``, ``:``, ``|``) or a speaker; "May 8, 2023 was my wedding day" keeps its
date in the sentence. A speaker is a capitalised name of at most three words, or a chat role
(``user``, ``assistant``), followed by a colon and a space; labels such as "Note:", "TODO:" or
"Update:" are not names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from neural_memory.engine.text import STOP_WORDS, stem
from neural_memory.engine.timeparse import leading_moment

__all__ = ["Header", "read_header"]

_OPEN_CLOSE = {"[": "]", "(": ")"}
_SEPARATOR = re.compile(r"\s*[-–—:|]\s+|\s*[-–—|]\s*")
_SPEAKER = re.compile(
    r"(?P<name>[A-Za-z][\w'’.]*(?:[ -][A-Z][\w'’.]*){0,2})\s*:\s+(?=\S)", re.UNICODE
)
_ROLES = frozenset({"user", "assistant", "human", "ai", "bot", "system"})
_LABELS = frozenset(
    stem(word)
    for word in """note todo reminder update fact decision idea question answer warning
    important fyi ps tip summary goal plan reason bug fix error issue edit subject title status
    result problem solution context lesson insight meeting task step source quote example tldr
    nb info remember caution done next later today yesterday tomorrow tonight morning evening
    afternoon night agenda action outcome topic re fw fwd cc bcc to from date time location
    where when why how what who which
    """.split()
)


@dataclass(frozen=True, slots=True)
class Header:
    """A memory's leading date and speaker, and the text that follows them.

    Attributes:
        text: The header as written ("[2023-05-08 13:56] Caroline:").
        moment: The written date and time (UTC), or None when only a speaker is written.
        speaker: The written speaker, or None when only a date is written.
        body: The memory's content after the header.
    """

    text: str
    moment: datetime | None
    speaker: str | None
    body: str


def read_header(text: str) -> Header | None:
    """The leading date and/or "Name:" speaker of ``text``, or None when it has neither."""
    moment, offset = _read_moment(text)
    speaker, after = _read_speaker(text, offset, needs_separator=moment is not None)
    if moment is None and speaker is None:
        return None
    if speaker is None:
        separated = _after_separator(text, offset)
        if separated is None:
            return None
        after = separated
    body = text[after:].strip()
    if not body:
        return None
    return Header(text[:after].strip(), moment, speaker, body)


def _read_moment(text: str) -> tuple[datetime | None, int]:
    """The written moment at the start of ``text`` (bracketed or not) and where it ends."""
    stripped = len(text) - len(text.lstrip())
    opening = text[stripped : stripped + 1]
    if opening in _OPEN_CLOSE:
        close = text.find(_OPEN_CLOSE[opening], stripped + 1)
        inner = text[stripped + 1 : close] if close > 0 else ""
        found = leading_moment(inner)
        if found is not None and not inner[found[1] :].strip():
            return found[0], close + 1
        return None, 0
    found = leading_moment(text)
    return (found[0], found[1]) if found is not None else (None, 0)


def _after_separator(text: str, offset: int) -> int | None:
    """Where the content starts after an unbracketed date, or None: the date is a sentence's."""
    if offset > 0 and text[offset - 1] in ")]":
        return offset
    match = _SEPARATOR.match(text, offset)
    return match.end() if match is not None else None


def _read_speaker(text: str, offset: int, *, needs_separator: bool) -> tuple[str | None, int]:
    """A "Name:" prefix at ``offset`` (after a date: a space or separator first)."""
    start = offset
    if needs_separator:
        gap = re.compile(r"\s*[-–—|]?\s*").match(text, offset)
        start = gap.end() if gap is not None else offset
        if start == offset and text[offset - 1 : offset] not in (")", "]"):
            return None, offset
    else:
        start = len(text) - len(text.lstrip())
    match = _SPEAKER.match(text, start)
    if match is None or not _is_name(match.group("name")):
        return None, offset
    return match.group("name"), match.end()


def _is_name(name: str) -> bool:
    """Whether a "Name:" prefix names someone (a chat role or a proper name, not a label)."""
    words = name.replace("-", " ").split()
    first = words[0].casefold()
    if len(words) == 1 and first in _ROLES:
        return True
    if not name[0].isupper() or first in STOP_WORDS or stem(first) in _LABELS:
        return False
    return not any(ch.isdigit() for ch in name)
