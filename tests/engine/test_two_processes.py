"""Two processes encoding into one SQLite brain at once lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from neural_memory import BrainConfig
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import SQLiteStorage
from tests.engine import _encode_worker
from tests.processes import new_sqlite_brain, run_together


def test_two_processes_encoding_one_brain_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    brain = new_sqlite_brain(path, "shared")
    count = 60
    codes = run_together(_encode_worker.encode, [(path, brain.id, w, count) for w in (1, 2)])
    assert codes == [0, 0]

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
