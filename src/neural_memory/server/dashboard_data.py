"""Pure logic behind the dashboard's JSON endpoints: digests, histograms, retention curves.

Nothing here does I/O: the router (``server/dashboard.py``) reads storage and hands the
records to these functions, which the tests can call directly.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from neural_memory.core.events import RecallEvent
from neural_memory.core.fiber import CONDUCT_REINFORCEMENT, Fiber
from neural_memory.engine.lifecycle.curves import fiber_stability_days, retention

__all__ = [
    "FADED_BELOW",
    "Bucket",
    "CurvePoint",
    "FiberDigest",
    "FiberDigests",
    "Reinforcement",
    "RetentionCurve",
    "growth",
    "retention_curve",
    "stage_of",
]

FADED_BELOW = 0.05
"""A memory whose conductivity decayed below this is shown as forgotten (faded)."""

_DAY = 86_400.0


def stage_of(fiber: Fiber) -> str:
    """The maturation stage of a memory: ``episodic`` until consolidation matures it."""
    stage = fiber.metadata.get("stage", "episodic")
    return stage if isinstance(stage, str) and stage else "episodic"


@dataclass(frozen=True, slots=True, kw_only=True)
class FiberDigest:
    """What the overview and the timeline need of one memory (a few numbers, no text)."""

    id: str
    occurred: float
    """When it happened (POSIX seconds)."""
    created: float
    """When it was stored (POSIX seconds)."""
    stage: str
    superseded: bool
    faded: bool

    @classmethod
    def of(cls, fiber: Fiber) -> FiberDigest:
        """The digest of ``fiber``."""
        occurred = fiber.occurred_at or fiber.created_at
        return cls(
            id=fiber.id,
            occurred=occurred.timestamp(),
            created=fiber.created_at.timestamp(),
            stage=stage_of(fiber),
            superseded=fiber.superseded_by is not None,
            faded=fiber.conductivity < FADED_BELOW,
        )


@dataclass(slots=True)
class FiberDigests:
    """Every memory of a brain as a digest, kept sorted by date for paging.

    Built from a full read once, then kept current from the change log (``apply``): the
    overview of a large brain then costs a change-log read, not a scan of every memory.
    """

    change_seq: int
    _by_id: dict[str, FiberDigest] = field(default_factory=dict)
    _order: list[tuple[float, str]] = field(default_factory=list)

    @classmethod
    def build(cls, fibers: Iterable[Fiber], change_seq: int) -> FiberDigests:
        """Digests of ``fibers`` as of ``change_seq``."""
        digests = cls(change_seq)
        digests._by_id = {f.id: FiberDigest.of(f) for f in fibers}
        digests._order = sorted((d.occurred, d.id) for d in digests._by_id.values())
        return digests

    def apply(self, changed: Mapping[str, Fiber | None], change_seq: int) -> None:
        """Replace the digests of ``changed`` fibers (None: deleted) and move to ``change_seq``."""
        for fiber_id, fiber in changed.items():
            old = self._by_id.pop(fiber_id, None)
            if old is not None:
                self._order.pop(bisect.bisect_left(self._order, (old.occurred, old.id)))
            if fiber is not None:
                digest = self._by_id[fiber_id] = FiberDigest.of(fiber)
                bisect.insort(self._order, (digest.occurred, digest.id))
        self.change_seq = change_seq

    def __len__(self) -> int:
        """How many memories the brain holds."""
        return len(self._by_id)

    def values(self) -> Iterable[FiberDigest]:
        """Every digest, in no particular order."""
        return self._by_id.values()

    def page_before(self, before: float | None, limit: int) -> list[FiberDigest]:
        """Up to ``limit`` memories that happened strictly before ``before``, newest first."""
        end = len(self._order) if before is None else bisect.bisect_left(self._order, (before,))
        chosen = self._order[max(0, end - limit) : end]
        return [self._by_id[fiber_id] for _, fiber_id in reversed(chosen)]

    def counts(self) -> dict[str, Counter[str]]:
        """Memories by maturation stage and by status (current, superseded, faded)."""
        stages: Counter[str] = Counter()
        status: Counter[str] = Counter()
        for digest in self._by_id.values():
            stages[digest.stage] += 1
            status["superseded" if digest.superseded else "current"] += 1
            if digest.faded:
                status["faded"] += 1
        return {"stages": stages, "status": status}


@dataclass(frozen=True, slots=True, kw_only=True)
class Bucket:
    """Memories stored in one period, and the running total at its end."""

    start: datetime
    added: int
    total: int


def growth(created: Sequence[float], max_buckets: int = 60) -> tuple[str, list[Bucket]]:
    """Growth over time of memories stored at ``created`` (POSIX seconds).

    The period is a day, a week or a month, the shortest that keeps at most ``max_buckets``
    buckets (months may exceed it for brains older than ``max_buckets`` months). Returns the
    period's name and the buckets, oldest first.
    """
    if not created:
        return "day", []
    first, last = min(created), max(created)
    span_days = (last - first) / _DAY
    period = (
        "day" if span_days < max_buckets else "week" if span_days < 7 * max_buckets else "month"
    )
    added: Counter[datetime] = Counter(_period_start(stamp, period) for stamp in created)
    total = 0
    buckets = []
    for start in sorted(added):
        total += added[start]
        buckets.append(Bucket(start=start, added=added[start], total=total))
    return period, buckets


def _period_start(stamp: float, period: str) -> datetime:
    day = datetime.fromtimestamp(stamp, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "week":
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


@dataclass(frozen=True, slots=True, kw_only=True)
class CurvePoint:
    """The modelled strength (0-1) of a memory at one moment."""

    at: datetime
    strength: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Reinforcement:
    """One recall that used the memory (and so strengthened it)."""

    at: datetime
    query: str
    strength_after: float


@dataclass(frozen=True, slots=True, kw_only=True)
class RetentionCurve:
    """A memory's strength from storage to now (modelled), and the forgetting curve ahead."""

    history: list[CurvePoint]
    forecast: list[CurvePoint]
    reinforcements: list[Reinforcement]
    stability_days: float
    """How slowly the memory fades now (days for strength to fall to ~37%)."""
    days_until_faded: float | None
    """Days from now until the forecast drops below :data:`FADED_BELOW` (None: not within it)."""


