"""Run several real (spawned) processes that start together, for concurrency tests."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections.abc import Callable, Sequence

from neural_memory import Brain
from neural_memory.storage import SQLiteStorage


def new_sqlite_brain(path: str, name: str) -> Brain:
    """Create ``name`` in the SQLite file at ``path`` and return it."""
    brain = Brain.create(name)

    async def create() -> None:
        async with SQLiteStorage(path) as storage:
            await storage.save_brain(brain)

    asyncio.run(create())
    return brain


def run_together(
    target: Callable[..., None], args: Sequence[tuple[object, ...]], *, timeout: float = 240
) -> list[int | None]:
    """Start one spawned process per ``args`` entry; each gets a shared start barrier as its
    last argument. Return their exit codes."""
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(len(args))
    processes = [ctx.Process(target=target, args=(*a, start)) for a in args]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=timeout)
    return [process.exitcode for process in processes]
