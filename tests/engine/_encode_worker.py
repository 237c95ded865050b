"""Run in a spawned process by ``test_two_processes.py``: encode memories into one brain."""

from __future__ import annotations

import asyncio
from multiprocessing.synchronize import Barrier

from neural_memory import BrainConfig
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.storage import SQLiteStorage


def encode(path: str, brain_id: str, worker: int, count: int, start: Barrier) -> None:
    """Encode ``count`` memories (sharing words with the other worker's) into ``brain_id``."""
    asyncio.run(_encode(path, brain_id, worker, count, start))


async def _encode(path: str, brain_id: str, worker: int, count: int, start: Barrier) -> None:
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        encoder = MemoryEncoder(storage, BrainConfig())
        start.wait(timeout=60)
        for i in range(count):
            await encoder.encode(f"Worker {worker} logged shared release note number {i}")


def consolidate_then_signal(path: str, brain_id: str, now: str, ready: str) -> None:
    """Consolidate ``brain_id`` as of ``now``, touching the file ``ready`` just before."""
    asyncio.run(_consolidate(path, brain_id, now, ready))


async def _consolidate(path: str, brain_id: str, now: str, ready: str) -> None:
    from datetime import datetime
    from pathlib import Path

    from neural_memory.engine.consolidation import consolidate

    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        Path(ready).touch()
        await consolidate(storage, BrainConfig(), now=datetime.fromisoformat(now))
