"""Alerts (life cycle), recall events and per-brain metadata."""

from __future__ import annotations

import pytest

from neural_memory.core import Alert, AlertSeverity, AlertStatus, AlertType, RecallEvent
from neural_memory.errors import ValidationError
from neural_memory.storage import Storage
from tests.storage.helpers import at


def alert(kind: AlertType, minute: float) -> Alert:
    return Alert.create(kind, AlertSeverity.WARNING, f"{kind} found", created_at=at(minute))


async def test_alerts_are_listed_newest_first_and_filtered(storage: Storage) -> None:
    old = alert(AlertType.HIGH_NEURON_COUNT, 1)
    mid = alert(AlertType.LOW_CONNECTIVITY, 2)
    new = alert(AlertType.HIGH_NEURON_COUNT, 3)
    await storage.add_alerts([old, mid, new])
    assert await storage.get_alerts() == [new, mid, old]
    assert await storage.get_alerts(types=["high_neuron_count"]) == [new, old]
    assert await storage.get_alerts(types=[AlertType.LOW_CONNECTIVITY]) == [mid]
    assert await storage.get_alerts(statuses=[AlertStatus.RESOLVED]) == []
    assert await storage.get_alerts(limit=2) == [new, mid]
    assert await storage.get_active_alerts(limit=1) == [new]
    await storage.add_alerts([])
    with pytest.raises(ValidationError):
        await storage.get_alerts(types="high_neuron_count")
    with pytest.raises(ValidationError):
        await storage.get_alerts(statuses=["sleeping"])
    with pytest.raises(ValidationError):
        await storage.add_alerts(["not an alert"])


async def test_alert_round_trip_keeps_every_field(storage: Storage) -> None:
    a = Alert(
        id="a-1",
        alert_type=AlertType.EXPIRED_MEMORIES,
        severity=AlertSeverity.CRITICAL,
        message="12 expired memories",
        status=AlertStatus.SEEN,
        metric_value=12.0,
        threshold=10.0,
        created_at=at(0),
        seen_at=at(1),
    )
    await storage.add_alerts([a])
    assert await storage.get_alerts() == [a]


async def test_alert_life_cycle(storage: Storage) -> None:
    first = alert(AlertType.HIGH_NEURON_COUNT, 1)
    second = alert(AlertType.HIGH_NEURON_COUNT, 2)
    third = alert(AlertType.HIGH_NEURON_COUNT, 3)
    other = alert(AlertType.STALE_FIBERS, 4)
    await storage.add_alerts([first, second, third, other])

    assert await storage.mark_alerts_seen([first.id, second.id, "a-missing"]) == 2
    assert await storage.mark_alerts_seen([first.id]) == 0
    assert await storage.mark_alerts_seen([]) == 0
    seen = {a.id: a for a in await storage.get_alerts(statuses=[AlertStatus.SEEN])}
    assert set(seen) == {first.id, second.id}
    assert seen[first.id].seen_at is not None

    assert await storage.mark_alert_acknowledged(second.id) is True
    assert await storage.mark_alert_acknowledged("a-missing") is False
    assert [a.id for a in await storage.get_active_alerts()] == [other.id, third.id, first.id]

    # Auto-resolution takes open alerts (active or seen) of the type, never acknowledged ones.
    assert await storage.resolve_alerts_by_type([AlertType.HIGH_NEURON_COUNT]) == 2
    by_id = {a.id: a for a in await storage.get_alerts()}
    assert by_id[first.id].status is AlertStatus.RESOLVED
    assert by_id[first.id].resolved_at is not None
    assert by_id[third.id].status is AlertStatus.RESOLVED
    assert by_id[second.id].status is AlertStatus.ACKNOWLEDGED
    assert by_id[other.id].status is AlertStatus.ACTIVE
    assert await storage.get_active_alerts() == [by_id[other.id]]
    assert await storage.resolve_alerts_by_type(["high_neuron_count"]) == 0
    # A resolved alert stays resolved when acknowledged late.
    assert await storage.mark_alert_acknowledged(first.id) is False
    assert (await storage.get_alerts(statuses=[AlertStatus.RESOLVED]))[-1].id == first.id


# -- recall events -------------------------------------------------------------------------


async def test_recall_events_oldest_first_since_and_limit(storage: Storage) -> None:
    events = [
        RecallEvent.create(f"query {i}", [f"f-{i}"], confidence=i / 10, created_at=at(i))
        for i in (3, 1, 4, 2)
    ]
    for event in events:
        await storage.add_recall_event(event)
    by_time = sorted(events, key=lambda e: e.created_at)
    assert await storage.get_recall_events() == by_time
    assert await storage.get_recall_events(since=at(2)) == by_time[1:]
    assert await storage.get_recall_events(limit=2) == by_time[2:]
    assert await storage.get_recall_events(since=at(1), limit=3) == by_time[1:]
    assert await storage.get_recall_events(limit=0) == []
    assert await storage.get_recall_events(since=at(99)) == []
    with pytest.raises(ValidationError):
        await storage.add_recall_event("what was decided?")


async def test_recall_event_keeps_fiber_order(storage: Storage) -> None:
    event = RecallEvent.create("q", ["f-9", "f-1", "f-5"], confidence=0.75, created_at=at(0))
    await storage.add_recall_event(event)
    assert await storage.get_recall_events() == [event]


# -- metadata ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        0,
        2.5,
        "text",
        True,
        None,
        [1, "two", None],
        {"nested": {"list": [1, 2], "flag": False}, "ünïcode": "✓"},
    ],
)
async def test_meta_round_trips_json_values(storage: Storage, value: object) -> None:
    await storage.set_meta("key", value)
    assert await storage.get_meta("key") == value


async def test_meta_overwrites_and_missing_is_none(storage: Storage) -> None:
    assert await storage.get_meta("missing") is None
    await storage.set_meta("k", {"v": 1})
    await storage.set_meta("k", {"v": 2})
    assert await storage.get_meta("k") == {"v": 2}
    with pytest.raises(ValidationError):
        await storage.set_meta("", 1)


async def test_meta_value_is_a_copy(storage: Storage) -> None:
    value = {"items": [1]}
    await storage.set_meta("k", value)
    value["items"].append(2)
    got = await storage.get_meta("k")
    got["items"].append(3)
    assert await storage.get_meta("k") == {"items": [1]}
