"""CPU per recall, not wall time: ``python -m benchmarks.recall_cpu --size 10000 --base SRC``.

On a machine shared with other work, wall-clock latency mostly measures the scheduler (every
hop to the storage thread waits for a core); the process's CPU time per recall (all threads:
the event loop, SQLite's thread) is what a change to recall's work moves. This builds one
SQLite brain of ``--size`` synthetic memories (kept in ``--workdir`` and reused), then times
``--queries`` recalls, reinforcement and recall events on, in a fresh process per run. With
``--base`` (the ``src`` folder of other code, e.g. ``git archive`` of an earlier commit) it
alternates runs of that code and of the code on ``PYTHONPATH``, ``--rounds`` times each,
every run on its own copy of the brain, and prints each run's median CPU and wall per recall
and the median ratio. ``--scale-dir DIR`` takes the brain of ``--size`` memories that
``benchmarks.scale --workdir DIR --keep`` filled (``DIR/scale-<size>.db`` and its note)
instead of building one (the same generated memories): e.g. a kept 1M brain.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from benchmarks.speed_data import REFERENCE_TIME, make_memories, make_queries

if TYPE_CHECKING:
    from neural_memory import Brain
    from neural_memory.storage import Storage

_WARMUP = 5


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.recall_cpu")
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/recall-cpu"))
    parser.add_argument("--base", type=Path, default=None, help="src folder of the baseline")
    parser.add_argument(
        "--scale-dir", type=Path, default=None, help="use the brain benchmarks.scale kept here"
    )
    parser.add_argument("--run", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def build(path: Path, size: int) -> None:
    """A brain of ``size`` synthetic memories at ``path`` (its id beside it), unless there."""
    from neural_memory import Brain
    from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
    from neural_memory.storage import SQLiteStorage

    if path.exists():
        return
    async with SQLiteStorage(path) as storage:
        brain = Brain.create("recall-cpu")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None)
        memories = make_memories(size, 7)
        for start in range(0, size, 500):
            chunk = memories[start : start + 500]
            await encoder.encode_many(
                [MemoryInput(text=m.text, timestamp=m.at, metadata={"speaker": m.speaker})
                 for m in chunk]
            )  # fmt: skip
    path.with_suffix(".brain").write_text(brain.id)


async def select_kept_brain(storage: Storage, path: Path) -> Brain:
    """Select the brain :func:`build` made at ``path`` (its id is beside it) in ``storage``."""
    from neural_memory.errors import BrainNotFoundError

    brain_id = path.with_suffix(".brain").read_text()
    brain = await storage.get_brain(brain_id)
    if brain is None:
        raise BrainNotFoundError(brain_id)
    storage.set_brain(brain_id)
    return brain


async def measure(path: Path, queries: int) -> dict[str, float]:
    """Median CPU and wall milliseconds per recall over ``queries`` recalls of the brain."""
    from neural_memory.engine.retrieval import ReflexPipeline
    from neural_memory.storage import SQLiteStorage

    async with SQLiteStorage(path) as storage:
        brain = await select_kept_brain(storage, path)
        pipeline = ReflexPipeline(storage, brain.config, embedder=None)
        asked = make_queries(queries, 7)
        for query in asked[:_WARMUP]:
            await pipeline.query(query.text, reference_time=REFERENCE_TIME)
        cpu, wall = [], []
        for query in asked:
            started, spent = time.perf_counter(), time.process_time()
            await pipeline.query(query.text, reference_time=REFERENCE_TIME)
            cpu.append(time.process_time() - spent)
            wall.append(time.perf_counter() - started)
    return {
        "cpu_ms": statistics.median(cpu) * 1000,
        "wall_ms": statistics.median(wall) * 1000,
    }


def _one_run(src: str, brain: Path, brain_id: Path, copy: Path, queries: int) -> dict[str, float]:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{brain}{suffix}").exists():
            shutil.copy(f"{brain}{suffix}", f"{copy}{suffix}")
    shutil.copy(brain_id, copy.with_suffix(".brain"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.getcwd()])}
    command = [sys.executable, "-m", "benchmarks.recall_cpu", "--run", str(copy)]
    command += ["--queries", str(queries)]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Build the brain once, then alternate baseline and current runs; print the figures."""
    args = parse_args(argv)
    if args.run is not None:
        print(json.dumps(asyncio.run(measure(args.run, args.queries))))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    brain = args.workdir / f"brain-{args.size}.db"
    brain_id = brain.with_suffix(".brain")
    if args.scale_dir is not None:  # read only: each run copies it
        brain = args.scale_dir / f"scale-{args.size}.db"
        kept = json.loads((args.scale_dir / f"sqlite-{args.size}.json").read_text())
        brain_id = args.workdir / f"scale-{args.size}.brain"
        brain_id.write_text(kept["brain_id"])
    else:
        asyncio.run(build(brain, args.size))
    current = os.environ.get("PYTHONPATH", "src").split(os.pathsep)[0]
    systems = {"current": current} | ({"base": str(args.base)} if args.base else {})
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in systems}
    for round_number in range(args.rounds):
        for name, src in reversed(systems.items()) if round_number % 2 else systems.items():
            copy = args.workdir / f"run-{name}.db"
            rows[name].append(_one_run(src, brain, brain_id, copy, args.queries))
            print(f"round {round_number + 1} {name:>7}: {rows[name][-1]}", file=sys.stderr)
    print(f"size {args.size:,}, {args.queries} recalls per run, {args.rounds} runs each")
    for name, runs in rows.items():
        cpu = statistics.median(r["cpu_ms"] for r in runs)
        wall = statistics.median(r["wall_ms"] for r in runs)
        print(f"{name:>8}: CPU per recall {cpu:.2f} ms, wall {wall:.2f} ms (medians of runs)")
    if "base" in rows:
        ratio = statistics.median(
            c["cpu_ms"] / b["cpu_ms"] for c, b in zip(rows["current"], rows["base"], strict=True)
        )
        print(f"CPU per recall, current / base: {ratio:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
