"""Two processes encoding into one SQLite brain at once lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

from neural_memory import BrainConfig
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import SQLiteStorage
from tests.engine import _encode_worker
from tests.processes import new_sqlite_brain, run_together


def test_two_processes_encoding_one_brain_lose_nothing(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    brain = new_sqlite_brain(path, "shared")
    count = 60
    setup = asyncio.run(_store_links_first(path, brain.id))
    codes = run_together(_encode_worker.encode, [(path, brain.id, w, count) for w in (1, 2)])
    assert codes == [0, 0]

    async def check() -> None:
        async with SQLiteStorage(path) as storage:
            storage.set_brain(brain.id)
            fibers = [f for f in await storage.find_fibers() if "Worker" in f.content]
            assert len(fibers) == 2 * count
            shared = await storage.find_neurons(content="shared")
            assert len(shared) == 1  # one neuron for the word, whoever wrote it first
            bound = await storage.find_fibers(neuron_id=shared[0].id)
            assert len(bound) == 2 * count + 1  # and the first memory
            pipeline = ReflexPipeline(storage, BrainConfig(), reinforce=False)
            result = await pipeline.query("release note number 17 of worker 2")
            assert result.fibers[0].content == "Worker 2 logged shared release note number 17"
            # Each of the 2 x count memories reinforced each link it shares with the first
            # memory exactly once, whichever process wrote it: no reinforcement was lost.
            in_all = set(setup).intersection(*(f.synapse_ids for f in fibers))
            assert in_all
            for synapse in (await storage.get_synapses_by_id(in_all)).values():
                assert synapse.reinforced_count == 2 * count

    asyncio.run(check())


async def _store_links_first(path: str, brain_id: str) -> frozenset[str]:
    """Store the words every worker's memory shares; return the synapses it created."""
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        result = await MemoryEncoder(storage, BrainConfig()).encode(
            "logged shared release note number"
        )
        return frozenset(s.id for s in result.synapses_created)
