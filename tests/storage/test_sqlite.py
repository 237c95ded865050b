"""Behaviour only the SQLite backend has: files, WAL, schema versions, several processes."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from neural_memory import Brain
from neural_memory.core import (
    Alert,
    AlertSeverity,
    AlertType,
    ChangeKind,
    MemoryType,
    Neuron,
    NeuronType,
    Project,
    RecallEvent,
    TypedMemory,
)
from neural_memory.errors import (
    AlreadyExistsError,
    NotFoundError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage import SQLiteStorage, WriteBatch
from neural_memory.storage import memory as memory_module
from neural_memory.storage.sqlite import _storage_error
from neural_memory.storage.sqlite_schema import SCHEMA_VERSION
from tests.processes import new_sqlite_brain, run_together
from tests.storage import _sqlite_workers as workers
from tests.storage.helpers import at, fiber, neuron, synapse, unrun_changes


async def _open(path: Path | str, **kw: float) -> SQLiteStorage:
    storage = SQLiteStorage(path, **kw)
    await storage.initialize()
    return storage


async def _with_brain(path: Path | str) -> SQLiteStorage:
    storage = await _open(path)
    brain = Brain.create("b")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return storage


# -- the file --------------------------------------------------------------------------------


async def test_creates_directories_and_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "er" / "brain.db"
    async with SQLiteStorage(path) as storage:
        assert storage.path == str(path)
        await storage.save_brain(Brain.create("b"))
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


async def test_everything_survives_close_and_reopen(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    storage = await _with_brain(path)
    brain = await storage.get_brain(storage.brain_id)
    a, b = neuron("a", metadata={"k": [1, 2]}), neuron("b")
    s, f = synapse(a, b, weight=0.7), fiber(a, b, tags={"t"}, content="a and b")
    memory = TypedMemory.create(f.id, MemoryType.INSIGHT, tags={"x"}, created_at=at(1))
    project = Project.create("p", duration_days=3, created_at=at(2))
    alert = Alert.create(AlertType.STALE_FIBERS, AlertSeverity.INFO, "old", created_at=at(3))
    event = RecallEvent.create("what about a?", [f.id], confidence=0.5, created_at=at(4))
    seq = await storage.write(
        WriteBatch(
            insert_neurons=(a, b),
            insert_synapses=(s,),
            insert_fibers=(f,),
            put_typed_memories=(memory,),
            put_projects=(project,),
        )
    )
    await storage.add_alerts([alert])
    await storage.add_recall_event(event)
    await storage.set_meta("m", {"v": 1})
    changes = await storage.get_changes(0)
    await storage.close()

    async with SQLiteStorage(path) as again:
        assert await again.list_brains() == [brain]
        again.set_brain(brain.id)  # type: ignore[union-attr]
        assert await again.get_neurons([a.id, b.id]) == {a.id: a, b.id: b}
        assert await again.get_synapse(s.id) == s
        assert await again.get_fiber(f.id) == f
        assert await again.find_fibers(neuron_id=a.id) == [f]
        assert await again.get_typed_memory(memory.id) == memory
        assert await again.list_projects() == [project]
        assert await again.get_alerts() == [alert]
        assert await again.get_recall_events() == [event]
        assert await again.get_meta("m") == {"v": 1}
        assert await again.get_change_seq() == seq
        assert await again.get_changes(0) == changes
        assert await again.write(WriteBatch(delete_fiber_ids=(f.id,))) == seq + 1


def test_a_brain_survives_a_process_restart(tmp_path: Path) -> None:
    path = str(tmp_path / "brain.db")
    child = multiprocessing.get_context("spawn").Process(
        target=workers.write_one_memory, args=(path, "brain-1")
    )
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 0

    async def read() -> None:
        async with SQLiteStorage(path) as storage:
            storage.set_brain("brain-1")
            memory = await storage.get_fiber("f-persisted")
            assert memory is not None
            assert len(await storage.get_neurons(memory.neuron_ids)) == 2
            assert len(await storage.get_synapses_by_id(memory.synapse_ids)) == 1
            found = await storage.get_typed_memories_for_fibers([memory.id])
            assert found[memory.id].memory_type is MemoryType.DECISION
            assert await storage.get_meta("written-by") == "child process"
            assert await storage.get_change_seq() == 4

    asyncio.run(read())


async def test_memory_database(tmp_path: Path) -> None:
    async with SQLiteStorage(":memory:") as storage:
        brain = Brain.create("b")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await storage.add_neuron(neuron("a"))
        assert len(await storage.find_neurons()) == 1


# -- failures to open ------------------------------------------------------------------------


def _unusable_paths(tmp_path: Path) -> dict[str, Path]:
    regular = tmp_path / "regular-file"
    regular.write_text("not a directory")
    directory = tmp_path / "a-directory"
    directory.mkdir()
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"this is not an SQLite database, just bytes" * 100)
    return {
        "under a regular file": regular / "sub" / "brain.db",
        "under /proc": Path("/proc/neural-memory-test/brain.db"),
        "a directory": directory,
        "not a database": garbage,
    }


@pytest.mark.parametrize(
    "case", ["under a regular file", "under /proc", "a directory", "not a database"]
)
async def test_unusable_path_raises_unavailable(tmp_path: Path, case: str) -> None:
    if case == "under /proc" and not sys.platform.startswith("linux"):
        pytest.skip("/proc is a Linux file system")
    path = _unusable_paths(tmp_path)[case]
    threads = threading.active_count()
    storage = SQLiteStorage(path)
    with pytest.raises(StorageUnavailableError, match=str(path)):
        await storage.initialize()
    assert threading.active_count() == threads
    assert not storage.closed  # nothing was opened; initialize() may be retried


async def test_newer_schema_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    async with SQLiteStorage(path) as storage:
        await storage.save_brain(Brain.create("b"))
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    threads = threading.active_count()
    with pytest.raises(StorageError, match="newer"):
        await SQLiteStorage(path).initialize()
    assert threading.active_count() == threads


async def test_a_v5_database_is_migrated_to_record_versions(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    brain = Brain.create("b")
    async with SQLiteStorage(path) as storage:
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await storage.add_neuron(neuron("kept"))
        seq = await storage.get_change_seq()
    with sqlite3.connect(path) as raw:  # back to version 5: brains had no record version
        raw.execute("ALTER TABLE brains DROP COLUMN record_version")
        unrun_changes(raw)
        raw.execute("PRAGMA user_version = 5")
    async with SQLiteStorage(path) as storage:
        assert await storage.get_brain(brain.id) == brain
        before = await storage.get_brain_version(brain.id)
        assert before.change_seq == seq
        await storage.save_brain(brain.with_name("renamed"))
        after = await storage.get_brain_version(brain.id)
        assert after.record > before.record
        assert after.change_seq == seq
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7


async def test_database_of_another_application_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as raw:
        raw.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY)")
    with pytest.raises(StorageError, match="another application"):
        await SQLiteStorage(path).initialize()
    with sqlite3.connect(path) as raw:
        tables = raw.execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == [("invoices",)]


def test_constructor_validates_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValidationError):
        SQLiteStorage(42)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        SQLiteStorage("")
    with pytest.raises(ValidationError):
        SQLiteStorage(tmp_path / "b.db", timeout=-1)


# -- resources and errors ----------------------------------------------------------------------


async def test_close_stops_the_connection_thread(tmp_path: Path) -> None:
    threads = threading.active_count()
    storage = await _with_brain(tmp_path / "brain.db")
    assert threading.active_count() == threads + 1
    await storage.close()
    assert threading.active_count() == threads


def test_a_storage_never_closed_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    script = f"""
import asyncio
from neural_memory import Brain
from neural_memory.storage import SQLiteStorage

