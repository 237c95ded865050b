"""The pure logic behind the dashboard: digests, growth buckets, retention curves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from neural_memory.core.events import RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.engine.lifecycle.curves import fiber_stability_days
from neural_memory.server.dashboard_data import FADED_BELOW, FiberDigests, growth, retention_curve

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _fiber(number: int, *, days: float = 0, **changes: object) -> Fiber:
    moment = T0 + timedelta(days=days)
    fiber = Fiber.create(
        {f"n{number}"}, content=f"memory {number}", occurred_at=moment, created_at=moment
    )
    return fiber if not changes else Fiber(**{**_fields(fiber), **changes})  # type: ignore[arg-type]


def _fields(fiber: Fiber) -> dict[str, object]:
    return {name: getattr(fiber, name) for name in Fiber.__dataclass_fields__}


def test_digests_page_by_date_and_follow_changes() -> None:
    fibers = [_fiber(i, days=i) for i in range(10)]
    digests = FiberDigests.build(reversed(fibers), change_seq=3)
    first = digests.page_before(None, 4)
    assert [d.id for d in first] == [f.id for f in reversed(fibers[6:])]
    second = digests.page_before((first[-1].occurred, first[-1].id), 4)
    assert [d.id for d in second] == [f.id for f in reversed(fibers[2:6])]
    moved = _fiber(3, days=20, id=fibers[3].id, superseded_by="f-newer", conductivity=0.01)
    digests.apply({fibers[0].id: None, moved.id: moved}, change_seq=9)
    assert digests.change_seq == 9 and len(digests) == 9
    assert digests.page_before(None, 1)[0].id == moved.id
    counts = digests.counts()
    assert counts["status"] == {"current": 8, "superseded": 1, "faded": 1}
    assert counts["stages"] == {"episodic": 9}


def test_growth_picks_days_weeks_or_months() -> None:
    first = int(T0.timestamp() // 86_400)
    period, buckets = growth({first: 2, first + 2: 1})
    assert period == "day"
    assert [(b.start, b.added, b.total) for b in buckets] == [
        (T0, 2, 2),
        (T0 + timedelta(days=2), 1, 3),
    ]
    assert growth({first: 1, first + 100: 1})[0] == "week"
    period, buckets = growth({first + 10 * i: 1 for i in range(60)})
    assert period == "month"
    assert buckets[-1].total == 60
    assert all(b.start.day == 1 for b in buckets)
    assert growth({}) == ("day", [])


def test_digests_count_per_day_and_follow_deletions() -> None:
    fibers = [_fiber(i, days=i // 2) for i in range(6)]
    digests = FiberDigests.build(fibers, change_seq=1)
    first = int(T0.timestamp() // 86_400)
    assert digests.stored_per_day() == {first: 2, first + 1: 2, first + 2: 2}
    digests.apply({fibers[0].id: None, fibers[1].id: None}, change_seq=2)
    assert digests.stored_per_day() == {first + 1: 2, first + 2: 2}
    assert digests.counts()["stages"] == {"episodic": 4}


def test_retention_curve_fades_and_recalls_reinforce() -> None:
    fiber = _fiber(1, conductivity=0.8, access_count=2, salience=0.5)
    events = [
        RecallEvent.create("q1", [fiber.id], created_at=T0 + timedelta(days=3)),
        RecallEvent.create("q2", ["f-other"], created_at=T0 + timedelta(days=4)),
        RecallEvent.create("q3", [fiber.id], created_at=T0 + timedelta(days=10)),
    ]
    now = T0 + timedelta(days=20)
    curve = retention_curve(fiber, events, decay_rate=0.1, now=now, horizon_days=200, steps=20)
    assert [r.query for r in curve.reinforcements] == ["q1", "q3"]
    assert curve.history[0].strength == 1.0 and curve.history[-1].at == now
    assert curve.forecast[0].strength == 0.8
    strengths = [p.strength for p in curve.forecast]
    assert strengths == sorted(strengths, reverse=True)
    assert curve.stability_days == fiber_stability_days(0.1, 2, 0.5)
    assert curve.days_until_faded is not None
    faded_at = now + timedelta(days=curve.days_until_faded)
    assert next(p for p in curve.forecast if p.at == faded_at).strength < FADED_BELOW


def test_a_recall_lifts_the_modelled_strength() -> None:
    fiber = _fiber(1)
    recall = T0 + timedelta(days=5)
    events = [RecallEvent.create("q", [fiber.id], created_at=recall)]
    curve = retention_curve(fiber, events, decay_rate=0.1, now=T0 + timedelta(days=6))
    at_recall = [p.strength for p in curve.history if p.at == recall]
    assert len(at_recall) == 2 and at_recall[1] > at_recall[0]


def test_pages_never_split_memories_of_the_same_moment() -> None:
    digests = FiberDigests.build([_fiber(i) for i in range(5)], change_seq=1)
    seen: list[str] = []
    cursor = None
    while page := digests.page_before(cursor, 2):
        seen += [d.id for d in page]
        cursor = (page[-1].occurred, page[-1].id)
    assert sorted(seen) == sorted(d.id for d in digests.page_before(None, 10))
    assert len(seen) == 5
