"""Pure logic behind the dashboard's JSON endpoints: digests, histograms, retention curves.

Nothing here does I/O: the router (``server/dashboard.py``) reads storage and hands the
records to these functions, which the tests can call directly.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from neural_memory.core.events import RecallEvent
from neural_memory.core.fiber import CONDUCT_REINFORCEMENT, Fiber
from neural_memory.core.fiber_metadata import STAGE
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def stage_of(fiber: Fiber) -> str:
    """The maturation stage of a memory: ``episodic`` until consolidation matures it."""
    return STAGE.get(fiber.metadata) or "episodic"


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
    """Every memory of a brain as a digest, kept sorted by date for paging, with counters.

    Built from a full read once, then kept current from the change log (``apply``): the
    overview of a large brain then costs a change-log read, not a scan of every memory, and
    its aggregates cost a pass over days, not over memories.
    """

    change_seq: int
    _by_id: dict[str, FiberDigest] = field(default_factory=dict)
    _order: list[tuple[float, str]] = field(default_factory=list)
    _stored_days: Counter[int] = field(default_factory=Counter)
    _stages: Counter[str] = field(default_factory=Counter)
    _status: Counter[str] = field(default_factory=Counter)

    @classmethod
    def build(cls, fibers: Iterable[Fiber], change_seq: int) -> FiberDigests:
        """Digests of ``fibers`` as of ``change_seq``."""
        digests = cls(change_seq)
        digests._by_id = {f.id: FiberDigest.of(f) for f in fibers}
        digests._order = sorted((d.occurred, d.id) for d in digests._by_id.values())
        for digest in digests._by_id.values():
            digests._count(digest, 1)
        return digests

    def apply(self, changed: Mapping[str, Fiber | None], change_seq: int) -> None:
        """Replace the digests of ``changed`` fibers (None: deleted) and move to ``change_seq``."""
        for fiber_id, fiber in changed.items():
            old = self._by_id.pop(fiber_id, None)
            if old is not None:
                self._order.pop(bisect.bisect_left(self._order, (old.occurred, old.id)))
                self._count(old, -1)
            if fiber is not None:
                digest = self._by_id[fiber_id] = FiberDigest.of(fiber)
                bisect.insort(self._order, (digest.occurred, digest.id))
                self._count(digest, 1)
        self.change_seq = change_seq

    def _count(self, digest: FiberDigest, sign: int) -> None:
        self._stored_days[int(digest.created // _DAY)] += sign
        self._stages[digest.stage] += sign
        self._status["superseded" if digest.superseded else "current"] += sign
        if digest.faded:
            self._status["faded"] += sign

    def __len__(self) -> int:
        """How many memories the brain holds."""
        return len(self._by_id)

    def page_before(self, before: tuple[float, str] | None, limit: int) -> list[FiberDigest]:
        """Up to ``limit`` memories before the cursor ``(occurred, id)``, newest first.

        Memories are ordered by date, then id, so a page boundary never splits memories of
        the same moment.
        """
        end = len(self._order) if before is None else bisect.bisect_left(self._order, before)
        chosen = self._order[max(0, end - limit) : end]
        return [self._by_id[fiber_id] for _, fiber_id in reversed(chosen)]

    def stored_per_day(self) -> dict[int, int]:
        """Memories stored on each day (days since the POSIX epoch, UTC)."""
        return {day: count for day, count in self._stored_days.items() if count > 0}

    def counts(self) -> dict[str, dict[str, int]]:
        """Memories by maturation stage and by status (current, superseded, faded)."""
        return {
            "stages": {k: v for k, v in self._stages.items() if v > 0},
            "status": {k: v for k, v in self._status.items() if v > 0},
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Bucket:
    """Memories stored in one period, and the running total at its end."""

    start: datetime
    added: int
    total: int


def growth(per_day: Mapping[int, int], max_buckets: int = 60) -> tuple[str, list[Bucket]]:
    """Growth over time from memories stored ``per_day`` (days since the POSIX epoch).

    The period is a day, a week or a month, the shortest that keeps at most ``max_buckets``
    buckets (months may exceed it for brains older than ``max_buckets`` months). Returns the
    period's name and the buckets, oldest first.
    """
    if not per_day:
        return "day", []
    span_days = max(per_day) - min(per_day)
    period = "month"
    if span_days < 7 * max_buckets:
        period = "day" if span_days < max_buckets else "week"
    added: Counter[datetime] = Counter()
    for day, count in per_day.items():
        added[_period_start(day, period)] += count
    total = 0
    buckets = []
    for start in sorted(added):
        total += added[start]
        buckets.append(Bucket(start=start, added=added[start], total=total))
    return period, buckets


def _period_start(day: int, period: str) -> datetime:
    start = _EPOCH + timedelta(days=day)
    if period == "week":
        return start - timedelta(days=start.weekday())
    if period == "month":
        return start.replace(day=1)
    return start


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
