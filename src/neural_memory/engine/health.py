"""The health pulse: check a brain's statistics against thresholds and manage its alerts.

:func:`evaluate_health` is pure (statistics in, findings out); :func:`run_health_pulse`
reads the statistics from storage, raises an alert for each new finding and resolves the
open alerts whose condition has cleared. Acknowledged alerts are left alone: they are not
raised again while they exist and are not resolved automatically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from neural_memory.core.alert import Alert, AlertSeverity, AlertStatus, AlertType
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.events import BrainStats
from neural_memory.engine._repair import BrainDamage, RepairReport, repair_brain, scan_brain
from neural_memory.errors import ConfigError
from neural_memory.storage.base import Storage

__all__ = [
    "DEFAULT_THRESHOLDS",
    "AlertFinding",
    "BrainDamage",
    "HealthReport",
    "HealthThresholds",
    "RepairReport",
    "evaluate_health",
    "repair_brain",
    "run_health_pulse",
    "scan_brain",
]

_SECONDS_PER_DAY = 86_400.0
_CRITICAL_FACTOR = 2.0


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthThresholds:
    """When the health pulse raises each alert type.

    Attributes:
        max_neurons: ``high_neuron_count`` above this many neurons.
        max_fibers: ``high_fiber_count`` above this many fibers (memories).
        max_synapses: ``high_synapse_count`` above this many synapses.
        min_synapses_per_neuron: ``low_connectivity`` below this average of synapses per
            neuron (a sparse graph spreads activation poorly).
        max_orphan_ratio: ``high_orphan_ratio`` above this share (0-1) of neurons without
            any synapse.
        min_neurons_for_ratios: The two ratio checks above wait until the brain has this
            many neurons (a young brain is naturally sparse).
        max_expired_memories: ``expired_memories`` above this many expired typed memories
            still stored.
        stale_fiber_days: ``stale_fibers`` when some memory has not been used (recalled, or
            stored) for more than this many days.

    The count alerts are WARNING, and CRITICAL at twice the threshold; the ratio alerts are
    WARNING; expired memories and stale fibers are INFO.
    """

    max_neurons: int = 100_000
    max_fibers: int = 20_000
    max_synapses: int = 500_000
    min_synapses_per_neuron: float = 0.5
    max_orphan_ratio: float = 0.4
    min_neurons_for_ratios: int = 100
    max_expired_memories: int = 10
    stale_fiber_days: float = 90.0

    def __post_init__(self) -> None:
        for name in (
            "max_neurons",
            "max_fibers",
            "max_synapses",
            "min_neurons_for_ratios",
            "max_expired_memories",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("min_synapses_per_neuron", "stale_fiber_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
        ratio = self.max_orphan_ratio
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 <= ratio <= 1:
            raise ConfigError(f"max_orphan_ratio must be between 0 and 1, got {ratio!r}")


DEFAULT_THRESHOLDS = HealthThresholds()
"""The documented default thresholds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertFinding:
    """One problem the health check found (an alert not yet stored)."""

    alert_type: AlertType
    severity: AlertSeverity
    message: str
    metric_value: float
    threshold: float


@dataclass(frozen=True, slots=True, kw_only=True)
class HealthReport:
    """The outcome of one health pulse.

    Attributes:
        checked_at: When the pulse ran.
        stats: The statistics it judged.
        findings: Every problem found (including ones already alerted).
        raised: The alerts it created.
        resolved_count: Open alerts it resolved because their condition cleared.
    """

    checked_at: datetime
    stats: BrainStats
    findings: tuple[AlertFinding, ...] = ()
    raised: tuple[Alert, ...] = field(default=())
    resolved_count: int = 0

    @property
    def healthy(self) -> bool:
        """True when nothing was found."""
        return not self.findings


def evaluate_health(
    stats: BrainStats, thresholds: HealthThresholds, now: datetime
) -> list[AlertFinding]:
    """Every threshold ``stats`` crosses, in AlertType order (pure)."""
    findings = [
        _count_finding(
            AlertType.HIGH_NEURON_COUNT, "neurons", stats.neuron_count, thresholds.max_neurons
        ),
        _count_finding(
            AlertType.HIGH_FIBER_COUNT,
            "memories (fibers)",
            stats.fiber_count,
            thresholds.max_fibers,
        ),
        _count_finding(
            AlertType.HIGH_SYNAPSE_COUNT, "synapses", stats.synapse_count, thresholds.max_synapses
        ),
        *_ratio_findings(stats, thresholds),
        _expired_finding(stats, thresholds),
        _stale_finding(stats, thresholds, as_utc(now)),
    ]
    return [finding for finding in findings if finding is not None]


