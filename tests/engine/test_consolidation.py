"""Consolidation ("sleep"), dedup on store and supersession of updated facts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from neural_memory import BrainConfig
from neural_memory.core import Fiber, MemoryType, TypedMemory
from neural_memory.engine.consolidation import (
    ConsolidationEngine,
    ConsolidationPolicy,
    ConsolidationScheduler,
    consolidate,
)
from neural_memory.engine.consolidation.strategies import Changes, plan_successors
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.history import current_version, supersession_chain
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import Storage

T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)


async def test_a_repeated_memory_is_merged_on_store(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    first = await encoder.encode("Standup is at 9:30 every day", timestamp=T0)
    again = await encoder.encode("Standup is at 9:30 every day!", timestamp=T0 + timedelta(days=1))
    assert again.merged and again.fiber.id == first.fiber.id
    assert again.fiber.metadata["mentions"] == 2
    assert len(await storage.find_fibers()) == 1
    other_speaker = await encoder.encode("Standup is at 9:30 every day", metadata={"speaker": "Bo"})
    assert not other_speaker.merged  # who said it is part of the memory


async def test_an_updated_fact_supersedes_the_old_value(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    old = await encoder.encode("The wifi password is tangerine42", timestamp=T0)
    await encoder.encode("Lunch was great today", timestamp=T0)
    new = await encoder.encode("The wifi password is mango77", timestamp=T0 + timedelta(days=3))
    result = await ReflexPipeline(storage, config).query("What is the wifi password?")
    assert result.fibers[0].content == "The wifi password is mango77"
    chain = await supersession_chain(storage, old.fiber.id)
    assert [f.content for f in chain] == [
        "The wifi password is tangerine42",
        "The wifi password is mango77",
    ]
    assert (await current_version(storage, old.fiber.id)).id == new.fiber.id
    assert (await storage.get_fiber(old.fiber.id)).superseded_by == new.fiber.id  # type: ignore[union-attr]


async def test_an_older_statement_imported_late_does_not_win(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    newer = await encoder.encode("Alice lives in Berlin", timestamp=T0 + timedelta(days=30))
    older = await encoder.encode("Alice lives in Paris", timestamp=T0)
    assert older.fiber.superseded_by == newer.fiber.id
    assert (await storage.get_fiber(newer.fiber.id)).superseded_by is None  # type: ignore[union-attr]


async def test_consolidation_merges_expires_matures_and_prunes(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    todo = await encoder.encode("Renew the parking permit", timestamp=T0)
    await storage.add_typed_memory(
        TypedMemory.create(
            fiber_id=todo.fiber.id, memory_type=MemoryType.TODO, expires_in_days=1, created_at=T0
        )
    )
    often = await encoder.encode("Kim prefers green tea in the afternoon", timestamp=T0)
    for day in range(5):
        await encoder.encode(
            f"Kim brought cookies on day {day}", timestamp=T0 + timedelta(days=day)
        )
    pipeline = ReflexPipeline(storage, config)
    for _ in range(3):
        await pipeline.query("what does Kim prefer to drink", reference_time=T0)
    report = await consolidate(storage, config, now=T0 + timedelta(days=5))
    assert report.expired == 1
    assert await storage.get_fiber(todo.fiber.id) is None
    matured = await storage.get_fiber(often.fiber.id)
    assert matured is not None and matured.metadata["stage"] == "semantic"
    assert report.concepts_promoted >= 1  # "Kim" came up on five different days
    concepts = await storage.find_fibers(tags=["consolidated"])
    assert any(c.content.startswith("Kim came up in") for c in concepts)
    assert report.paths_strengthened >= 1
    stats = await storage.get_stats()
    assert stats.orphan_neuron_count == 0


async def test_consolidation_runs_by_itself_after_n_encodes(storage: Storage) -> None:
    config = BrainConfig()
    engine = ConsolidationEngine(storage, config, ConsolidationPolicy(apply_decay=False))
    async with ConsolidationScheduler(engine, every_n_encodes=5) as scheduler:
        encoder = MemoryEncoder(storage, config, consolidation=scheduler)
        for i in range(4):
            await encoder.encode(f"note number {i} about the garden")
        assert scheduler.runs == 0
        await encoder.encode("note number 4 about the garden")
        await scheduler.wait_idle()
        assert scheduler.runs == 1
        for i in range(5, 11):
            await encoder.encode(f"note number {i} about the garden")
        await scheduler.wait_idle()
    assert scheduler.runs == 2
    assert scheduler.last_report is not None


async def test_consolidation_runs_on_an_interval(storage: Storage) -> None:
    engine = ConsolidationEngine(storage, BrainConfig())
    scheduler = ConsolidationScheduler(engine, every_n_encodes=None, interval_seconds=0.01)
    await scheduler.start()
    for _ in range(100):
        if scheduler.runs >= 2:
            break
        await asyncio.sleep(0.01)
    await scheduler.aclose()
    assert scheduler.runs >= 2


def test_versions_superseded_by_deleted_memories_point_past_them() -> None:
    def version(fiber_id: str, successor: str | None = None) -> Fiber:
        fiber = Fiber.create({"n"}, content=fiber_id, fiber_id=fiber_id)
        return fiber.superseded(successor) if successor else fiber

    fibers = [
        version("a", "dup"),  # superseded by a duplicate merged into "kept"
        version("dup"),
        version("kept"),
        version("b", "expired"),  # superseded by an expired version, itself superseded
        version("expired", "newest"),
        version("newest"),
        version("c", "gone"),  # superseded by the last version, which is deleted
        version("gone"),
    ]
    changes = Changes(delete_fibers={"dup", "expired", "gone"}, merged_into={"dup": "kept"})
    assert plan_successors(fibers, changes) == 3
    successors = {i: f.superseded_by for i, f in changes.update_fibers.items()}
    assert successors == {"a": "kept", "b": "newest", "c": None}
