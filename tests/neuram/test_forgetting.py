"""The documented maths: R(t) = e^(-t/S), LTP growth, the 5% threshold."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from neural_memory.errors import ValidationError
from neuram import Engram, compute_retention, time_until_forgotten
from neuram.forgetting import FORGET_THRESHOLD, potentiate, retention

T0 = 1_767_225_600.0


def test_retention_follows_the_forgetting_curve_in_hours() -> None:
    engram = Engram("x y z", stability=2.0, created_at=T0)
    assert compute_retention(engram, T0) == 1.0
    assert compute_retention(engram, T0 + 2 * 3600) == pytest.approx(math.exp(-1))
    assert compute_retention(engram, T0 + 6 * 3600) == pytest.approx(math.exp(-3))
    # a datetime works as well as POSIX seconds
    moment = datetime.fromtimestamp(T0 + 2 * 3600, UTC)
    assert compute_retention(engram, moment) == pytest.approx(math.exp(-1))
    assert retention(-1.0, 2.0) == 1.0


def test_time_until_forgotten_is_where_retention_crosses_the_threshold() -> None:
    engram = Engram("x y z", stability=3.0, created_at=T0)
    left = time_until_forgotten(engram, now=T0 + 3600)
    assert left == pytest.approx(3.0 * math.log(1 / FORGET_THRESHOLD) - 1.0)
    assert compute_retention(engram, T0 + 3600 + left * 3600) == pytest.approx(FORGET_THRESHOLD)
    assert time_until_forgotten(engram, now=T0 + 100 * 3600) == 0.0
    assert time_until_forgotten(engram, threshold=0.5, now=T0) == pytest.approx(3.0 * math.log(2))
    with pytest.raises(ValidationError):
        time_until_forgotten(engram, threshold=1.5)


def test_each_recall_adds_ltp_stability() -> None:
    engram = Engram("x y z", salience=0.8, stability=2.0, created_at=T0)
    expected = 2.0
    for count in range(1, 7):
        potentiate(engram, T0 + count * 3600)
        expected += 0.3 * (1 + 0.8) * math.log(1 + count)
        assert engram.access_count == count
        assert engram.stability == pytest.approx(expected)
        assert engram.last_access == T0 + count * 3600


def test_salient_memories_grow_faster() -> None:
    calm = Engram("x y z", salience=0.1, stability=1.0, created_at=T0)
    vivid = Engram("x y z", salience=0.9, stability=1.0, created_at=T0)
    potentiate(calm, T0)
    potentiate(vivid, T0)
    assert vivid.stability - 1.0 == pytest.approx((calm.stability - 1.0) * 1.9 / 1.1)


def test_engram_validates_its_fields() -> None:
    with pytest.raises(ValidationError):
        Engram("   ")
    with pytest.raises(ValidationError):
        Engram("x", salience=1.5)
    with pytest.raises(ValidationError):
        Engram("x", memory_type="dream")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Engram("x", associations=[("other",)])  # type: ignore[list-item]
    engram = Engram("Paris is the capital of France", embedding=[3.0, 4.0])
    assert engram.engram_id == Engram("paris is the capital of France!").engram_id
    assert engram.vector is not None and engram.vector.tolist() == [3.0, 4.0]
