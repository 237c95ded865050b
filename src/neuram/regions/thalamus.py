"""Thalamus: the bouncer that keeps low-relevance input out of working memory."""

from __future__ import annotations

from neural_memory.engine.text import stem, terms
from neural_memory.errors import ValidationError

__all__ = ["REPETITION_BONUS", "Thalamus"]

REPETITION_BONUS = 0.1
"""Relevance an input gains for each copy of it still alive in the sensory buffer."""
_FULLY_INFORMATIVE_TERMS = 3
_FILLERS = frozenset(
    stem(word)
    for word in """hmm hm hmmm um umm uh uhh er erm ah ahh aha mhm mm lol lmao haha hahaha hehe
    yup yep nope nah kk ty thx np brb cool nice sure alright right fine gotcha""".split()
)


def informativeness(content: str) -> float:
    """0-1: how much an input says (distinct content words, fillers aside; 3 or more: 1)."""
    words = set(terms(content)) - _FILLERS
    return min(1.0, len(words) / _FULLY_INFORMATIVE_TERMS)


class Thalamus:
    """Gates input on its way to working memory.

    Relevance is ``salience x (0.5 + 0.5 x informativeness)`` plus ``0.1`` for each recent
    repetition still in the sensory buffer; input saying nothing at all (no content word:
    "ok", "hmm", "thanks", "lol") never passes. Input passes when its relevance reaches
    ``threshold``.

    Args:
        threshold: Relevance needed to pass (0-1, default 0.2).
    """

    def __init__(self, threshold: float = 0.2) -> None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise ValidationError("threshold must be a number")
        if not 0.0 <= threshold <= 1.0:
            raise ValidationError(f"threshold must be between 0 and 1, got {threshold}")
        self.threshold = float(threshold)

    def relevance(self, content: str, salience: float, *, repetitions: int = 0) -> float:
        """The relevance of an input of ``salience`` seen ``repetitions`` times before."""
        info = informativeness(content)
        if info == 0.0:
            return 0.0
        return salience * (0.5 + 0.5 * info) + REPETITION_BONUS * max(0, repetitions)

    def admit(self, content: str, salience: float, *, repetitions: int = 0) -> bool:
        """Whether the input reaches working memory."""
        return self.relevance(content, salience, repetitions=repetitions) >= self.threshold
