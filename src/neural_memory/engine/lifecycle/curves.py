"""Forgetting and strengthening curves (pure maths, no I/O)."""

from __future__ import annotations

import math

__all__ = ["decay_factor", "fiber_stability_days", "retention"]


def retention(elapsed_days: float, stability_days: float) -> float:
    """Ebbinghaus retention ``R = e^(-t/S)`` after ``elapsed_days`` with stability ``S``."""
    if elapsed_days <= 0:
        return 1.0
    return math.exp(-elapsed_days / max(stability_days, 1e-9))


def decay_factor(decay_rate: float, elapsed_days: float) -> float:
    """The multiplier that ``elapsed_days`` of disuse applies at ``decay_rate`` per day.

    Composable: two runs over ``a`` and ``b`` days multiply to one run over ``a + b``.
    """
    return retention(elapsed_days, 1.0 / decay_rate) if decay_rate > 0 else 1.0


def fiber_stability_days(decay_rate: float, access_count: int, salience: float) -> float:
    """How slowly a memory fades: recall (LTP) and salience both make it more stable.

    Each recall multiplies stability by ``1 + ln(1 + access_count)``-style growth, so spaced
    recalls keep a memory alive far longer than one never recalled.
    """
    base = 1.0 / decay_rate if decay_rate > 0 else math.inf
    return base * (1.0 + math.log1p(access_count) * 2.0) * (0.5 + salience)
