"""Where bulk ingest spends its CPU: ``python -m benchmarks.ingest_breakdown``.

Encodes the synthetic memories of ``benchmarks.speed_data`` with ``encode_many`` (batches of
``--batch``, embeddings off) into InMemoryStorage and into SQLite, and prints the CPU time per
memory (this process, every thread; steadier than wall time on a shared machine) of:

- ``extraction``: :func:`~neural_memory.engine.extraction.extract` of every text alone
  (of which ``time expressions``: ``find_time_spans``);
- ``limits``: the storage-boundary check of each batch (``check_batch``);
- ``sqlite write``: SQLite's transaction (rows, statements, change log);
- ``encode_many``: everything, per backend.

Run it with ``PYTHONPATH`` set to another checkout's ``src`` to get a same-run baseline of
that code (the figures name no private function, so any version since the limits were
introduced runs it).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

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
    try:
        memory_total = await _encode(InMemoryStorage(), memories, batch)
        limits_in_memory = clock.spent.get("limits", 0.0)
        with tempfile.TemporaryDirectory() as workdir:
            sqlite_total = await _encode(SQLiteStorage(Path(workdir) / "b.db"), memories, batch)
    finally:
        storage_base.check_batch, sqlite_module.write_batch = check, write
    rows.append(("limits", limits_in_memory))
    rows.append(("sqlite write", clock.spent.get("sqlite write", 0.0)))
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
