"""ConsolidationScheduler: run consolidation automatically, after N encodes or on an interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from neural_memory.engine.consolidation.engine import ConsolidationEngine, ConsolidationReport
from neural_memory.errors import NeuralMemoryError, ValidationError

__all__ = ["ConsolidationScheduler"]

_log = logging.getLogger(__name__)


class ConsolidationScheduler:
    """Triggers a ConsolidationEngine in the background.

    Give it to ``MemoryEncoder(..., consolidation=scheduler)`` so every ``every_n_encodes``
    stored memories start a run, and/or call ``start()`` to also run every
    ``interval_seconds``. Runs never overlap; ``aclose()`` waits for a running one and stops
    the timer. Use it as ``async with ConsolidationScheduler(...)``.
    """

    def __init__(
        self,
        engine: ConsolidationEngine,
        *,
        every_n_encodes: int | None = 500,
        interval_seconds: float | None = None,
    ) -> None:
        if every_n_encodes is not None and every_n_encodes < 1:
            raise ValidationError("every_n_encodes must be positive")
        if interval_seconds is not None and interval_seconds <= 0:
            raise ValidationError("interval_seconds must be positive")
        self._engine = engine
        self._every = every_n_encodes
        self._interval = interval_seconds
        self._pending = 0
        self._again = False
        self._running: asyncio.Task[ConsolidationReport] | None = None
        self._timer: asyncio.Task[None] | None = None
        self.last_report: ConsolidationReport | None = None
        self.runs = 0

    def notify_encoded(self, count: int) -> None:
        """Count stored memories; start a run when the threshold is reached."""
        self._pending += count
        if self._every is not None and self._pending >= self._every:
            self._pending = 0
            self.trigger()

    def trigger(self) -> asyncio.Task[ConsolidationReport]:
        """Start a run now; while one is running, queue exactly one more after it."""
        if self._running is None or self._running.done():
            self._running = asyncio.get_running_loop().create_task(self._run_queued())
        else:
            self._again = True
        return self._running

    async def start(self) -> None:
        """Start the interval timer (no-op without ``interval_seconds``)."""
        if self._interval is not None and self._timer is None:
            self._timer = asyncio.get_running_loop().create_task(self._tick())

    async def wait_idle(self) -> None:
        """Wait for a running consolidation to finish."""
        if self._running is not None:
            await asyncio.shield(self._running)

    async def aclose(self) -> None:
        """Stop the timer and let a running consolidation finish."""
        if self._timer is not None:
            self._timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._timer
            self._timer = None
        await self.wait_idle()

    async def __aenter__(self) -> ConsolidationScheduler:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def _run_queued(self) -> ConsolidationReport:
        while True:
            report = await self._engine.run()
            self.last_report = report
            self.runs += 1
            if not self._again:
                return report
            self._again = False

    async def _tick(self) -> None:
        assert self._interval is not None
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.trigger()
            except NeuralMemoryError:
                _log.exception("background consolidation failed; retrying next interval")
