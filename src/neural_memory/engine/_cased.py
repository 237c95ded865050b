"""Patterns written in lower case, scanned fast on ASCII text (pure, no I/O).

Extraction, fact keys and time expressions all read text with patterns written in lower case
and meant case-insensitively. An ASCII text is lower-cased once and scanned case-sensitively
(the same matches at the same places, several times faster than ``re.IGNORECASE``); any other
text is scanned as written, case-insensitively (lower-casing it could change its length).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

__all__ = ["CasedPattern", "CaseScan"]


class CasedPattern(NamedTuple):
    """A pattern written in lower case, compiled case-insensitively and case-sensitively."""

    anycase: re.Pattern[str]
    lower: re.Pattern[str]

    @classmethod
    def of(cls, pattern: str) -> CasedPattern:
        """Both compilations of ``pattern`` (which must be written in lower case)."""
        return cls(re.compile(pattern, re.IGNORECASE), re.compile(pattern))


class CaseScan(NamedTuple):
    """A text as the patterns scan it: lower-cased when it is ASCII (``lowered``)."""

    text: str
    lowered: bool

    @classmethod
    def of(cls, text: str) -> CaseScan:
        """The scan of ``text``."""
        return cls(text.lower(), True) if text.isascii() else cls(text, False)

    def compiled(self, pattern: CasedPattern) -> re.Pattern[str]:
        """The compilation of ``pattern`` that reads this scan's text."""
        return pattern.lower if self.lowered else pattern.anycase

    def finditer(self, pattern: CasedPattern) -> Iterator[re.Match[str]]:
        """Every match of ``pattern`` in the text."""
        return self.compiled(pattern).finditer(self.text)

    def search(self, pattern: CasedPattern) -> bool:
        """Whether ``pattern`` occurs in the text."""
        return self.compiled(pattern).search(self.text) is not None

    def match(self, pattern: CasedPattern) -> re.Match[str] | None:
        """``pattern`` matched at the start of the text."""
        return self.compiled(pattern).match(self.text)
