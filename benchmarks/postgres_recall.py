"""Statements and CPU per recall on PostgreSQL: ``python -m benchmarks.postgres_recall``.

Runs ``--queries`` generated recalls (``benchmarks.speed_data``, embeddings off) on a brain in
PostgreSQL and prints, per recall, the SQL statements the storage sent (each a round trip;
by kind, with each kind's median round trip), its pool checkouts (before asyncpg's reset
query was turned off, each checkout cost one more round trip on release), this process's
CPU milliseconds and the wall p50 / p95; then the CPU seconds closing the storage took
(it saves the brain's index snapshot when recall moved it on enough). The brain is the one
``python -m benchmarks.scale --workdir DIR --keep`` kept for ``--size`` (schema
``scale_<size>``) when ``--workdir`` is given, else a fresh one of ``--size`` memories in a
throwaway schema. Run it with
``PYTHONPATH`` on a baseline tree for the figures beside it. Without ``--dsn`` a throwaway
PostgreSQL cluster is started (``tests/postgres_server.py``). ``--sqlite`` runs the same
recalls, timed the same way, on the SQLite brain ``benchmarks.scale`` kept in ``--workdir``.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import re
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from benchmarks.scale import Kept, fill, percentile, run_sql
from benchmarks.speed_data import REFERENCE_TIME, make_queries
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import PostgresStorage, SQLiteStorage, Storage

_WORDS = re.compile(r"\s+")


class CountingStorage(PostgresStorage):
    """PostgresStorage counting each statement it sends, by its first words."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.statements: collections.Counter[str] = collections.Counter()
        self.elapsed: dict[str, list[float]] = collections.defaultdict(list)
        self.checkouts = 0

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        self.checkouts += 1
        async with super()._connection() as conn:
            conn.add_query_logger(self._log)
            try:
                yield conn
            finally:
                conn.remove_query_logger(self._log)

    def _log(self, record: Any) -> None:
        kind = _WORDS.sub(" ", record.query).strip()[:70]
        self.statements[kind] += 1
        self.elapsed[kind].append(record.elapsed)


async def measure(storage: Storage, brain_id: str, count: int) -> dict[str, Any]:
    """Statements (by kind), CPU ms and wall seconds of ``count`` recalls, per recall.

    Statements are counted on a :class:`CountingStorage` only (none for another storage).
    """
    brain = await storage.get_brain(brain_id)
    assert brain is not None
    pipeline = ReflexPipeline(storage.for_brain(brain_id), brain.config, embedder=None)
    await pipeline.query("What happened last week?", reference_time=REFERENCE_TIME)
    await asyncio.sleep(0.5)  # the warm-up's write-back
    counted = storage if isinstance(storage, CountingStorage) else None
    if counted is not None:
        counted.statements.clear()
        counted.elapsed.clear()
        counted.checkouts = 0
    wall = []
    cpu_started = time.process_time()
    for query in make_queries(count, seed=11):
        started = time.perf_counter()
        await pipeline.query(query.text, reference_time=REFERENCE_TIME)
        wall.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu_started
    await asyncio.sleep(0.5)  # write-backs still in flight count too
    statements = counted.statements if counted is not None else collections.Counter()
    return {
        "statements": sum(statements.values()) / count,
        "checkouts": counted.checkouts / count if counted is not None else 0,
        "kinds": {
            k: (v / count, statistics.median(counted.elapsed[k]) * 1e3)
            for k, v in statements.most_common()
            if counted is not None
        },
        "cpu_ms": cpu * 1e3 / count,
        "p50_ms": statistics.median(wall) * 1e3,
        "p95_ms": percentile(wall, 0.95) * 1e3,
    }


async def run(args: argparse.Namespace, dsn: str) -> None:
    """Measure on the kept brain of ``--size``, or on a fresh one."""
    if args.sqlite:
        if args.workdir is None:
            raise SystemExit("--sqlite needs --workdir")
        kept = Kept.load(args.workdir / f"sqlite-{args.size}.json")
        if kept is None:
            raise SystemExit(f"no kept SQLite brain of {args.size} in {args.workdir}")
        async with SQLiteStorage(args.workdir / f"scale-{args.size}.db") as sqlite:
            await measure_and_close(sqlite, kept.brain_id, args.queries)
        return
    if args.workdir is not None:
        note = Kept.load(args.workdir / f"postgres-{args.size}.json")
        if note is None:
            raise SystemExit(f"no kept PostgreSQL brain of {args.size} in {args.workdir}")
        async with CountingStorage(dsn, schema=f"scale_{args.size}") as storage:
            await measure_and_close(storage, note.brain_id, args.queries)
        return
    schema = f"recall_{uuid.uuid4().hex[:8]}"
    try:
        async with CountingStorage(dsn, schema=schema) as storage:
            kept = await fill(storage, args.size, 1_000, None)
            await measure_and_close(storage, kept.brain_id, args.queries)
    finally:
        await run_sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def measure_and_close(storage: Storage, brain_id: str, count: int) -> None:
    """Measure ``count`` recalls, close ``storage`` (timed: it saves the index snapshot), print."""
    result = await measure(storage, brain_id, count)
    closing = time.process_time()
    await storage.close()  # safe to call twice: the caller's ``async with`` closes it again
    report(result, time.process_time() - closing)


def report(result: dict[str, Any], closing: float) -> None:
    """Print the figures (``closing``: CPU seconds the storage's close took)."""
    sent = result["kinds"]  # none on SQLite
    counts = (
        f"{result['statements']:.2f} statements on {result['checkouts']:.2f} pool checkouts, "
        if sent
        else ""
    )
    print(
        f"per recall: {counts}{result['cpu_ms']:.1f} ms CPU "
        f"(this process); wall p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms"
    )
    print(f"closing the storage (saves the index snapshot): {closing:.2f} s CPU (this process)")
    if not sent:
        return
    print("  per recall, median ms (round trip as the client saw it), statement:")
    for kind, (times, median_ms) in result["kinds"].items():
        print(f"  {times:5.2f}  {median_ms:6.2f}  {kind}")


def main(argv: Sequence[str] | None = None) -> None:
    """Run the measurement (starting PostgreSQL if no ``--dsn``)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.postgres_recall")
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--dsn", help="a PostgreSQL DSN (default: start a throwaway cluster)")
    parser.add_argument("--workdir", type=Path, help="use the brain scale.py kept here")
    parser.add_argument(
        "--sqlite",
        action="store_true",
        help="the same recalls on the SQLite brain scale.py kept in --workdir (for comparison)",
    )
    args = parser.parse_args(argv)
    if args.dsn or args.sqlite:
        asyncio.run(run(args, args.dsn or ""))
        return
    from tests.postgres_server import SESSION_POSTGRES

    try:
        asyncio.run(run(args, SESSION_POSTGRES.get().url("postgres", driver="postgresql")))
    finally:
        SESSION_POSTGRES.stop()


if __name__ == "__main__":
    main()
