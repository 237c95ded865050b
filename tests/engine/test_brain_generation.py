"""A recall index notices its brain was deleted and created again by another process."""

from __future__ import annotations

from pathlib import Path

from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import SQLiteStorage


async def test_an_index_rebuilds_for_a_brain_created_again_under_its_id(tmp_path: Path) -> None:
    db, brain = tmp_path / "brain.db", Brain.create("tapes")
    async with SQLiteStorage(db) as mine, SQLiteStorage(db) as other:  # two processes
        await mine.save_brain(brain)
        mine.set_brain(brain.id)
        encoder = MemoryEncoder(mine, brain.config)
        for text in (
            "Heidi keeps the backup tapes in the basement",
            "Heidi labels every tape by week",
            "The basement door sticks in winter",
        ):
            await encoder.encode(text)
        pipeline = ReflexPipeline(mine, brain.config)
        assert "Heidi" in (await pipeline.query("Who keeps the backup tapes?")).context
        old = BrainHandle.of(mine).index()
        assert await other.delete_brain(brain.id)
        await other.save_brain(brain)  # the same record again: only the generation tells
        other.set_brain(brain.id)
        await MemoryEncoder(other, brain.config).encode("Ivan keeps the backup tapes in the attic")
        context = (await pipeline.query("Who keeps the backup tapes?")).context
        assert "Ivan" in context
        assert "Heidi" not in context
        assert old.generation == (await mine.get_brain_version(brain.id)).generation
