"""Bulk ingest into SQLite and PostgreSQL: ``python -m benchmarks.postgres_ingest``.

Encodes the same synthetic memories (``benchmarks.speed_data``) with ``encode_many`` in
batches of ``--batch`` (1,000 by default, embeddings off) into a fresh brain of each backend,
in the same run, and prints memories per second of wall time and of this process's CPU time
(steadier on a shared machine) and the median / slowest batch. The same run
into InMemoryStorage is the baseline: the engine's own share of the time. Without
``--dsn`` a throwaway PostgreSQL cluster is started (``tests/postgres_server.py``: fsync off,
like the test suite) and removed afterwards; pass ``--dsn`` to measure a real server.

Rows ``2p`` encode the same batches with ``encode_batches`` and a planner process (spawned
and warm before the clock starts): the next batch's texts are extracted there while one batch
is written, so two cores share the work; their per-CPU-second rate counts this process only
(the loop's, the critical path), and the planner process's own CPU is printed beside it.

Then the memory brain's snapshot (JSON text) is imported into each backend as ``nmem
import`` does (parse, checks, one transaction), and its rate printed the same way.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
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


async def pipelined(
    storage: Storage, memories: Sequence[SyntheticMemory], batch: int
) -> tuple[list[float], float, float]:
    """:func:`ingest` with ``encode_batches`` and a planner process (a second core).

    Returns each batch's wall seconds, the CPU seconds of this process and those of the
    planner process (measured inside it: its start-up is not counted).
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=context) as planner:
        planner_started = planner.submit(time.process_time).result()  # started and warm
        (seconds, cpu), _ = await _ingest(storage, memories, batch, planner)
        planner_cpu = planner.submit(time.process_time).result() - planner_started
    return seconds, cpu, planner_cpu


def _batches(memories: Sequence[SyntheticMemory], batch: int) -> list[list[MemoryInput]]:
    return [
        [
            MemoryInput(text=m.text, timestamp=m.at, metadata={"speaker": m.speaker})
            for m in memories[start : start + batch]
        ]
        for start in range(0, len(memories), batch)
    ]


async def _ingest(
    storage: Storage,
    memories: Sequence[SyntheticMemory],
    batch: int,
    planner: ProcessPoolExecutor | None = None,
) -> tuple[tuple[list[float], float], str]:
    """:func:`ingest` (with ``encode_batches`` in ``planner`` if given), and the snapshot JSON
    of the brain it filled."""
    async with storage:
        brain = Brain.create("ingest")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None, planner=planner)
        batches = _batches(memories, batch)
        seconds = []
        cpu_started = time.process_time()
        started = time.perf_counter()
        if planner is None:
            for items in batches:
                await encoder.encode_many(items)
                seconds.append(time.perf_counter() - started)
                started = time.perf_counter()
        else:
            async for _ in encoder.encode_batches(batches):
                seconds.append(time.perf_counter() - started)
                started = time.perf_counter()
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
        seconds, cpu, planner_cpu = await pipelined(
            SQLiteStorage(Path(workdir) / "pipelined.db"), data, batch
        )
        print(row("sqlite 2p", memories, (seconds, cpu)), _planner_share(memories, planner_cpu))
        imported = await import_snapshot(SQLiteStorage(Path(workdir) / "import.db"), snapshot)
        imports.append(("sqlite", imported))
    schema = f"ingest_{uuid.uuid4().hex[:8]}"
    try:
        measured = await ingest(PostgresStorage(dsn, schema=schema), data, batch)
        print(row("postgres", memories, measured))
        seconds, cpu, planner_cpu = await pipelined(
            PostgresStorage(dsn, schema=f"{schema}_2p"), data, batch
        )
        print(row("postgres 2p", memories, (seconds, cpu)), _planner_share(memories, planner_cpu))
        imports.append(
            ("postgres", await import_snapshot(PostgresStorage(dsn, schema=schema), snapshot))
        )
    finally:
        await run_sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await run_sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}_2p" CASCADE')
    print(f"import of the snapshot of the memory brain ({fibers:,} memories, from JSON text):")
    for name, measured in imports:
        print(row(name, fibers, measured))


def _planner_share(count: int, planner_cpu: float) -> str:
    return f" planner process: {planner_cpu / count * 1e6:,.0f} us CPU per memory"


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