async def run_health_pulse(
    storage: Storage,
    thresholds: HealthThresholds = DEFAULT_THRESHOLDS,
    *,
    now: datetime | None = None,
    scan_integrity: bool = False,
) -> HealthReport:
    """Check the current brain, raise alerts for new findings, resolve cleared ones.

    A finding whose type already has an active, seen or acknowledged alert raises nothing.
    Open (active or seen) alerts of types no longer found are resolved; acknowledged ones
    stay as they are. With ``scan_integrity`` the pulse also reads the whole brain for
    damage left by earlier versions (:func:`scan_brain`: dangling references, NaN or other
    non-JSON metadata and meta values) and raises ``damaged_records``; :func:`repair_brain`
    mends it. ``brain_repaired`` alerts are never resolved by the pulse.
    """
    if not isinstance(thresholds, HealthThresholds):
        raise ConfigError(f"thresholds must be HealthThresholds, got {type(thresholds).__name__}")
    moment = as_utc(now) if now is not None else utcnow()
    stats = await storage.get_stats(now=moment)
    findings = evaluate_health(stats, thresholds, moment)
    if scan_integrity:
        findings.extend(_damage_findings(await scan_brain(storage)))
    existing = await storage.get_alerts(
        statuses=(AlertStatus.ACTIVE, AlertStatus.SEEN, AlertStatus.ACKNOWLEDGED)
    )
    covered = {alert.alert_type for alert in existing}
    raised = tuple(
        Alert.create(
            finding.alert_type,
            finding.severity,
            finding.message,
            metric_value=finding.metric_value,
            threshold=finding.threshold,
            created_at=moment,
        )
        for finding in findings
        if finding.alert_type not in covered
    )
    await storage.add_alerts(raised)
    found = {finding.alert_type for finding in findings}
    kept = {AlertType.BRAIN_REPAIRED} | (set() if scan_integrity else {AlertType.DAMAGED_RECORDS})
    cleared = {alert.alert_type for alert in existing if alert.is_open} - found - kept
    resolved = await storage.resolve_alerts_by_type(sorted(cleared)) if cleared else 0
    return HealthReport(
        checked_at=moment,
        stats=stats,
        findings=tuple(findings),
        raised=raised,
        resolved_count=resolved,
    )


def _count_finding(alert_type: AlertType, what: str, count: int, limit: int) -> AlertFinding | None:
    if count <= limit:
        return None
    critical = count >= _CRITICAL_FACTOR * limit
    return AlertFinding(
        alert_type=alert_type,
        severity=AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING,
        message=f"The brain holds {count:,} {what}, above the limit of {limit:,}; "
        "consider consolidation or pruning.",
        metric_value=float(count),
        threshold=float(limit),
    )


def _ratio_findings(stats: BrainStats, thresholds: HealthThresholds) -> list[AlertFinding]:
    if stats.neuron_count < max(1, thresholds.min_neurons_for_ratios):
        return []
    findings: list[AlertFinding] = []
    if stats.synapses_per_neuron < thresholds.min_synapses_per_neuron:
        findings.append(
            AlertFinding(
                alert_type=AlertType.LOW_CONNECTIVITY,
                severity=AlertSeverity.WARNING,
                message=f"Only {stats.synapses_per_neuron:.2f} synapses per neuron (minimum "
                f"{thresholds.min_synapses_per_neuron:.2f}); recall has few paths to follow.",
                metric_value=stats.synapses_per_neuron,
                threshold=thresholds.min_synapses_per_neuron,
            )
        )
    if stats.orphan_ratio > thresholds.max_orphan_ratio:
        findings.append(
            AlertFinding(
                alert_type=AlertType.HIGH_ORPHAN_RATIO,
                severity=AlertSeverity.WARNING,
                message=f"{stats.orphan_ratio:.0%} of neurons have no synapse (limit "
                f"{thresholds.max_orphan_ratio:.0%}); recall cannot reach them.",
                metric_value=stats.orphan_ratio,
                threshold=thresholds.max_orphan_ratio,
            )
        )
    return findings


def _expired_finding(stats: BrainStats, thresholds: HealthThresholds) -> AlertFinding | None:
    if stats.expired_memory_count <= thresholds.max_expired_memories:
        return None
    return AlertFinding(
        alert_type=AlertType.EXPIRED_MEMORIES,
        severity=AlertSeverity.INFO,
        message=f"{stats.expired_memory_count:,} typed memories have expired and are still "
        "stored; they are no longer recalled and can be deleted.",
        metric_value=float(stats.expired_memory_count),
        threshold=float(thresholds.max_expired_memories),
    )


def _stale_finding(
    stats: BrainStats, thresholds: HealthThresholds, now: datetime
) -> AlertFinding | None:
    oldest = stats.oldest_unused_fiber_at
    if oldest is None:
        return None
    idle_days = (now - as_utc(oldest)).total_seconds() / _SECONDS_PER_DAY
    if idle_days <= thresholds.stale_fiber_days:
        return None
    return AlertFinding(
        alert_type=AlertType.STALE_FIBERS,
        severity=AlertSeverity.INFO,
        message=f"Some memories have not been used for {idle_days:.0f} days (limit "
        f"{thresholds.stale_fiber_days:g}); the oldest was last used on "
        f"{as_utc(oldest).date().isoformat()}.",
        metric_value=idle_days,
        threshold=float(thresholds.stale_fiber_days),
    )


def _damage_findings(damage: BrainDamage) -> list[AlertFinding]:
    if damage.is_clean:
        return []
    count = damage.count
    return [
        AlertFinding(
            alert_type=AlertType.DAMAGED_RECORDS,
            severity=AlertSeverity.WARNING,
            message=f"{damage.describe()}; run repair_brain to mend them",
            metric_value=float(count),
            threshold=0.0,
        )
    ]
