"""Alerts raised by the brain's health pulse."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from neural_memory.core._validation import optional_utc, require_enum, require_text, set_field
from neural_memory.core.clock import as_utc, utcnow

__all__ = ["Alert", "AlertSeverity", "AlertStatus", "AlertType"]


class AlertType(StrEnum):
    """What the health pulse found."""

    HIGH_NEURON_COUNT = "high_neuron_count"
    HIGH_FIBER_COUNT = "high_fiber_count"
    HIGH_SYNAPSE_COUNT = "high_synapse_count"
    LOW_CONNECTIVITY = "low_connectivity"
    HIGH_ORPHAN_RATIO = "high_orphan_ratio"
    EXPIRED_MEMORIES = "expired_memories"
    STALE_FIBERS = "stale_fibers"
    DAMAGED_RECORDS = "damaged_records"
    BRAIN_REPAIRED = "brain_repaired"


class AlertStatus(StrEnum):
    """Life cycle: active -> seen -> acknowledged -> resolved."""

    ACTIVE = "active"
    SEEN = "seen"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class AlertSeverity(StrEnum):
    """How urgent an alert is."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True, kw_only=True)
class Alert:
    """One health alert.

    Attributes:
        id: Unique id within its brain.
        alert_type: What was found.
        severity: How urgent it is.
        message: Human-readable explanation.
        status: Where it is in its life cycle.
        metric_value: The measured value that triggered it.
        threshold: The configured threshold it crossed.
        created_at, seen_at, acknowledged_at, resolved_at: Life-cycle timestamps.
    """

    id: str
    alert_type: AlertType
    severity: AlertSeverity
    message: str
    status: AlertStatus = AlertStatus.ACTIVE
    metric_value: float = 0.0
    threshold: float = 0.0
    created_at: datetime = field(default_factory=utcnow)
    seen_at: datetime | None = None
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        require_text(self.id, "alert id")
        set_field(self, "alert_type", require_enum(self.alert_type, AlertType, "alert_type"))
        set_field(self, "severity", require_enum(self.severity, AlertSeverity, "severity"))
        require_text(self.message, "message")
        set_field(self, "status", require_enum(self.status, AlertStatus, "status"))
        set_field(self, "created_at", as_utc(self.created_at))
        for name in ("seen_at", "acknowledged_at", "resolved_at"):
            set_field(self, name, optional_utc(getattr(self, name), name))

    @classmethod
    def create(
        cls,
        alert_type: AlertType,
        severity: AlertSeverity,
        message: str,
        *,
        metric_value: float = 0.0,
        threshold: float = 0.0,
        created_at: datetime | None = None,
    ) -> Alert:
        """Create an active alert with a fresh id."""
        return cls(
            id=f"a-{uuid.uuid4().hex}",
            alert_type=alert_type,
            severity=severity,
            message=message,
            metric_value=float(metric_value),
            threshold=float(threshold),
            created_at=created_at or utcnow(),
        )

    @property
    def is_open(self) -> bool:
        """True while the alert is active or seen (not acknowledged, not resolved)."""
        return self.status in (AlertStatus.ACTIVE, AlertStatus.SEEN)

    def mark_seen(self, at: datetime | None = None) -> Alert:
        """Return a copy in status SEEN (only an ACTIVE alert changes)."""
        if self.status is not AlertStatus.ACTIVE:
            return self
        return replace(self, status=AlertStatus.SEEN, seen_at=as_utc(at) if at else utcnow())

    def acknowledge(self, at: datetime | None = None) -> Alert:
        """Return a copy in status ACKNOWLEDGED (a resolved alert stays resolved)."""
        if self.status is AlertStatus.RESOLVED:
            return self
        moment = as_utc(at) if at else utcnow()
        return replace(self, status=AlertStatus.ACKNOWLEDGED, acknowledged_at=moment)

    def resolve(self, at: datetime | None = None) -> Alert:
        """Return a copy in status RESOLVED."""
        moment = as_utc(at) if at else utcnow()
        return replace(self, status=AlertStatus.RESOLVED, resolved_at=moment)
