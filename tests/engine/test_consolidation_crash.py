"""A process killed while consolidating neither loses nor doubles anything."""

from __future__ import annotations

import asyncio
import multiprocessing
import random
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from neural_memory import Brain, BrainConfig
from neural_memory.engine.consolidation import consolidate
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import SQLiteStorage
from tests.engine import _encode_worker

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
TOPICS = ("billing", "search", "mobile", "login", "payments", "reports")


async def _build(path: Path) -> Brain:
    """A brain with memories over several days and recalls that consolidation replays."""
    brain = Brain.create("crash")
    async with SQLiteStorage(path) as storage:
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config)
        start = NOW - timedelta(days=30)
        await encoder.encode_many(
            [
                MemoryInput(
                    text=f"Carol worked on the {TOPICS[i % 6]} service, ticket {i}",
                    timestamp=start + timedelta(hours=7 * i),
                )
                for i in range(600)
            ]
        )
        pipeline = ReflexPipeline(storage, brain.config)
        for i in range(40):
            topic = TOPICS[i % 6]
            await pipeline.query(f"what did Carol do on {topic}", reference_time=start)
    return brain


async def _state(path: Path, brain_id: str) -> dict[str, Any]:
    """Everything consolidation changes, without the random ids of concept memories."""
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        fibers = sorted(
            (
                f.content,
                round(f.conductivity, 9),
                sorted(f.tags),
                f.superseded_by,
                sorted((k, str(v)) for k, v in f.metadata.items()),
            )
            for f in await storage.find_fibers()
        )
        synapses = sorted(
            (s.id, round(s.weight, 9), s.reinforced_count) for s in await storage.get_synapses()
        )
        neurons = sorted((n.id, round(n.activation, 9)) for n in await storage.find_neurons())
        meta = {
            key: await storage.get_meta(key)
            for key in (
                "consolidation.last_run",
                "consolidation.promoted",
                "consolidation.replayed_until",
            )
        }
        return {"fibers": fibers, "synapses": synapses, "neurons": neurons, "meta": meta}


def _kill_while_consolidating(path: Path, brain_id: str, delay: float) -> None:
    ready = path.with_suffix(".ready")
    ready.unlink(missing_ok=True)
    ctx = multiprocessing.get_context("spawn")
    args = (str(path), brain_id, NOW.isoformat(), str(ready))
    process = ctx.Process(target=_encode_worker.consolidate_then_signal, args=args)
    process.start()
    deadline = time.monotonic() + 120
    while not ready.exists() and process.is_alive() and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    process.kill()
    process.join(timeout=60)


def test_a_killed_consolidation_neither_loses_nor_doubles_anything(tmp_path: Path) -> None:
    original = tmp_path / "brain.db"
    brain = asyncio.run(_build(original))
    reference = tmp_path / "reference.db"
    shutil.copy(original, reference)

    async def clean_run(path: Path) -> None:
        async with SQLiteStorage(path) as storage:
            storage.set_brain(brain.id)
            await consolidate(storage, BrainConfig(), now=NOW)

    asyncio.run(clean_run(reference))
    expected = asyncio.run(_state(reference, brain.id))
    assert expected["meta"]["consolidation.last_run"] == NOW.isoformat()
    rng = random.Random(7)
    for delay in (0.0, rng.uniform(0.01, 0.3), rng.uniform(0.1, 0.6)):
        _kill_while_consolidating(original, brain.id, delay)
    asyncio.run(clean_run(original))  # finishes whatever the killed runs left undone
    assert asyncio.run(_state(original, brain.id)) == expected
