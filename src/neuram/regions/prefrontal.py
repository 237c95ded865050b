"""PrefrontalCortex: working memory - 7 +/- 2 slots, LRU eviction, decay without rehearsal."""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from neural_memory.errors import ValidationError
from neuram.engram import Engram

__all__ = ["WM_DECAY_SECONDS", "WM_THRESHOLD", "PrefrontalCortex"]

WM_DECAY_SECONDS = 30.0
"""Time constant of working-memory decay: activation is ``e^(-seconds / 30)``."""
WM_THRESHOLD = 0.05
"""Activation below which an unrehearsed item has dropped out (after about 90 s)."""
_MIN_SLOTS, _MAX_SLOTS = 5, 9

Clock = Callable[[], float]


@dataclass(slots=True)
class _Slot:
    engram: Engram
    rehearsed_at: float


class PrefrontalCortex:
    """Working memory: a few engrams held active, least recently used evicted first.

    Holding an engram in a full working memory evicts the least recently used one (it is not
    forgotten: the hippocampus or a long-term store still has it). An item's activation
    decays as ``e^(-t / decay_seconds)`` since it was last rehearsed; below ``threshold`` it
    no longer counts as held, and :meth:`prune` (run by sleep) clears it.

    Args:
        capacity: Number of slots, 7 +/- 2 (5 to 9).
        decay_seconds: Time constant of the decay.
        threshold: Activation below which an item has dropped out.
        clock: Current time in POSIX seconds (``time.time`` by default).
    """

    def __init__(
        self,
        capacity: int = 7,
        *,
        decay_seconds: float = WM_DECAY_SECONDS,
        threshold: float = WM_THRESHOLD,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(capacity, bool) or not isinstance(capacity, int):
            raise ValidationError("capacity must be an integer")
        if not _MIN_SLOTS <= capacity <= _MAX_SLOTS:
            raise ValidationError(f"capacity must be 7 +/- 2 ({_MIN_SLOTS}-{_MAX_SLOTS})")
        if not decay_seconds > 0 or not 0.0 < threshold < 1.0:
            raise ValidationError("decay_seconds must be positive and threshold within (0, 1)")
        self.capacity = capacity
        self.decay_seconds = float(decay_seconds)
        self.threshold = float(threshold)
        self._clock = clock or time.time
        self._slots: OrderedDict[str, _Slot] = OrderedDict()

    def hold(self, engram: Engram, *, now: float | None = None) -> Engram | None:
        """Hold ``engram`` (rehearsing it if held already); return the evicted engram, if any."""
        moment = self._now(now)
        self._slots[engram.engram_id] = _Slot(engram, moment)
        self._slots.move_to_end(engram.engram_id)
        if len(self._slots) > self.capacity:
            _, evicted = self._slots.popitem(last=False)
            return evicted.engram
        return None

    def rehearse(self, engram_id: str, *, now: float | None = None) -> bool:
        """Refresh an item (most recently used, activation back to 1); False if not held."""
        slot = self._slots.get(engram_id)
        if slot is None:
            return False
        slot.rehearsed_at = self._now(now)
        self._slots.move_to_end(engram_id)
        return True

    def refresh(self, engram: Engram) -> None:
        """Replace a held item's engram with a newer copy of it (its slot is unchanged)."""
        slot = self._slots.get(engram.engram_id)
        if slot is not None:
            slot.engram = engram

    def activation(self, engram_id: str, *, now: float | None = None) -> float:
        """How active an item is (0 when not held)."""
        slot = self._slots.get(engram_id)
        if slot is None:
            return 0.0
        elapsed = max(0.0, self._now(now) - slot.rehearsed_at)
        return math.exp(-elapsed / self.decay_seconds)

    def items(self, *, now: float | None = None) -> list[Engram]:
        """The engrams held and still active, least recently used first."""
        moment = self._now(now)
        return [
            slot.engram
            for engram_id, slot in self._slots.items()
            if self.activation(engram_id, now=moment) >= self.threshold
        ]

    def remove(self, engram_id: str) -> bool:
        """Drop an item; False if it was not held."""
        return self._slots.pop(engram_id, None) is not None

    def prune(self, *, now: float | None = None) -> int:
        """Clear the items that decayed without rehearsal; return how many."""
        moment = self._now(now)
        faded = [i for i in self._slots if self.activation(i, now=moment) < self.threshold]
        for engram_id in faded:
            del self._slots[engram_id]
        return len(faded)

    def __contains__(self, engram_id: object) -> bool:
        return engram_id in self._slots

    def __len__(self) -> int:
        return len(self.items())

    def _now(self, now: float | None) -> float:
        return self._clock() if now is None else float(now)