KEEP = []

async def main():
    storage = SQLiteStorage({str(path)!r})
    await storage.initialize()
    await storage.save_brain(Brain.create("kept", brain_id="b-1"))
    KEEP.append(storage)  # never closed

asyncio.run(main())
"""
    done = subprocess.run(
        [sys.executable, "-W", "ignore::ResourceWarning", "-c", script],
        timeout=120,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    async def read() -> None:
        async with SQLiteStorage(path) as storage:
            assert [b.id for b in await storage.list_brains()] == ["b-1"]

    asyncio.run(read())


async def test_busy_database_times_out_as_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    storage = await _with_brain(path)
    other = await _open(path, timeout=0.2)
    other.set_brain(storage.brain_id)
    with sqlite3.connect(path, isolation_level=None) as raw:
        raw.execute("BEGIN IMMEDIATE")  # another process holding the write lock
        started = time.monotonic()
        with pytest.raises(StorageUnavailableError, match="locked"):
            await other.add_neuron(neuron("a"))
        assert time.monotonic() - started >= 0.15
        raw.execute("ROLLBACK")
    await other.add_neuron(neuron("a"))
    assert await storage.get_neuron(neuron("a").id) is not None
    await other.close()
    await storage.close()


async def test_metadata_must_be_json(tmp_path: Path) -> None:
    storage = await _with_brain(tmp_path / "brain.db")
    try:
        bad = neuron("b", metadata={"when": object()})
        with pytest.raises(ValidationError, match="JSON"):
            await storage.write(WriteBatch(insert_neurons=(neuron("a"), bad)))
        assert await storage.find_neurons() == []
        assert await storage.get_change_seq() == 0
        with pytest.raises(ValidationError):
            await storage.set_meta("k", {1, 2})
    finally:
        await storage.close()


def test_sqlite_errors_map_to_storage_errors() -> None:
    raw = sqlite3.connect(":memory:")
    raw.execute("PRAGMA foreign_keys = ON")
    raw.execute("CREATE TABLE p (id TEXT PRIMARY KEY)")
    raw.execute("CREATE TABLE c (id TEXT PRIMARY KEY, p TEXT REFERENCES p (id))")
    raw.execute("INSERT INTO p VALUES ('x')")
    for sql, expected in (
        ("INSERT INTO p VALUES ('x')", AlreadyExistsError),
        ("INSERT INTO c VALUES ('c', 'missing')", NotFoundError),
        ("SELECT * FROM no_such_table", StorageError),
    ):
        with pytest.raises(sqlite3.Error) as caught:
            raw.execute(sql)
        mapped = _storage_error(caught.value, "brain.db")
        assert type(mapped) is expected
    raw.close()


# -- references without foreign-key checks -------------------------------------------------


def _orphans(path: Path) -> list[tuple[object, ...]]:
    """What SQLite's own foreign-key check finds in the file (synapses naming no neuron)."""
    with sqlite3.connect(path) as raw:
        return list(raw.execute("PRAGMA foreign_key_check"))


