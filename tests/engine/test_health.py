"""Health pulse: pure evaluation of statistics, and the alert life cycle it drives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neural_memory.core import (
    AlertSeverity,
    AlertStatus,
    AlertType,
    Brain,
    BrainStats,
    Fiber,
    MemoryType,
    Neuron,
    NeuronType,
    Synapse,
    SynapseType,
    TypedMemory,
)
from neural_memory.engine.health import HealthThresholds, evaluate_health, run_health_pulse
from neural_memory.errors import ConfigError
from neural_memory.storage import InMemoryStorage
from tests.seed_exec import run_seed_sample

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
DEFAULT = HealthThresholds()


@pytest.fixture
async def storage() -> InMemoryStorage:
    store = InMemoryStorage()
    brain = Brain.create("health")
    await store.save_brain(brain)
    store.set_brain(brain.id)
    return store


async def add_memories(storage: InMemoryStorage, count: int, *, at: datetime = NOW) -> list[Fiber]:
    """``count`` memories of two linked neurons each."""
    fibers = []
    for i in range(count):
        a = Neuron.create(NeuronType.ENTITY, f"thing {i}", created_at=at)
        b = Neuron.create(NeuronType.CONCEPT, f"idea {i}", created_at=at)
        await storage.add_neurons([a, b])
        synapse = Synapse.create(a.id, b.id, SynapseType.RELATED_TO, created_at=at)
        await storage.add_synapse(synapse)
        fiber = Fiber.create([a.id, b.id], [synapse.id], content=f"memory {i}", created_at=at)
        await storage.add_fiber(fiber)
        fibers.append(fiber)
    return fibers


# -- the seed sample -----------------------------------------------------------------------

SEED_SAMPLE = """
from neural_memory.core.alert import Alert, AlertType, AlertStatus

# Alerts are created automatically by the health pulse system
# Manage them via storage methods:

# List active alerts
alerts = await storage.get_active_alerts(limit=50)
for alert in alerts:
    print(f"[{alert.severity}] {alert.alert_type}: {alert.message}")

# Mark as seen
await storage.mark_alerts_seen([alert.id for alert in alerts])

# Acknowledge (prevents auto-resolution)
await storage.mark_alert_acknowledged(alert_id)

