"""What recall's write-back costs: ``python -m benchmarks.recall_writeback``.

Recall strengthens what it used: the anchor neurons, the synapses that fired and the used
memories. This times that write-back alone, for the same recalls, two ways in one run:

- ``records`` (the baseline, what recall wrote before access deltas): read the anchor
  neurons, then rewrite them and every used fiber as whole records (``update_neurons``,
  ``update_fibers``) next to the synapse deltas;
- ``deltas``: :func:`reinforcement_batch`, counters moved in place (nothing read first).

Both run alternately on one brain (a few thousand memories, embeddings off) so machine load
hits them alike; each write-back is timed from the start of its reads to its commit. Then
``--clients`` write-backs at once, through ``BrainHandle.write_deltas`` (group commit)
against each one through ``BrainHandle.write``. SQLite, then PostgreSQL (round trips
dominate there): a throwaway cluster (``tests/postgres_server.py``) unless ``--dsn`` names
one; ``--no-postgres`` skips it. Prints medians in milliseconds and the ratio to the
baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from benchmarks.scale import run_sql
from neural_memory import Brain, Fiber
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.lifecycle.reinforcement import reinforcement_batch
from neural_memory.storage import PostgresStorage, SQLiteStorage, Storage, WriteBatch

_PEOPLE = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"]
_TOPICS = ["billing", "deployment", "the roadmap", "hiring", "the API", "backups", "on-call"]
DELTA = 0.05


def sentence(i: int) -> str:
    """A conversational memory, different every time."""
    who, other = _PEOPLE[i % 8], _PEOPLE[(i + 3) % 8]
    return f"{who} met {other} on day {i} to discuss {_TOPICS[i % 7]} and agreed on step {i}"


class Recall:
    """What one recall used: its anchors, the synapses that fired, the memories."""

    def __init__(self, anchors: list[str], synapses: list[str], fibers: list[str]) -> None:
        self.anchors, self.synapses, self.fibers = anchors, synapses, fibers


async def seed(storage: Storage, memories: int, rng: random.Random) -> list[Recall]:
    """A brain of ``memories`` memories; 200 recalls of 5 memories each over it."""
    brain = Brain.create("writeback")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config, embedder=None)
    results = []
    for start in range(0, memories, 500):
        texts = [sentence(i) for i in range(start, min(memories, start + 500))]
        results.extend(await encoder.encode_many(texts))
    recalls = []
    for _ in range(200):
        used = [r.fiber for r in rng.sample(results, 5)]
        anchors = sorted({n for f in used[:2] for n in list(f.neuron_ids)[:3]})
        synapses = sorted({s for f in used[:3] for s in list(f.synapse_ids)[:6]})
        recalls.append(Recall(anchors, synapses, [f.id for f in used]))
    return recalls


async def records_writeback(storage: Storage, recall: Recall, fibers: dict[str, Fiber]) -> None:
    """The baseline: read the anchors, then rewrite whole records (recall held the fibers)."""
    neurons = await storage.get_neurons(recall.anchors)
    await storage.write(
        WriteBatch(
            update_neurons=tuple(n.accessed(delta=DELTA) for n in neurons.values()),
            synapse_deltas=tuple((s, DELTA) for s in recall.synapses),
            update_fibers=tuple(f.conduct() for f in fibers.values()),
        )
    )


async def deltas_writeback(storage: Storage, recall: Recall) -> None:
    """Access deltas only."""
    batch = reinforcement_batch(
        DELTA, neuron_ids=recall.anchors, synapse_ids=recall.synapses, fiber_ids=recall.fibers
    )
    await storage.write(batch)


async def timed(run: Callable[[], Awaitable[object]]) -> float:
    """Milliseconds ``run`` took."""
    started = time.perf_counter()
    await run()
    return (time.perf_counter() - started) * 1000


async def compare(storage: Storage, recalls: Sequence[Recall], clients: int) -> list[str]:
    """The table rows for one backend (alternating the two ways)."""
    records: list[float] = []
    deltas: list[float] = []
    for recall in recalls:
        held = await storage.get_fibers(recall.fibers)
        records.append(await timed(lambda r=recall, f=held: records_writeback(storage, r, f)))
        deltas.append(await timed(lambda r=recall: deltas_writeback(storage, r)))
    handle = BrainHandle.of(storage)
    one_by_one: list[float] = []
    grouped: list[float] = []
    for start in range(0, len(recalls) - clients + 1, clients):
        batches = [
            reinforcement_batch(
                DELTA, neuron_ids=r.anchors, synapse_ids=r.synapses, fiber_ids=r.fibers
            )
            for r in recalls[start : start + clients]
        ]
        writes = [handle.write(b) for b in batches]
        one_by_one.append(await timed(lambda w=writes: asyncio.gather(*w)) / clients)
        merged = [handle.write_deltas(b) for b in batches]
        grouped.append(await timed(lambda m=merged: asyncio.gather(*m)) / clients)
    base = statistics.median(records)
    rows = [
        _row("records (baseline)", records, base),
        _row("deltas", deltas, base),
        _row(f"deltas, {clients} at once, each written", one_by_one, statistics.median(one_by_one)),
        _row(f"deltas, {clients} at once, group commit", grouped, statistics.median(one_by_one)),
    ]
    return rows


def _row(name: str, millis: list[float], base: float) -> str:
    median = statistics.median(millis)
    p90 = sorted(millis)[int(len(millis) * 0.9)]
    return f"  {name:<44} {median:8.3f} {p90:8.3f}   x{median / base:5.2f}"


async def run(args: argparse.Namespace, dsn: str | None) -> None:
    """SQLite, then PostgreSQL at ``dsn`` (when given), one after the other."""
    rng = random.Random(args.seed)
    schema = f"writeback_{uuid.uuid4().hex[:8]}"
    with tempfile.TemporaryDirectory() as tmp:
        backends: list[tuple[str, Storage]] = [("sqlite", SQLiteStorage(Path(tmp) / "w.db"))]
        if dsn:
            backends.append(("postgres", PostgresStorage(dsn, schema=schema)))
        for name, storage in backends:
            async with storage:
                recalls = await seed(storage, args.memories, rng)
                print(f"{name}: {args.memories} memories, {len(recalls)} recalls")
                print(f"  {'write-back, ms per recall':<44} {'median':>8} {'p90':>8}   ratio")
                for row in await compare(storage, recalls, args.clients):
                    print(row)
    if dsn:
        await run_sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.recall_writeback", description="Recall's write-back cost."
    )
    parser.add_argument("--memories", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--dsn", help="a PostgreSQL DSN (default: start a throwaway cluster)")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    if args.dsn or args.no_postgres:
        asyncio.run(run(args, args.dsn))
        return 0
    from tests.postgres_server import SESSION_POSTGRES

    server = SESSION_POSTGRES.get()
    try:
        asyncio.run(run(args, server.url("postgres", driver="postgresql")))
    finally:
        SESSION_POSTGRES.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
