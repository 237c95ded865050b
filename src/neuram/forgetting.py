"""The maths of remembering and forgetting (pure functions, no I/O).

- Forgetting curve (Ebbinghaus): ``R(t) = e^(-t / S)``, ``t`` in hours since last access,
  ``S`` the engram's stability in hours.
- Long-term potentiation: every recall adds
  ``0.3 x salience_boost x log(1 + access_count)`` hours of stability, where
  ``salience_boost = 1 + salience`` (the norepinephrine effect: salient memories grow faster).
- An engram whose retention fell below 5% is forgotten by the next sleep.
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime

from neural_memory.errors import ValidationError
from neuram.engram import Engram

__all__ = [
    "BASE_STABILITY_HOURS",
    "FORGET_THRESHOLD",
    "LTP_RATE",
    "Moment",
    "compute_retention",
    "current_strength",
    "hours_between",
    "initial_stability",
    "initial_strength",
    "potentiate",
    "retention",
    "salience_boost",
    "seconds",
    "time_until_forgotten",
]

FORGET_THRESHOLD = 0.05
"""Retention below which sleep deletes an engram."""
LTP_RATE = 0.3
"""Stability (hours) a recall adds, before the salience boost and the access-count log."""
BASE_STABILITY_HOURS = 1.0
"""Stability of a fresh engram of salience 0, in hours."""
_STRENGTH_GAIN = 0.2

Moment = float | datetime
"""A point in time: POSIX seconds, or a datetime (naive means UTC)."""


def seconds(moment: Moment | None) -> float:
    """``moment`` as POSIX seconds (None: now)."""
    if moment is None:
        return time.time()
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    return float(moment)


def hours_between(start: float, end: float) -> float:
    """Hours from ``start`` to ``end`` (POSIX seconds), never negative."""
    return max(0.0, (end - start) / 3600.0)


def retention(elapsed_hours: float, stability_hours: float) -> float:
    """``R(t) = e^(-t/S)``: the share of a memory left after ``elapsed_hours``."""
    if elapsed_hours <= 0.0:
        return 1.0
    if stability_hours <= 0.0:
        return 0.0
    return math.exp(-elapsed_hours / stability_hours)


def salience_boost(salience: float) -> float:
    """How much salience speeds up stability growth: ``1 + salience`` (1 to 2)."""
    return 1.0 + salience


def initial_stability(salience: float) -> float:
    """Stability (hours) at encoding: the Amygdala's boost applied to the base stability."""
    return BASE_STABILITY_HOURS * salience_boost(salience)


def initial_strength(salience: float) -> float:
    """Synaptic strength at encoding: salient memories start more vivid (0.5 to 1)."""
    return 0.5 + 0.5 * salience


def compute_retention(engram: Engram, now: Moment | None = None) -> float:
    """The engram's retention ``R(t) = e^(-t/S)`` at ``now`` (default: the current time)."""
    elapsed = hours_between(engram.last_access, seconds(now))
    return retention(elapsed, engram.stability)


def time_until_forgotten(
    engram: Engram, threshold: float = FORGET_THRESHOLD, now: Moment | None = None
) -> float:
    """Hours left before the engram's retention drops below ``threshold`` (0 if it has)."""
    if not 0.0 < threshold < 1.0:
        raise ValidationError(f"threshold must be between 0 and 1, got {threshold}")
    lifetime = engram.stability * math.log(1.0 / threshold)
    return max(0.0, lifetime - hours_between(engram.last_access, seconds(now)))


def current_strength(engram: Engram, now: Moment | None = None) -> float:
    """How vivid the memory is at ``now``: its synaptic strength times its retention."""
    return engram.synaptic_strength * compute_retention(engram, now)


def potentiate(engram: Engram, now: float) -> None:
    """Long-term potentiation of one recall at ``now`` (changes ``engram`` in place).

    The access count grows by one, stability by ``0.3 x (1 + salience) x log(1 + count)``
    hours, the synaptic strength is restored towards 1, and ``t`` restarts from ``now``.
    """
    vivid = current_strength(engram, now)
    engram.access_count += 1
    engram.stability += LTP_RATE * salience_boost(engram.salience) * math.log1p(engram.access_count)
    engram.synaptic_strength = min(1.0, vivid + _STRENGTH_GAIN * salience_boost(engram.salience))
    engram.last_access = max(engram.last_access, now)