# Auto-resolve by type
await storage.resolve_alerts_by_type(["high_neuron_count"])
"""


async def test_seed_sample_manages_alerts_raised_by_the_pulse(
    storage: InMemoryStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    await add_memories(storage, 3)
    report = await run_health_pulse(storage, HealthThresholds(max_neurons=4, max_fibers=2), now=NOW)
    by_type = {alert.alert_type: alert for alert in report.raised}
    assert set(by_type) == {AlertType.HIGH_NEURON_COUNT, AlertType.HIGH_FIBER_COUNT}
    alert_id = by_type[AlertType.HIGH_FIBER_COUNT].id

    await run_seed_sample(SEED_SAMPLE, {"storage": storage, "alert_id": alert_id})

    out = capsys.readouterr().out
    assert "[warning] high_neuron_count: The brain holds 6 neurons" in out
    assert "[warning] high_fiber_count:" in out
    statuses = {a.alert_type: a.status for a in await storage.get_alerts()}
    assert statuses == {
        AlertType.HIGH_NEURON_COUNT: AlertStatus.RESOLVED,
        AlertType.HIGH_FIBER_COUNT: AlertStatus.ACKNOWLEDGED,
    }
    assert await storage.get_active_alerts() == []


# -- evaluate_health (pure) ----------------------------------------------------------------


def test_a_healthy_brain_has_no_findings() -> None:
    stats = BrainStats(
        neuron_count=500,
        synapse_count=900,
        fiber_count=100,
        orphan_neuron_count=20,
        oldest_unused_fiber_at=NOW - timedelta(days=10),
    )
    assert evaluate_health(stats, DEFAULT, NOW) == []
    assert evaluate_health(BrainStats(), DEFAULT, NOW) == []


@pytest.mark.parametrize(
    ("stats", "alert_type", "severity"),
    [
        (BrainStats(neuron_count=100_001, synapse_count=100_001), AlertType.HIGH_NEURON_COUNT,
         AlertSeverity.WARNING),
        (BrainStats(neuron_count=200_000, synapse_count=150_000), AlertType.HIGH_NEURON_COUNT,
         AlertSeverity.CRITICAL),
        (BrainStats(fiber_count=20_001), AlertType.HIGH_FIBER_COUNT, AlertSeverity.WARNING),
        (BrainStats(neuron_count=1000, synapse_count=500_001), AlertType.HIGH_SYNAPSE_COUNT,
         AlertSeverity.WARNING),
        (BrainStats(neuron_count=1000, synapse_count=499), AlertType.LOW_CONNECTIVITY,
         AlertSeverity.WARNING),
        (BrainStats(neuron_count=1000, synapse_count=900, orphan_neuron_count=401),
         AlertType.HIGH_ORPHAN_RATIO, AlertSeverity.WARNING),
        (BrainStats(expired_memory_count=11), AlertType.EXPIRED_MEMORIES, AlertSeverity.INFO),
        (BrainStats(oldest_unused_fiber_at=NOW - timedelta(days=91)), AlertType.STALE_FIBERS,
         AlertSeverity.INFO),
    ],
)  # fmt: skip
def test_each_threshold_raises_its_alert_type(
    stats: BrainStats, alert_type: AlertType, severity: AlertSeverity
) -> None:
    findings = evaluate_health(stats, DEFAULT, NOW)
    assert [(f.alert_type, f.severity) for f in findings] == [(alert_type, severity)]
    assert findings[0].message


def test_ratio_checks_wait_for_a_grown_brain() -> None:
    young = BrainStats(neuron_count=50, synapse_count=0, orphan_neuron_count=50)
    assert evaluate_health(young, DEFAULT, NOW) == []
    strict = HealthThresholds(min_neurons_for_ratios=10)
    types = [f.alert_type for f in evaluate_health(young, strict, NOW)]
    assert types == [AlertType.LOW_CONNECTIVITY, AlertType.HIGH_ORPHAN_RATIO]


def test_stale_metric_is_the_idle_time_in_days() -> None:
    stats = BrainStats(oldest_unused_fiber_at=NOW - timedelta(days=120))
    (finding,) = evaluate_health(stats, HealthThresholds(stale_fiber_days=30), NOW)
    assert finding.metric_value == pytest.approx(120) and finding.threshold == 30
    assert evaluate_health(stats, DEFAULT, NOW - timedelta(days=40)) == []


def test_thresholds_are_validated_and_keyword_only() -> None:
    with pytest.raises(ConfigError):
        HealthThresholds(max_neurons=-1)
    with pytest.raises(ConfigError):
        HealthThresholds(max_orphan_ratio=1.5)
    with pytest.raises(ConfigError):
        HealthThresholds(stale_fiber_days="soon")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        HealthThresholds(10)  # type: ignore[misc]


# -- run_health_pulse ----------------------------------------------------------------------


async def test_pulse_does_not_duplicate_open_or_acknowledged_alerts(
    storage: InMemoryStorage,
) -> None:
    await add_memories(storage, 3)
    tight = HealthThresholds(max_neurons=4, max_fibers=2, max_synapses=1)
    first = await run_health_pulse(storage, tight, now=NOW)
    assert len(first.raised) == 3 and not first.healthy
    fiber_alert = next(a for a in first.raised if a.alert_type is AlertType.HIGH_FIBER_COUNT)
    neuron_alert = next(a for a in first.raised if a.alert_type is AlertType.HIGH_NEURON_COUNT)
    await storage.mark_alert_acknowledged(fiber_alert.id)
    await storage.mark_alerts_seen([neuron_alert.id])

    second = await run_health_pulse(storage, tight, now=NOW)
    assert second.raised == () and second.resolved_count == 0
    assert len(second.findings) == 3
    assert len(await storage.get_alerts()) == 3


async def test_pulse_resolves_cleared_alerts_but_not_acknowledged_ones(
    storage: InMemoryStorage,
) -> None:
    await add_memories(storage, 3)
    tight = HealthThresholds(max_neurons=4, max_fibers=2, max_synapses=1)
    first = await run_health_pulse(storage, tight, now=NOW)
    fiber_alert = next(a for a in first.raised if a.alert_type is AlertType.HIGH_FIBER_COUNT)
    await storage.mark_alert_acknowledged(fiber_alert.id)

    relaxed = HealthThresholds(max_neurons=100, max_fibers=100, max_synapses=100)
    report = await run_health_pulse(storage, relaxed, now=NOW)
    assert report.healthy and report.resolved_count == 2
    statuses = {a.alert_type: a.status for a in await storage.get_alerts()}
    assert statuses == {
        AlertType.HIGH_NEURON_COUNT: AlertStatus.RESOLVED,
        AlertType.HIGH_SYNAPSE_COUNT: AlertStatus.RESOLVED,
        AlertType.HIGH_FIBER_COUNT: AlertStatus.ACKNOWLEDGED,
    }

    again = await run_health_pulse(storage, tight, now=NOW)  # the problem comes back
    assert {a.alert_type for a in again.raised} == {
        AlertType.HIGH_NEURON_COUNT,
        AlertType.HIGH_SYNAPSE_COUNT,
    }


async def test_pulse_reports_expired_memories_and_stale_fibers(storage: InMemoryStorage) -> None:
    long_ago = NOW - timedelta(days=200)
    fibers = await add_memories(storage, 2, at=long_ago)
    for fiber in fibers:
        await storage.add_typed_memory(
            TypedMemory.create(fiber.id, MemoryType.TODO, expires_in_days=1, created_at=long_ago)
        )
    thresholds = HealthThresholds(max_expired_memories=1)
    report = await run_health_pulse(storage, thresholds, now=NOW)
    raised = {a.alert_type: a for a in report.raised}
    assert set(raised) == {AlertType.EXPIRED_MEMORIES, AlertType.STALE_FIBERS}
    assert raised[AlertType.EXPIRED_MEMORIES].metric_value == 2
    assert raised[AlertType.STALE_FIBERS].metric_value == pytest.approx(200)
    assert raised[AlertType.STALE_FIBERS].created_at == NOW

    recalled = fibers[0].conduct(conducted_at=NOW)
    await storage.update_fiber(recalled)  # one memory used again: the other is still stale
    still = await run_health_pulse(storage, thresholds, now=NOW)
    assert AlertType.STALE_FIBERS in {f.alert_type for f in still.findings}