def retention_curve(
    fiber: Fiber,
    events: Iterable[RecallEvent],
    *,
    decay_rate: float,
    now: datetime,
    horizon_days: float = 90.0,
    steps: int = 40,
) -> RetentionCurve:
    """Model the strength of ``fiber`` over time with the lifecycle's own curves.

    Strength starts at 1 when the memory is stored, fades along ``retention`` with the
    stability of ``fiber_stability_days`` (which grows with every recall), and gains
    ``CONDUCT_REINFORCEMENT`` at each recall in ``events`` that used the memory. Recalls
    older than the memory or not naming it are ignored. The forecast starts from the
    memory's stored conductivity, the strength the engine actually uses now.
    """
    start = fiber.created_at
    recalls = sorted(
        (e for e in events if fiber.id in e.fiber_ids and start <= e.created_at <= now),
        key=lambda e: e.created_at,
    )
    strength, count, moment = 1.0, 0, start
    history = [CurvePoint(at=start, strength=1.0)]
    reinforcements = []
    for event in recalls:
        history += _fade(strength, moment, event.created_at, decay_rate, count, fiber, steps // 4)
        strength = history[-1].strength
        strength = min(1.0, strength + CONDUCT_REINFORCEMENT)
        count += 1
        moment = event.created_at
        history.append(CurvePoint(at=moment, strength=strength))
        reinforcements.append(Reinforcement(at=moment, query=event.query, strength_after=strength))
    history += _fade(strength, moment, now, decay_rate, count, fiber, steps)
    stability = fiber_stability_days(decay_rate, max(count, fiber.access_count), fiber.salience)
    forecast = [
        CurvePoint(
            at=now + timedelta(days=day),
            strength=fiber.conductivity * retention(day, stability),
        )
        for day in (horizon_days * i / steps for i in range(steps + 1))
    ]
    faded = next((p.at for p in forecast if p.strength < FADED_BELOW), None)
    return RetentionCurve(
        history=history,
        forecast=forecast,
        reinforcements=reinforcements,
        stability_days=stability,
        days_until_faded=(faded - now).total_seconds() / _DAY if faded else None,
    )


def _fade(
    strength: float,
    since: datetime,
    until: datetime,
    decay_rate: float,
    recalls: int,
    fiber: Fiber,
    steps: int,
) -> list[CurvePoint]:
    """Points of the forgetting curve from ``since`` (excluded) to ``until`` (included)."""
    span = (until - since).total_seconds() / _DAY
    if span <= 0:
        return []
    stability = fiber_stability_days(decay_rate, recalls, fiber.salience)
    count = max(1, steps)
    return [
        CurvePoint(
            at=since + timedelta(days=span * i / count),
            strength=strength * retention(span * i / count, stability),
        )
        for i in range(1, count + 1)
    ]
