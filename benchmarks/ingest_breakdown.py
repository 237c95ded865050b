"""Where bulk ingest spends its CPU: ``python -m benchmarks.ingest_breakdown``.

Encodes the synthetic memories of ``benchmarks.speed_data`` with ``encode_many`` (batches of
``--batch``, embeddings off) into InMemoryStorage and into SQLite, and prints the CPU time per
memory (this process, every thread; steadier than wall time on a shared machine) of:

- ``extraction``: :func:`~neural_memory.engine.extraction.extract` of every text alone
  (of which ``time expressions``: ``find_time_spans``);
- ``limits``: the storage-boundary check of each batch (``check_batch``);
- ``sqlite write``: SQLite's transaction (rows, statements, change log), of which ``sqlite
  commit``: its ``COMMIT`` (the WAL writes of every page the batch dirtied, and the
  checkpoints SQLite runs every 10,000 WAL pages);
- ``rows replayed``: SQLite storing the same rows again (the brain's neurons, synapses,
  fibers and ``fiber_neurons`` rows, read back as tuples) into a new database in as many
  transactions, with no Python check, row building or change log: the floor of SQLite's own
  work for these rows (of which ``replayed commits``: the ``COMMIT`` statements, WAL writes and
  checkpoints);
- ``collector (sqlite)``: the cyclic garbage collector's passes during the SQLite encode
  (timed from its callbacks; other threads' CPU meanwhile counts too);
- ``encode_many``: everything, per backend.

Run it with ``PYTHONPATH`` set to another checkout's ``src`` to get a same-run baseline of
that code (it times ``check_batch``, SQLite's ``write_batch`` and its ``write_transaction``,
so any version since the change log was kept in runs runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sqlite3
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import neural_memory.storage._sqlite_write as sqlite_write
import neural_memory.storage.base as storage_base
import neural_memory.storage.sqlite as sqlite_module
from benchmarks.speed_data import SyntheticMemory, make_memories
from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.extraction import extract
from neural_memory.engine.timeparse import find_time_spans
from neural_memory.storage import InMemoryStorage, SQLiteStorage, Storage


class _Clock:
    """CPU seconds spent inside the functions it wraps, by label."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = {}

    def wrap(self, label: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.spent[label] = self.spent.get(label, 0.0) + time.process_time() - started

        return timed


class _Collections:
    """CPU seconds spent in the cyclic garbage collector while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.spent = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.process_time()
        else:
            self.spent += time.process_time() - self._started


class _TimedExit:
    """A context manager's exit (a transaction's ``COMMIT``) timed into ``clock``."""

    def __init__(self, clock: _Clock, label: str, manager: AbstractContextManager[Any]) -> None:
        self._exit = clock.wrap(label, manager.__exit__)
        self._manager = manager

    def __enter__(self) -> Any:
        return self._manager.__enter__()

    def __exit__(self, *exc: Any) -> Any:
        return self._exit(*exc)


async def _encode(storage: Storage, memories: Sequence[SyntheticMemory], batch: int) -> float:
    """CPU seconds of encoding ``memories`` into a fresh brain of ``storage``."""
    async with storage:
        brain = Brain.create("breakdown")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None)
        started = time.process_time()
        for start in range(0, len(memories), batch):
            items = [
                MemoryInput(text=m.text, timestamp=m.at, metadata={"speaker": m.speaker})
                for m in memories[start : start + batch]
            ]
            await encoder.encode_many(items)
        return time.process_time() - started


_REPLAYED = ("neurons", "synapses", "fibers", "fiber_neurons")
"""The tables a bulk encode fills, in the order a write batch fills them."""


async def _replay_rows(source: Path, target: Path, parts: int) -> tuple[float, float]:
    """CPU seconds to store ``source``'s rows again in ``parts`` transactions, and of its commits.

    ``target`` gets the schema from SQLiteStorage, then the connection settings it uses for a
    batch write (WAL, NORMAL sync, 64 MiB cache, checkpoints every 10,000 pages, no foreign
    key checks); each transaction inserts the next part of every table (rowid order, the
    ``fiber_neurons`` part sorted, as the storage inserts them).
    """
    async with SQLiteStorage(target):
        pass  # creates the schema
    with sqlite3.connect(source) as conn:
        brains = conn.execute("SELECT * FROM brains").fetchall()
        tables = {
            table: conn.execute(f"SELECT * FROM {table} ORDER BY {order}").fetchall()
            for table, order in zip(_REPLAYED, ("rowid", "rowid", "rowid", "fiber_id"), strict=True)
        }
    conn = sqlite3.connect(target, isolation_level=None)
    try:
        for pragma in ("cache_size = -65536", "journal_mode = WAL", "synchronous = NORMAL"):
            conn.execute(f"PRAGMA {pragma}").fetchall()
        conn.execute("PRAGMA wal_autocheckpoint = 10000").fetchall()
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.executemany(_insert("brains", brains), brains)
        rows = commits = 0.0
        for part in range(parts):
            conn.execute("BEGIN IMMEDIATE")
            for table, found in tables.items():
                chunk = found[len(found) * part // parts : len(found) * (part + 1) // parts]
                if table == "fiber_neurons":
                    chunk.sort()
                rows += _cpu(lambda t=table, c=chunk: conn.executemany(_insert(t, c), c))
            commits += _cpu(lambda: conn.execute("COMMIT"))
    finally:
        conn.close()
    return rows + commits, commits


def _insert(table: str, rows: list[Any]) -> str:
    marks = ", ".join("?" * (len(rows[0]) if rows else 1))
    return f"INSERT INTO {table} VALUES ({marks})"


def _cpu(fn: Callable[[], object]) -> float:
    started = time.process_time()
    fn()
    return time.process_time() - started


async def run(count: int, batch: int, seed: int) -> None:
    """Measure and print the breakdown (microseconds of CPU per memory)."""
    memories = make_memories(count, seed=seed)
    rows: list[tuple[str, float]] = []
    rows.append(
        ("time expressions", _cpu(lambda: [find_time_spans(m.text, m.at) for m in memories]))
    )
    rows.append(
        ("extraction", _cpu(lambda: [extract(m.text, m.at, speaker=m.speaker) for m in memories]))
    )
    clock = _Clock()
    check, write = storage_base.check_batch, sqlite_module.write_batch
    storage_base.check_batch = clock.wrap("limits", check)  # type: ignore[assignment]
    sqlite_module.write_batch = clock.wrap("sqlite write", write)  # type: ignore[assignment]
    transaction = sqlite_write.write_transaction
    sqlite_write.write_transaction = lambda conn: _TimedExit(  # type: ignore[assignment]
        clock, "sqlite commit", transaction(conn)
    )
    try:
        memory_total = await _encode(InMemoryStorage(), memories, batch)
        limits_in_memory = clock.spent.get("limits", 0.0)
        with tempfile.TemporaryDirectory() as workdir:
            path = Path(workdir) / "b.db"
            collections = _Collections()
            gc.callbacks.append(collections)
            try:
                sqlite_total = await _encode(SQLiteStorage(path), memories, batch)
            finally:
                gc.callbacks.remove(collections)
            parts = -(-count // batch)
            replayed, commits = await _replay_rows(path, Path(workdir) / "r.db", parts)
    finally:
        storage_base.check_batch, sqlite_module.write_batch = check, write
        sqlite_write.write_transaction = transaction
    rows.append(("limits", limits_in_memory))
    rows.append(("sqlite write", clock.spent.get("sqlite write", 0.0)))
    rows.append(("sqlite commit", clock.spent.get("sqlite commit", 0.0)))
    rows.append(("rows replayed", replayed))
    rows.append(("replayed commits", commits))
    rows.append(("collector (sqlite)", collections.spent))
    rows.append(("encode_many memory", memory_total))
    rows.append(("encode_many sqlite", sqlite_total))
    print(f"{count:,} memories, batches of {batch:,}, embeddings off: CPU per memory")
    for label, seconds in rows:
        print(f"{label:<20} {seconds / count * 1e6:9.1f} us")


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_breakdown")
    parser.add_argument("--memories", type=int, default=5_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    asyncio.run(run(args.memories, args.batch, args.seed))


if __name__ == "__main__":
    main()
