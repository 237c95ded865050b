"""Bulk ingest into SQLite and PostgreSQL: ``python -m benchmarks.postgres_ingest``.

Encodes the same synthetic memories (``benchmarks.speed_data``) with ``encode_many`` in
batches of ``--batch`` (1,000 by default, embeddings off) into a fresh brain of each backend,
in the same run, and prints memories per second of wall time and of this process's CPU time
(steadier on a shared machine) and the median / slowest batch. The same run
into InMemoryStorage is the baseline: the engine's own share of the time. Without
``--dsn`` a throwaway PostgreSQL cluster is started (``tests/postgres_server.py``: fsync off,
like the test suite) and removed afterwards; pass ``--dsn`` to measure a real server.

Then the memory brain's snapshot (JSON text) is imported into each backend as ``nmem
import`` does (parse, checks, one transaction), and its rate printed the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

from benchmarks.scale import run_sql
from benchmarks.speed_data import SyntheticMemory, make_memories
from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.sharing import BrainExporter, BrainImporter
from neural_memory.storage import InMemoryStorage, PostgresStorage, SQLiteStorage, Storage


async def ingest(
    storage: Storage, memories: Sequence[SyntheticMemory], batch: int
) -> tuple[list[float], float]:
    """Encode ``memories`` into a fresh brain of ``storage``.

    Returns each batch's wall seconds and the CPU seconds of the whole ingest.
    """
    measured, _ = await _ingest(storage, memories, batch)
    return measured


async def _ingest(
    storage: Storage, memories: Sequence[SyntheticMemory], batch: int
) -> tuple[tuple[list[float], float], str]:
    """:func:`ingest`, and the snapshot JSON of the brain it filled."""
    async with storage:
        brain = Brain.create("ingest")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None)  # lexical, as measured
        seconds = []
        cpu_started = time.process_time()
        for start in range(0, len(memories), batch):
            items = [
                MemoryInput(text=m.text, timestamp=m.at, metadata={"speaker": m.speaker})
                for m in memories[start : start + batch]
            ]
            started = time.perf_counter()
            await encoder.encode_many(items)
            seconds.append(time.perf_counter() - started)
        cpu = time.process_time() - cpu_started
        stats = await storage.get_stats()
        assert stats.fiber_count > 0.9 * len(memories), stats
        snapshot = await BrainExporter().export(storage, brain.id)
        return (seconds, cpu), snapshot.to_json()


async def import_snapshot(storage: Storage, text: str) -> tuple[list[float], float]:
    """Import the snapshot JSON ``text`` into a new brain of ``storage``, as ``nmem import``.

    Returns the wall seconds (one item: the whole import, parse and checks included) and
    the CPU seconds of this process.
    """
    async with storage:
        cpu_started = time.process_time()
        started = time.perf_counter()
        await BrainImporter().import_brain(storage, text, str(uuid.uuid4()))
        return [time.perf_counter() - started], time.process_time() - cpu_started


def row(name: str, count: int, measured: tuple[list[float], float]) -> str:
    """One table row: memories per wall second and per CPU second, median and slowest batch."""
    seconds, cpu = measured
    rate, cpu_rate = count / sum(seconds), count / cpu if cpu > 0 else float("inf")
    median = statistics.median(seconds) * 1e3
    return (
        f"{name:<10} {rate:>12,.0f} {cpu_rate:>12,.0f} {median:>12.1f} {max(seconds) * 1e3:>12.1f}"
    )


async def run(memories: int, batch: int, dsn: str, seed: int) -> None:
    """Ingest ``memories`` into SQLite, then PostgreSQL at ``dsn``, and print the table."""
    data = make_memories(memories, seed=seed)
    print(f"{memories:,} memories, encode_many batches of {batch:,}, embeddings off")
    print(
        f"{'backend':<10} {'memories/s':>12} {'per CPU-s':>12} {'median ms':>12} {'max ms':>12}"
        "  (ms per batch)"
    )
    measured, snapshot = await _ingest(InMemoryStorage(), data, batch)
    print(row("memory", memories, measured))
    fibers = snapshot.count('"anchor_neuron_id"')  # one per memory stored
    imports: list[tuple[str, tuple[list[float], float]]] = []
    with tempfile.TemporaryDirectory() as workdir:
        measured = await ingest(SQLiteStorage(Path(workdir) / "ingest.db"), data, batch)
        print(row("sqlite", memories, measured))
        imported = await import_snapshot(SQLiteStorage(Path(workdir) / "import.db"), snapshot)
        imports.append(("sqlite", imported))
    schema = f"ingest_{uuid.uuid4().hex[:8]}"
    try:
        measured = await ingest(PostgresStorage(dsn, schema=schema), data, batch)
        print(row("postgres", memories, measured))
        imports.append(
            ("postgres", await import_snapshot(PostgresStorage(dsn, schema=schema), snapshot))
        )
    finally:
        await run_sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    print(f"import of the snapshot of the memory brain ({fibers:,} memories, from JSON text):")
    for name, measured in imports:
        print(row(name, fibers, measured))


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments, start a throwaway server if needed, run the benchmark."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.postgres_ingest")
    parser.add_argument("--memories", type=int, default=20_000)
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--dsn", help="a PostgreSQL DSN (default: start a throwaway cluster)")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    if args.dsn:
        asyncio.run(run(args.memories, args.batch, args.dsn, args.seed))
        return
    from tests.postgres_server import SESSION_POSTGRES

    server = SESSION_POSTGRES.get()
    try:
        dsn = server.url("postgres", driver="postgresql")
        asyncio.run(run(args.memories, args.batch, dsn, args.seed))
    finally:
        SESSION_POSTGRES.stop()


if __name__ == "__main__":
    main()