async def test_batch_writes_leave_no_orphan_synapses(tmp_path: Path) -> None:
    # Batches are written with SQLite's foreign-key checks off (the batch code checks every
    # reference itself); the file must still pass SQLite's own check after every outcome.
    path = tmp_path / "brain.db"
    storage = await _with_brain(path)
    try:
        a, b, c = neuron("a"), neuron("b"), neuron("c")
        await storage.write(
            WriteBatch(insert_neurons=(a, b), insert_synapses=(synapse(a, b), synapse(b, a)))
        )
        with pytest.raises(NotFoundError, match="missing neuron"):  # c is stored nowhere
            await storage.write(WriteBatch(ensure_synapses=(synapse(a, c),)))
        with pytest.raises(NotFoundError, match="missing neurons"):  # fails after its checks
            await storage.write(
                WriteBatch(
                    insert_neurons=(c,),
                    insert_synapses=(synapse(a, c),),
                    insert_fibers=(fiber(c, neuron("nowhere")),),
                )
            )
        assert await storage.get_neuron(c.id) is None
        assert len(await storage.get_synapses()) == 2
        assert _orphans(path) == []
        await storage.write(WriteBatch(delete_neuron_ids=(b.id,)))  # its synapses go with it
        assert await storage.get_synapses() == []
        assert _orphans(path) == []
        brain = Brain.create("copy")
        with pytest.raises(NotFoundError):
            await storage.create_brain(brain, WriteBatch(insert_synapses=(synapse(a, c),)))
        assert await storage.get_brain(brain.id) is None
        assert _orphans(path) == []
        # the connection's own checks are back on between batches
        on = await storage._run(lambda conn: conn.execute("PRAGMA foreign_keys").fetchone()[0])
        assert on == 1
    finally:
        await storage.close()


# -- the change log in runs -----------------------------------------------------------------


