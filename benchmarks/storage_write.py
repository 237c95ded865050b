"""Per-memory write latency of the storage backends: ``python -m benchmarks.storage_write``.

Times ``storage.write()`` for the batch the encoder writes per memory: 5-15 neurons
(``ensure_neurons``, drawn from a vocabulary so later memories reuse earlier neurons), 10-30
synapses (``ensure_synapses``) with one delta each (``synapse_deltas``) and one fiber. Every
backend gets the same batches; InMemoryStorage, measured in the same run, is the baseline.
Prints median, p90, p99 and mean per backend (milliseconds).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from neural_memory import Brain
from neural_memory.core import Fiber, Neuron, NeuronType, Synapse, SynapseType
from neural_memory.storage import InMemoryStorage, SQLiteStorage, Storage, WriteBatch


def memory_batch(rng: random.Random, vocabulary: Sequence[str]) -> WriteBatch:
    """One memory's batch: 5-15 neurons, 10-30 synapses with deltas, one fiber."""
    words = rng.sample(vocabulary, rng.randint(5, 15))
    neurons = [Neuron.create(NeuronType.CONCEPT, word) for word in words]
    pairs = [(a, b) for i, a in enumerate(neurons) for b in neurons[i + 1 : i + 4]]
    synapses = [
        Synapse.create(a.id, b.id, SynapseType.CO_OCCURS)
        for a, b in rng.sample(pairs, min(len(pairs), rng.randint(10, 30)))
    ]
    fiber = Fiber.create([n.id for n in neurons], [s.id for s in synapses], content=" ".join(words))
    return WriteBatch(
        ensure_neurons=tuple(neurons),
        ensure_synapses=tuple(synapses),
        synapse_deltas=tuple((s.id, 0.05) for s in synapses),
        insert_fibers=(fiber,),
    )


async def time_writes(storage: Storage, batches: Sequence[WriteBatch]) -> list[float]:
    """Write every batch into a fresh brain; return each write's seconds."""
    async with storage:
        brain = Brain.create("bench")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        seconds = []
        for batch in batches:
            started = time.perf_counter()
            await storage.write(batch)
            seconds.append(time.perf_counter() - started)
        return seconds


def summary(name: str, seconds: list[float]) -> str:
    """One table row: median, p90, p99 and mean in milliseconds."""
    ordered = sorted(seconds)

    def pick(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3

    mean = statistics.fmean(seconds) * 1e3
    return f"{name:<8} {pick(0.5):>8.3f} {pick(0.9):>8.3f} {pick(0.99):>8.3f} {mean:>8.3f}"


async def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.storage_write")
    parser.add_argument("--batches", type=int, default=3000)
    parser.add_argument("--vocabulary", type=int, default=3000, help="distinct words")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    vocabulary = [f"word{i}" for i in range(args.vocabulary)]
    batches = [memory_batch(rng, vocabulary) for _ in range(args.batches)]
    sizes = [(len(b.ensure_neurons), len(b.ensure_synapses)) for b in batches]
    print(
        f"{len(batches)} batches, mean {statistics.fmean(n for n, _ in sizes):.1f} neurons, "
        f"{statistics.fmean(s for _, s in sizes):.1f} synapses + deltas, 1 fiber each"
    )
    print(f"{'backend':<8} {'median':>8} {'p90':>8} {'p99':>8} {'mean':>8}  (ms per write)")
    print(summary("memory", await time_writes(InMemoryStorage(), batches)))
    with tempfile.TemporaryDirectory() as workdir:
        sqlite = SQLiteStorage(Path(workdir) / "bench.db")
        print(summary("sqlite", await time_writes(sqlite, batches)))


if __name__ == "__main__":
    asyncio.run(main())
