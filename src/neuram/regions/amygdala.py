"""Amygdala: tags each input's emotional weight and boosts salient memories at encoding."""

from __future__ import annotations

import re

from neural_memory.errors import ValidationError
from neuram.engram import Engram, MemoryType
from neuram.forgetting import initial_stability, initial_strength, salience_boost

__all__ = ["BASELINE_SALIENCE", "Amygdala"]

BASELINE_SALIENCE = 0.5
"""Salience of an input with no emotional cue."""
_CUE_WEIGHT = 0.1
_MAX_CUE_GAIN = 0.4
_REWARD_WEIGHT = 0.2
_CUES = re.compile(
    r"\b(?:important|urgent|critical|crucial|never|always|must|remember|love|loved|hate|"
    r"hated|great|amazing|awesome|wonderful|terrible|awful|horrible|scared|afraid|angry|"
    r"furious|excited|thrilled|happy|sad|worried|anxious|danger|dangerous|emergency|"
    r"deadline|password|secret|allergic|allergy|warning|fail(?:ed|ure)?|broke|broken)\b",
    re.IGNORECASE,
)


class Amygdala:
    """Appraises salience and gives salient memories a stability boost at encoding.

    An input without an explicit salience starts at 0.5; each emotional or importance cue
    ("important", "never", "love", "terrible", ...) and an exclamation mark add 0.1 (at most
    0.4), and a reward signal adds ``0.2 x |reward|``. The boost at encoding multiplies the
    base stability by ``1 + salience``.
    """

    def appraise(
        self, content: str, salience: float | None = None, reward: float | None = None
    ) -> float:
        """The salience of an input: ``salience`` when given, else appraised from its text."""
        if salience is not None:
            return _unit(salience, "salience")
        cues = len(_CUES.findall(content)) + (1 if "!" in content else 0)
        gain = min(_MAX_CUE_GAIN, _CUE_WEIGHT * cues)
        if reward is not None:
            gain += _REWARD_WEIGHT * abs(reward)
        return min(1.0, BASELINE_SALIENCE + gain)

    def stability_boost(self, salience: float) -> float:
        """How much salience multiplies stability at encoding (1 to 2)."""
        return salience_boost(_unit(salience, "salience"))

    def encode(
        self, content: str, memory_type: MemoryType, salience: float, *, now: float
    ) -> Engram:
        """A fresh engram of ``content``, its stability and strength set by ``salience``."""
        return Engram(
            content=content,
            memory_type=memory_type,
            salience=salience,
            synaptic_strength=initial_strength(salience),
            stability=initial_stability(salience),
            created_at=now,
            last_access=now,
        )


def _unit(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(f"{name} must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValidationError(f"{name} must be between 0 and 1, got {value}")
    return float(value)
