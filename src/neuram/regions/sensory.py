"""SensoryCortex: the raw input buffer; what nobody attends to fades within 3 seconds."""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass

from neural_memory.errors import ValidationError

__all__ = ["SENSORY_TTL_SECONDS", "SensoryCortex", "SensoryTrace"]

SENSORY_TTL_SECONDS = 3.0
"""How long raw input stays in the buffer unless it is attended to."""

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class SensoryTrace:
    """One raw input: its text and when it arrived (POSIX seconds)."""

    trace_id: int
    content: str
    arrived_at: float


def _normalised(content: str) -> str:
    return " ".join(content.casefold().split())


class SensoryCortex:
    """Iconic/echoic memory: every input lands here first and expires after ``ttl_seconds``.

    Attending to a trace (:meth:`attend`) takes it out of the buffer and passes it on; a
    trace nobody attends to is gone once ``ttl_seconds`` have passed.

    Args:
        ttl_seconds: Lifetime of an unattended trace (3 s).
        clock: Current time in POSIX seconds (``time.time`` by default; inject one in tests).
    """

    def __init__(self, ttl_seconds: float = SENSORY_TTL_SECONDS, *, clock: Clock | None = None):
        if isinstance(ttl_seconds, bool) or not isinstance(ttl_seconds, int | float):
            raise ValidationError("ttl_seconds must be a number")
        if ttl_seconds <= 0:
            raise ValidationError("ttl_seconds must be positive")
        self.ttl_seconds = float(ttl_seconds)
        self._clock = clock or time.time
        self._traces: dict[int, SensoryTrace] = {}
        self._ids = itertools.count(1)

    def register(self, content: str, *, now: float | None = None) -> SensoryTrace:
        """Put raw input into the buffer and return its trace."""
        if not isinstance(content, str) or not content.strip():
            raise ValidationError("sensory input must be a non-empty string")
        moment = self._now(now)
        self._expire(moment)
        trace = SensoryTrace(next(self._ids), content, moment)
        self._traces[trace.trace_id] = trace
        return trace

    def attend(self, trace_id: int, *, now: float | None = None) -> SensoryTrace | None:
        """Take a trace out of the buffer to pass it on; None if it has already faded."""
        self._expire(self._now(now))
        return self._traces.pop(trace_id, None)

    def repetitions(self, content: str, *, now: float | None = None) -> int:
        """How many live traces in the buffer carry the same text (case and spacing folded)."""
        self._expire(self._now(now))
        wanted = _normalised(content)
        return sum(1 for trace in self._traces.values() if _normalised(trace.content) == wanted)

    def buffer(self, *, now: float | None = None) -> list[SensoryTrace]:
        """The traces still alive, oldest first."""
        self._expire(self._now(now))
        return list(self._traces.values())

    def __len__(self) -> int:
        return len(self.buffer())

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else float(now)

    def _expire(self, now: float) -> None:
        horizon = now - self.ttl_seconds
        for trace_id in [t.trace_id for t in self._traces.values() if t.arrived_at <= horizon]:
            del self._traces[trace_id]
