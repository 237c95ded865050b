"""encode_batches: encode_many of each batch in turn, the next batch read meanwhile."""

from __future__ import annotations

from contextlib import aclosing
from datetime import UTC, datetime, timedelta

import pytest

from neural_memory.core.brain import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.errors import ValidationError
from neural_memory.storage import InMemoryStorage

WHEN = datetime(2024, 5, 1, tzinfo=UTC)


def _batch(name: str, size: int = 3) -> list[MemoryInput]:
    return [
        MemoryInput(text=f"{name} met Eve in Rome on day {i}", timestamp=WHEN + timedelta(hours=i))
        for i in range(size)
    ]


async def _brain(storage: InMemoryStorage) -> MemoryEncoder:
    brain = Brain.create("batches")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return MemoryEncoder(storage, brain.config, embedder=None)


async def test_each_batch_is_stored_before_its_results_are_yielded() -> None:
    async with InMemoryStorage() as storage:
        encoder = await _brain(storage)
        seen = []
        async for results in encoder.encode_batches([_batch("Dana"), [], _batch("Carl", 2)]):
            stored = await storage.get_fibers(r.fiber.id for r in results)
            assert sorted(stored) == sorted(r.fiber.id for r in results)
            seen.append(len(results))
        assert seen == [3, 0, 2]


async def test_a_bad_batch_fails_at_its_turn_after_the_batches_before_it() -> None:
    bad = [MemoryInput(text="Carl went home", salience=2.0)]
    async with InMemoryStorage() as storage:
        encoder = await _brain(storage)
        stored = []
        with pytest.raises(ValidationError, match="salience"):
            async for results in encoder.encode_batches([_batch("Dana"), bad, _batch("Fay")]):
                stored += [r.fiber.id for r in results]
        assert len(stored) == 3
        assert (await storage.get_stats()).fiber_count == 3  # nothing after the bad batch


async def test_stopping_early_stores_only_the_batches_taken() -> None:
    async with InMemoryStorage() as storage:
        encoder = await _brain(storage)
        async with aclosing(encoder.encode_batches([_batch("Dana"), _batch("Fay")])) as batches:
            async for _ in batches:
                break
        assert (await storage.get_stats()).fiber_count == 3
