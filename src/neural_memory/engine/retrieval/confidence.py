"""Recall confidence: the chance that the recalled context holds what answers the query.

A logistic model of a few numbers every recall has at hand: how much of the query the top
memories cover, how strong the best memory is, how far it stands above the next ones (by far
the most telling), and (with embeddings) how close in meaning it is. Its coefficients are
fitted on a tuning slice of the LoCoMo development set and checked on a held-out slice
(``python -m benchmarks.calibrate_confidence``, which prints the constants below and the
reliability table): a confidence of 0.7 means that about 7 recalls in 10 held all the
evidence of their answer in the context (with the default budget of 10 memories). The same
constants carry over less well to LongMemEval_S dev (without embeddings ECE 0.10, no better
than the uncalibrated formula there), so treat the value as a ranking of recalls first. A
refit on the tuning slices of both sets together (``--dataset joint``) made both held-out
ECEs worse (LoCoMo 0.053 -> 0.062, LongMemEval_S 0.071 -> 0.092), so these constants stay.
Pure functions, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Protocol

__all__ = [
    "FEATURES",
    "LEXICAL_COEFFICIENTS",
    "SEMANTIC_COEFFICIENTS",
    "Scored",
    "calibrated_confidence",
    "confidence_features",
]

FEATURES = ("bias", "coverage", "log_top_score", "margin", "top_cosine")
"""The model's inputs, in the order of the coefficients."""

RUNNER_UP = 4
"""The margin compares the best score with the score this many places below it."""

LEXICAL_COEFFICIENTS = (0.1705, -0.1089, -0.81, 6.0334, 0.0)
"""Coefficients of :data:`FEATURES` for recall without embeddings (fitted on 755 questions;
on 590 held-out ones: Brier 0.203, ECE 0.052, where the uncalibrated formula had 0.263 and
0.195)."""
SEMANTIC_COEFFICIENTS = (-1.8775, 0.7996, -0.1097, 6.1246, 1.5765)
"""Coefficients of :data:`FEATURES` for recall with embeddings (held out: Brier 0.167, ECE
0.053; uncalibrated 0.218 and 0.129)."""


class Scored(Protocol):
    """What the features read of a recalled memory (a ``ScoredFiber``)."""

    @property
    def score(self) -> float:
        """The fused score."""
        ...

    @property
    def semantic(self) -> float:
        """Cosine similarity to the query (0 without embeddings)."""
        ...


def confidence_features(recalled: Sequence[Scored], coverage: float) -> tuple[float, ...]:
    """The values of :data:`FEATURES` for one recall (memories best first; not empty).

    ``coverage`` is the idf-weighted share of the query's terms the top memories hold.
    """
    top = max(recalled[0].score, 0.0)
    below = recalled[min(RUNNER_UP, len(recalled) - 1)].score if len(recalled) > 1 else 0.0
    margin = 1.0 - below / top if top > 0 else 0.0
    return (1.0, coverage, math.log1p(top), margin, recalled[0].semantic)


def calibrated_confidence(recalled: Sequence[Scored], coverage: float, *, semantic: bool) -> float:
    """0-1: the probability that the recalled context holds the answer's evidence.

    ``semantic``: the recall used embeddings (its coefficients differ). Nothing recalled,
    or nothing scoring above 0, is 0.
    """
    if not recalled or recalled[0].score <= 0:
        return 0.0
    weights = SEMANTIC_COEFFICIENTS if semantic else LEXICAL_COEFFICIENTS
    logit = sum(
        w * x for w, x in zip(weights, confidence_features(recalled, coverage), strict=True)
    )
    return round(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit)))), 4)
