"""Cold open: an index loaded from storage's columns recalls like one kept in step."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from neural_memory import Brain, BrainConfig
from neural_memory.engine import handle as handle_module
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.engine.retrieval import _snapshot as snapshot_module
from neural_memory.storage import SQLiteStorage, Storage
from neural_memory.storage.sqlite_schema import SCHEMA_VERSION
from tests.engine.test_retrieval import START, TEAM_FACTS, filler
from tests.storage.helpers import unrun_changes

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
        conn.execute("ALTER TABLE brains DROP COLUMN record_version")
        unrun_changes(conn)
        conn.execute("DROP TABLE index_snapshots")
        conn.execute("DROP INDEX fibers_by_successor")
        conn.execute("ALTER TABLE fibers DROP COLUMN terms")
        conn.execute("PRAGMA user_version = 2")
    terms, after = await _reopened(path, brain_id)
    assert after == before
    assert None not in terms  # the migration stored every memory's terms
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
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


# -- index snapshots ------------------------------------------------------------------------


async def _snapshotted_brain(path: Path) -> str:
    """An SQLite brain whose index snapshot is stored, then changed by a later writer."""
    async with SQLiteStorage(path) as storage:
        brain = Brain.create("snapshotted")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await _fill(storage)
        await _top(storage)
        assert await BrainHandle.of(storage).save_index_snapshot()
    async with SQLiteStorage(path) as storage:  # another process, after the snapshot
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, BrainConfig())
        await encoder.encode("Cleo adopted a second dog, a beagle", timestamp=START)
        await encoder.encode("Dan moved to the platform team", timestamp=START)
        dogs = [f.id for f in await storage.find_fibers() if "dog" in f.content]
        await storage.delete_fiber(dogs[0])
    return brain.id


async def _reopened_top(path: Path, brain_id: str) -> tuple[int, list[list[str]]]:
    """The top memories of a new process, and the seq of the snapshot it loaded (-1: none)."""
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        top = await _top(storage)
        return BrainHandle.of(storage).index().snapshot_seq, top


async def test_an_index_loaded_from_its_snapshot_recalls_as_a_rebuilt_one(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    brain_id = await _snapshotted_brain(path)
    loaded_from, loaded = await _reopened_top(path, brain_id)
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM index_snapshots")
    rebuilt_from, rebuilt = await _reopened_top(path, brain_id)
    assert loaded_from > 0 and rebuilt_from == -1
    assert loaded == rebuilt
    assert all(loaded)


@pytest.mark.parametrize(
    "spoil",
    [
        "UPDATE index_snapshots SET data = CAST(substr(data, 1, 99) || x'00ff' || substr(data, 102)"
        " AS BLOB)",
        "UPDATE index_snapshots SET data = substr(data, 1, length(data) / 2)",
        "UPDATE index_snapshots SET data = CAST(x'00' || substr(data, 2) AS BLOB)",
        "DELETE FROM change_runs",  # the log no longer reaches back to the snapshot
        "UPDATE index_snapshots SET seq = seq + 1000",  # newer than the brain
    ],
)
async def test_a_snapshot_that_does_not_fit_is_ignored(tmp_path: Path, spoil: str) -> None:
    path = tmp_path / "brain.db"
    brain_id = await _snapshotted_brain(path)
    _, expected = await _reopened_top(path, brain_id)
    with sqlite3.connect(path) as conn:
        conn.execute(spoil)
    loaded_from, top = await _reopened_top(path, brain_id)
    assert loaded_from == -1
    assert top == expected


async def test_closing_the_storage_saves_the_snapshot_of_a_large_enough_brain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "brain.db"
    async with SQLiteStorage(path) as storage:
        brain = Brain.create("closing")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await _fill(storage)
        await _top(storage)
        monkeypatch.setattr(handle_module, "SNAPSHOT_MIN_MEMORIES", 10_000)
    async with SQLiteStorage(path) as storage:  # too small: nothing saved
        storage.set_brain(brain.id)
        assert await storage.get_index_snapshot() is None
        await _top(storage)
        monkeypatch.setattr(handle_module, "SNAPSHOT_MIN_MEMORIES", 10)
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain.id)
        snapshot = await storage.get_index_snapshot()
        assert snapshot is not None and snapshot.seq == await storage.get_change_seq()
        await _top(storage)  # loaded from it, nothing changed: not saved again
        monkeypatch.setattr(handle_module, "SNAPSHOT_MIN_CHANGES", 1)
        await MemoryEncoder(storage, BrainConfig()).encode("Eve joined", timestamp=START)
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain.id)
        latest = await storage.get_index_snapshot()
        assert latest is not None and latest.seq == await storage.get_change_seq() > snapshot.seq


async def test_a_snapshot_of_another_tokeniser_is_ignored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "brain.db"
    brain_id = await _snapshotted_brain(path)
    _, expected = await _reopened_top(path, brain_id)
    monkeypatch.setattr(snapshot_module, "TERMS_VERSION", "another tokeniser")
    loaded_from, top = await _reopened_top(path, brain_id)
    assert loaded_from == -1
    assert top == expected
