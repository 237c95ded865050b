"""SleepCycle: replay working memory, consolidate what earned it, forget what faded."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import replace

from neural_memory.errors import EmbeddingError, StorageError, ValidationError
from neuram._embedding import EmbeddingService
from neuram.engram import Engram
from neuram.forgetting import FORGET_THRESHOLD, compute_retention
from neuram.regions.cortex import region_for
from neuram.regions.hippocampus import Hippocampus
from neuram.regions.longterm import LongTermMemory
from neuram.regions.prefrontal import PrefrontalCortex

__all__ = ["CONSOLIDATION_SALIENCE", "SleepCycle", "SleepReport", "earned_consolidation"]

CONSOLIDATION_SALIENCE = 0.5
"""Salience from which an engram earns consolidation on its own."""
_CHUNK = 256

SleepReport = dict[str, int]
"""``{'consolidated': n, 'pruned_wm': n, 'pruned_ltm': n}``."""
Clock = Callable[[], float]


def earned_consolidation(engram: Engram, *, replayed: bool) -> bool:
    """Whether a hippocampal engram moves to a long-term store tonight.

    It must still be held in working memory (replayed), or be salient (0.5 or more), or
    have been recalled, or have been rewarded.
    """
    return (
        replayed
        or engram.salience >= CONSOLIDATION_SALIENCE
        or engram.access_count > 0
        or engram.reward > 0.0
    )


def _consolidated(engram: Engram) -> Engram:
    """A copy of ``engram`` as its long-term region keeps it."""
    region = region_for(engram.memory_type)
    return replace(
        engram,
        region=region.region,
        stability=region.consolidated_stability(engram),
        consolidated=True,
        associations=list(engram.associations),
        fragments=list(engram.fragments),
    )


class SleepCycle:
    """Background consolidation (synaptic homeostasis), one cycle at a time or periodically.

    A cycle (:meth:`run_once`): finish pending embeddings; clear working-memory items that
    decayed without rehearsal (``pruned_wm``); replay working memory and move every
    hippocampal engram that earned it (:func:`earned_consolidation`) into its long-term
    region, whose stability factor it gets (``consolidated``); forget every engram, in the
    hippocampus or a long-term store, whose retention fell below 5% (``pruned_ltm``).

    Args:
        prefrontal: Working memory.
        hippocampus: The episodic index.
        longterm: The long-term stores.
        lock: Held during a cycle (the Brain's lock, so perceive and recall wait).
        embeddings: Flushed before consolidating (None without embeddings).
        clock: Current time in POSIX seconds.
        interval_seconds: Time between two background cycles.
    """

    def __init__(
        self,
        *,
        prefrontal: PrefrontalCortex,
        hippocampus: Hippocampus,
        longterm: LongTermMemory,
        lock: asyncio.Lock,
        embeddings: EmbeddingService | None = None,
        clock: Clock | None = None,
        interval_seconds: float = 30.0,
    ) -> None:
        if isinstance(interval_seconds, bool) or not isinstance(interval_seconds, int | float):
            raise ValidationError("sleep_interval_seconds must be a number")
        if interval_seconds <= 0:
            raise ValidationError("sleep_interval_seconds must be positive")
        self.interval_seconds = float(interval_seconds)
        self._prefrontal = prefrontal
        self._hippocampus = hippocampus
        self._longterm = longterm
        self._lock = lock
        self._embeddings = embeddings
        self._clock = clock or time.time
        self._task: asyncio.Task[None] | None = None
        self.cycles_completed = 0
        """Cycles run so far (manual and background)."""
        self.last_error: StorageError | EmbeddingError | None = None
        """The error of the last background cycle that failed (the loop keeps going)."""

    @property
    def running(self) -> bool:
        """Whether the background loop is running."""
        return self._task is not None and not self._task.done()

    async def run_once(self) -> SleepReport:
        """Run one sleep cycle now and report what it did."""
        async with self._lock:
            if self._embeddings is not None:
                await self._embeddings.flush()
            now = self._clock()
            pruned_wm = self._prefrontal.prune(now=now)
            replayed = {engram.engram_id for engram in self._prefrontal.items(now=now)}
            faded: list[Engram] = []
            earned: list[Engram] = []
            for engram in self._hippocampus.engrams():
                if compute_retention(engram, now) < FORGET_THRESHOLD:
                    faded.append(engram)
                elif earned_consolidation(engram, replayed=engram.engram_id in replayed):
                    earned.append(engram)
            for engram in faded:
                self._hippocampus.remove(engram.engram_id)
                self._prefrontal.remove(engram.engram_id)
            for start in range(0, len(earned), _CHUNK):
                await self._consolidate(earned[start : start + _CHUNK])
            pruned = await self._longterm.prune(now=now, threshold=FORGET_THRESHOLD)
            for engram_id in pruned:
                self._prefrontal.remove(engram_id)
            self.cycles_completed += 1
            return {
                "consolidated": len(earned),
                "pruned_wm": pruned_wm,
                "pruned_ltm": len(faded) + len(pruned),
            }

    async def _consolidate(self, engrams: list[Engram]) -> None:
        """Store ``engrams`` in their regions, then move them out of the hippocampus."""
        copies = [_consolidated(engram) for engram in engrams]
        await self._longterm.store(copies)
        for engram, copy in zip(engrams, copies, strict=True):
            self._hippocampus.remove(engram.engram_id, scrub=False)
            engram.region, engram.stability = copy.region, copy.stability
            engram.consolidated, engram.engram_id = True, copy.engram_id

    def start(self) -> None:
        """Start the background loop (a cycle every ``interval_seconds``); no-op if running."""
        if not self.running:
            self._task = asyncio.create_task(self._loop(), name="neuram-sleep-cycle")

    async def stop(self) -> None:
        """Stop the background loop and wait for it (a cycle in progress is cancelled)."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            try:
                await self.run_once()
            except (StorageError, EmbeddingError) as exc:  # keep sleeping; report it
                self.last_error = exc
