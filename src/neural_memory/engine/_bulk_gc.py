"""The cyclic garbage collector paused while bulk work runs (``encode_many``, snapshot import).

A batch of a thousand memories makes a few hundred thousand container objects (extractions,
records, plans, rows) that live until the batch is written. While they live, every young
collection scans them (CPython runs one per 700 allocations: ~150 per batch), promotes them,
and the promoted ones soon trigger full collections, which scan everything the process holds
(the recall index included, so they cost more as a brain grows). None of it frees anything:
the batch makes no reference cycles, and its objects are freed by reference counting once it
is written. Measured on 10,000 memories into SQLite in batches of 1,000 (session 12): 90-100 µs
of CPU per memory (about a sixth) went to the collector, two thirds of it in full collections.

The pause is process-wide (the collector is), counted, so overlapping bulk calls in several
threads or tasks leave it paused until the last one ends, and it restores what it found: a
collector the application disabled stays disabled. Work done meanwhile by other tasks of the
process still frees its objects by reference counting; only cycles wait for the next
collection, which the collector runs as usual once the pause ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["BULK_MIN_ITEMS", "collector_paused"]

BULK_MIN_ITEMS = 64
"""Batches of at least this many memories pause the collector (smaller ones gain nothing)."""


class _Pause:
    """How many bulk calls hold the collector paused, and whether it ran before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.was_enabled = False

    def enter(self) -> None:
        with self.lock:
            if self.holders == 0:
                self.was_enabled = gc.isenabled()
                gc.disable()
            self.holders += 1

    def leave(self) -> None:
        with self.lock:
            self.holders -= 1
            if self.holders == 0 and self.was_enabled:
                gc.enable()


_PAUSE = _Pause()


@contextmanager
def collector_paused(bulk: bool = True) -> Iterator[None]:
    """Run the block with the cyclic collector paused when ``bulk`` (else as it is)."""
    if not bulk:
        yield
        return
    _PAUSE.enter()
    try:
        yield
    finally:
        _PAUSE.leave()