async def test_a_batch_logs_its_changes_in_at_most_three_runs(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    storage = await _with_brain(path)
    try:
        odd = Neuron(id='n-"quoted\\', type=NeuronType.CONCEPT, content="odd", created_at=at(0))
        many = tuple(neuron(f"w{i}") for i in range(50))
        links = tuple(synapse(a, b) for a, b in itertools.pairwise(many))
        seq = await storage.write(
            WriteBatch(
                insert_neurons=(*many, odd), insert_synapses=links, insert_fibers=(fiber(*many),)
            )
        )
        assert seq == 51 + 49 + 1
        with sqlite3.connect(path) as raw:
            runs = list(raw.execute("SELECT first_seq, last_seq, kind FROM change_runs"))
        assert runs == [(1, 51, "neuron"), (52, 100, "synapse"), (101, 101, "fiber")]
        changes = await storage.get_changes(0)
        assert changes is not None and [c.seq for c in changes] == list(range(1, 102))
        neuron_ids = sorted([*(n.id for n in many), odd.id])
        assert [c.entity_id for c in changes[:51]] == neuron_ids
        assert await storage.get_changes(60) == changes[60:]  # from inside a run
    finally:
        await storage.close()


async def test_trimming_cuts_the_run_it_reaches_into(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_module, "CHANGE_LOG_LIMIT", 40)
    path = tmp_path / "brain.db"
    storage = await _with_brain(path)
    try:
        first = tuple(neuron(f"a{i:02d}") for i in range(30))
        await storage.write(WriteBatch(insert_neurons=first))  # seqs 1-30
        await storage.write(WriteBatch(insert_neurons=tuple(neuron(f"b{i}") for i in range(30))))
        assert await storage.get_changes(19) is None  # 1-20 trimmed: exactly 40 kept
        kept = await storage.get_changes(20)
        assert kept is not None and [c.seq for c in kept] == list(range(21, 61))
        assert [c.entity_id for c in kept[:10]] == sorted(n.id for n in first)[20:]
        with sqlite3.connect(path) as raw:
            runs = list(raw.execute("SELECT first_seq, last_seq FROM change_runs ORDER BY 2"))
        assert runs == [(21, 30), (31, 60)]
    finally:
        await storage.close()


async def test_a_change_log_of_single_entries_is_migrated_to_runs(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    storage = await _with_brain(path)
    brain_id = storage.brain_id
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    memory = fiber(a, c)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(synapse(a, b),)))
    await storage.write(WriteBatch(insert_neurons=(c,), insert_fibers=(memory,)))
    before = await storage.get_changes(0)
    await storage.close()
    with sqlite3.connect(path) as raw:  # as the version before runs wrote it
        unrun_changes(raw)
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    storage = await _open(path)
    try:
        storage.set_brain(brain_id)
        assert await storage.get_changes(0) == before
        assert await storage.get_changes(2) == (before or [])[2:]
        seq = await storage.write(WriteBatch(delete_fiber_ids=(memory.id,)))
        assert seq == len(before or []) + 1
        with sqlite3.connect(path) as raw:
            assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            tables = {row[0] for row in raw.execute("SELECT name FROM sqlite_master")}
        assert "changes" not in tables and "change_runs" in tables
    finally:
        await storage.close()


# -- several writers -----------------------------------------------------------------------


async def test_two_storages_on_one_file_see_each_other(tmp_path: Path) -> None:
    path = tmp_path / "brain.db"
    one = await _with_brain(path)
    two = await _open(path)
    two.set_brain(one.brain_id)
    a, b = neuron("a"), neuron("b")
    seq = await one.write(WriteBatch(insert_neurons=(a,)))
    assert await two.write(WriteBatch(insert_neurons=(b,))) == seq + 1
    assert await one.get_change_seq() == seq + 1
    assert await one.get_neuron(b.id) == b
    changes = await one.get_changes(0)
    assert changes is not None
    assert [c.entity_id for c in changes] == [a.id, b.id]
    await one.close()
    await two.close()


async def test_concurrent_writes_on_one_storage(tmp_path: Path) -> None:
    storage = await _with_brain(tmp_path / "brain.db")
    try:
        batches = [WriteBatch(insert_neurons=(neuron(f"n{i}"),)) for i in range(50)]
        seqs = await asyncio.gather(*(storage.write(b) for b in batches))
        assert sorted(seqs) == list(range(1, 51))
        assert len(await storage.find_neurons()) == 50
    finally:
        await storage.close()


def test_two_processes_write_one_brain(tmp_path: Path) -> None:
    path = str(tmp_path / "shared.db")
    brain = new_sqlite_brain(path, "shared")
    count = 200
    codes = run_together(workers.write_fibers, [(path, brain.id, w, count) for w in (1, 2)])
    assert codes == [0, 0]

    async def check() -> None:
        async with SQLiteStorage(path) as storage:
            storage.set_brain(brain.id)
            fibers = await storage.find_fibers()
            assert {f.id for f in fibers} == {f"f-{w}-{i}" for w in (1, 2) for i in range(count)}
            wanted = {n for f in fibers for n in f.neuron_ids}
            assert len(wanted) == workers.SHARED_NEURONS + 2 * count
            assert set(await storage.get_neurons(wanted)) == wanted
            changes = await storage.get_changes(0)
            assert changes is not None
            seqs = [c.seq for c in changes]
            assert seqs == list(range(1, len(seqs) + 1))
            assert len(seqs) == await storage.get_change_seq() > 2 * count
            assert {c.entity_id for c in changes} >= {f.id for f in fibers}
            writers = [c.entity_id.split("-")[1] for c in changes if c.kind is ChangeKind.FIBER]
            assert sum(x != y for x, y in itertools.pairwise(writers)) > 1  # they interleaved
            # Every process's reinforcement of the shared synapse counted: nothing was lost.
            # The one batch that created it did not reinforce it (deltas move stored synapses).
            hub = await storage.get_synapse(workers.shared_synapse().id)
            assert hub is not None
            assert hub.reinforced_count == 2 * count - 1
            assert hub.weight == pytest.approx(0.5 + (2 * count - 1) * 0.001)

    asyncio.run(check())
