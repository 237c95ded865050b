"""Cold open: an index loaded from storage's columns recalls like one kept in step."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from neural_memory import Brain, BrainConfig
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import SQLiteStorage, Storage
from neural_memory.storage.sqlite_schema import SCHEMA_VERSION
from tests.engine.test_retrieval import START, TEAM_FACTS, filler

QUESTIONS = (
    "Who leads the team of the person who fixed the login crash?",
    "what did Ben say about chess",
    "Did anyone adopt a dog?",
    "which team is Dan on",
)


async def _fill(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    await encoder.encode_many(filler(60))
    for offset, text in enumerate(TEAM_FACTS):
        await encoder.encode(text, timestamp=START + timedelta(days=offset))
    said = [("Ann", "Did you adopt the dog?"), ("Ben", "Yes, a greyhound")]
    await encoder.encode_many(
        [MemoryInput(text=t, timestamp=START, metadata={"speaker": s}) for s, t in said]
    )


async def _top(storage: Storage) -> list[list[str]]:
    """The top-10 memory ids for each question (recall changes nothing)."""
    pipeline = ReflexPipeline(storage, BrainConfig(), reinforce=False, record_events=False)
    results = [await pipeline.query(q, reference_time=START) for q in QUESTIONS]
    return [[f.fiber_id for f in result.fibers] for result in results]


async def test_a_cold_open_recalls_what_the_index_kept_in_step_recalls(storage: Storage) -> None:
    await _fill(storage)
    live = await _top(storage)
    storage.release_brain(storage.brain_id)  # the next recall loads the index from storage
    assert await _top(storage) == live
    assert all(live)


async def _sqlite_brain(path: Path) -> tuple[str, list[list[str]]]:
    async with SQLiteStorage(path) as storage:
        brain = Brain.create("old")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await _fill(storage)
        return brain.id, await _top(storage)


async def _reopened(path: Path, brain_id: str) -> tuple[list[str | None], list[list[str]]]:
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        return (await storage.get_fiber_rows()).terms, await _top(storage)


async def test_an_sqlite_v2_brain_is_migrated_and_recalls(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    brain_id, before = await _sqlite_brain(path)
    with sqlite3.connect(path) as conn:  # back to version 2: no terms column, no v4 index
        conn.execute("DROP INDEX fibers_by_successor")
        conn.execute("ALTER TABLE fibers DROP COLUMN terms")
        conn.execute("PRAGMA user_version = 2")
    terms, after = await _reopened(path, brain_id)
    assert after == before
    assert None not in terms  # the migration stored every memory's terms
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        indexes = {row[1] for row in conn.execute("PRAGMA index_list(fibers)")}
        assert "fibers_by_successor" in indexes


async def test_memories_whose_terms_are_missing_or_stale_still_recall(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    brain_id, before = await _sqlite_brain(path)
    with sqlite3.connect(path) as conn:  # old rows, and terms of another tokeniser
        conn.execute("UPDATE fibers SET terms = NULL WHERE rowid % 3 = 0")
        conn.execute("UPDATE fibers SET terms = 'ffffffff dog' WHERE rowid % 3 = 1")
    terms, after = await _reopened(path, brain_id)
    assert after == before
    assert terms.count(None) >= 2 * len(terms) // 3 - 1
