"""Two processes encoding into one SQLite brain at once lose nothing."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

from neural_memory import Brain, BrainConfig
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import SQLiteStorage
from tests.engine import _encode_worker


def test_two_processes_encoding_one_brain_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    brain = Brain.create("shared")

    async def create() -> None:
        async with SQLiteStorage(path) as storage:
            await storage.save_brain(brain)

    asyncio.run(create())
    count = 60
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(2)
    workers = [
        ctx.Process(target=_encode_worker.encode, args=(path, brain.id, w, count, start))
        for w in (1, 2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=240)
    assert [w.exitcode for w in workers] == [0, 0]

    async def check() -> None:
        async with SQLiteStorage(path) as storage:
            storage.set_brain(brain.id)
            fibers = await storage.find_fibers()
            assert len(fibers) == 2 * count
            shared = await storage.find_neurons(content="shared")
            assert len(shared) == 1  # one neuron for the word, whoever wrote it first
            bound = await storage.find_fibers(neuron_id=shared[0].id)
            assert len(bound) == 2 * count
            pipeline = ReflexPipeline(storage, BrainConfig(), reinforce=False)
            result = await pipeline.query("release note number 17 of worker 2")
            assert result.fibers[0].content == "Worker 2 logged shared release note number 17"

    asyncio.run(check())
