"""Fact keys: which stored statement a new statement updates (pure, no I/O).

"The wifi password is mango77" and "The wifi password is tangerine42" state two values of
one *subject* ("wifi password"); "Alice moved to Berlin" updates "Alice lives in Paris"
(relation "live in"). A statement's :class:`FactKey` names its subject, so the encoder can
find the older values of the same fact and mark them superseded - keeping them reachable
through the supersession chain instead of dropping them.

Only short, single-clause statements with an attribute-like subject (two or more content
words, a possessive, or a residence/employment relation) get a key: "Caroline is excited"
and "Caroline is a counselor" are two facts, not one updated fact.
"""

from __future__ import annotations

from dataclasses import dataclass

from neural_memory.engine._cased import CasedPattern, CaseScan
from neural_memory.engine.text import terms

__all__ = ["FactKey", "fact_key"]

MAX_STATEMENT_WORDS = 24

# (pattern, relation, words one of which every match holds: a lower-cased sentence without
# them is not matched against the pattern at all).
_RELATION_SOURCES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        r"^(?P<subject>.+?)\s+(?:lives|lived|living|moved|relocated|is living)\s+(?:in|to)\s+"
        r"(?P<value>.+)$",
        "live in",
        ("liv", "moved", "relocated"),
    ),
    (
        r"^(?P<subject>.+?)\s+(?:works|worked|is working|started working)\s+(?:at|for)\s+"
        r"(?P<value>.+)$",
        "work at",
        ("work",),
    ),
    (
        r"^(?P<subject>.+?)\s+(?:is|are|was|were|has been|is now|are now|changed to|became"
        r"|=)\s+(?P<value>.+)$",
        "",
        ("is", "are", "was", "were", "been", "changed", "became", "="),
    ),
    (r"^(?P<subject>[^:]{3,60}):\s*(?P<value>.+)$", "", (":",)),
)
_CLAUSES = r"[.?!;,]|\b(?:but|and|because|if|when)\b"
_POSSESSIVES = r"\b(?:my|our|his|her|their|its|\w+'s)\b"


# Statements are read case-insensitively (see :mod:`neural_memory.engine._cased`); the key is
# made of terms, which fold case.
_RELATIONS: tuple[tuple[CasedPattern, str, tuple[str, ...]], ...] = tuple(
    (CasedPattern.of(pattern), relation, words) for pattern, relation, words in _RELATION_SOURCES
)
_CLAUSE = CasedPattern.of(_CLAUSES)
_POSSESSIVE = CasedPattern.of(_POSSESSIVES)


@dataclass(frozen=True, slots=True)
class FactKey:
    """The subject a statement sets a value for, and the value it sets."""

    subject: str
    value: str

    @property
    def neuron_content(self) -> str:
        """Display text of the subject neuron."""
        return self.subject


def fact_key(text: str) -> FactKey | None:
    """The fact ``text`` states, or None when it is not a short attribute statement."""
    return _read(CaseScan.of(text.strip().rstrip(".!")))


def _read(scan: CaseScan) -> FactKey | None:
    sentence = scan.text
    if not sentence or len(sentence.split()) > MAX_STATEMENT_WORDS or scan.search(_CLAUSE):
        return None
    for pattern, relation, words in _RELATIONS:
        # The guard words are lower case: they can only rule out a lower-cased sentence.
        if scan.lowered and not any(map(sentence.__contains__, words)):
            continue
        match = scan.match(pattern)
        if match is None:
            continue
        subject_text = match.group("subject")
        subject = terms(subject_text)
        value = " ".join(terms(match.group("value")))
        if not subject or not value or len(subject_text.split()) > 5:
            return None
        if (
            not relation
            and len(subject) < 2
            and not scan.compiled(_POSSESSIVE).search(subject_text)
        ):
            return None
        key = " ".join([*subject, relation] if relation else subject)
        return FactKey(subject=key, value=value)
    return None
