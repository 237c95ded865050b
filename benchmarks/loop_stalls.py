"""How long heavy work holds the event loop: ``python -m benchmarks.loop_stalls --base SRC``.

A server answers health checks and other users' recalls on the event loop that also runs
heavy work, so what matters is the longest time the loop cannot run anything. This builds
one SQLite brain of ``--size`` synthetic memories (kept in ``--workdir`` and reused); each run,
in a fresh process on its own copy of the brain, warms the brain's recall index with one
recall (as a serving process holds it), then, while a task on the loop ticks every
millisecond, (1) stores one maximum-size memory (``MAX_TEXT_LENGTH`` characters) with a spawned
planner process, as the server does, and recalls (what the store left the index to do, the
recall does), and (2) consolidates the brain (decay included). For
each it prints the work's wall time, the longest gap between two ticks (the worst stall), the
99th percentile of the gaps and how many exceeded 50 ms. With ``--base`` (the ``src`` folder
of other code) runs alternate between that code and the code on ``PYTHONPATH``, ``--rounds``
times each, and medians are printed side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from benchmarks.recall_cpu import build, select_kept_brain
from benchmarks.speed_data import REFERENCE_TIME

_TICK_S = 0.001
_LONG_STALL_S = 0.05


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.loop_stalls")
    parser.add_argument("--size", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/loop-stalls"))
    parser.add_argument("--base", type=Path, default=None, help="src folder of the baseline")
    parser.add_argument("--run", type=Path, default=None, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def gap_figures(gaps: Sequence[float], seconds: float) -> dict[str, float]:
    """Wall seconds of the work and its loop gaps: worst and p99 in ms, count over 50 ms."""
    ordered = sorted(gaps) or [0.0]
    p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    return {
        "seconds": round(seconds, 3),
        "worst_ms": round(ordered[-1] * 1000, 1),
        "p99_ms": round(p99 * 1000, 1),
        "over_50ms": float(sum(gap > _LONG_STALL_S for gap in ordered)),
    }


async def _timed(work: Callable[[], Awaitable[object]]) -> dict[str, float]:
    """Run ``work`` while a task ticks every millisecond; the gaps between ticks."""
    gaps: list[float] = []

    async def tick() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(_TICK_S)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    started = time.perf_counter()
    try:
        await work()
    finally:
        seconds = time.perf_counter() - started
        ticker.cancel()
    return gap_figures(gaps, seconds)


async def measure(path: Path) -> dict[str, dict[str, float]]:
    """Loop gaps while one maximum-size memory is stored, then while the brain consolidates."""
    from benchmarks.load import sentence
    from neural_memory.core.limits import MAX_TEXT_LENGTH
    from neural_memory.engine.consolidation import consolidate
    from neural_memory.engine.encoder import MemoryEncoder
    from neural_memory.engine.retrieval import ReflexPipeline
    from neural_memory.storage import SQLiteStorage

    text = " ".join(sentence(i) for i in range(20_000))[:MAX_TEXT_LENGTH]
    planner = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        async with SQLiteStorage(path) as storage:
            brain = await select_kept_brain(storage, path)
            pipeline = ReflexPipeline(storage, brain.config, embedder=None)
            await pipeline.query("What did Alice plan?", reference_time=REFERENCE_TIME)
            encoder = MemoryEncoder(storage, brain.config, embedder=None, planner=planner)
            await encoder.encode(sentence(-1) * 1_000)  # the planner process started

            async def store_and_recall() -> None:  # a recall reads what the store deferred
                await encoder.encode(text)
                await pipeline.query("What did Bob plan?", reference_time=REFERENCE_TIME)

            store = await _timed(store_and_recall)
            sleep = await _timed(lambda: consolidate(storage, brain.config))
    finally:
        planner.shutdown()
    return {"store max-size memory, recall": store, "consolidate": sleep}


def _one_run(src: str, brain: Path, copy: Path) -> dict[str, dict[str, float]]:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{brain}{suffix}").exists():
            shutil.copy(f"{brain}{suffix}", f"{copy}{suffix}")
    shutil.copy(brain.with_suffix(".brain"), copy.with_suffix(".brain"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.getcwd()])}
    command = [sys.executable, "-m", "benchmarks.loop_stalls", "--run", str(copy)]
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    figures: dict[str, dict[str, float]] = json.loads(out.strip().splitlines()[-1])
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Build the brain once, then alternate baseline and current runs; print the figures."""
    args = parse_args(argv)
    if args.run is not None:
        print(json.dumps(asyncio.run(measure(args.run))))
        return 0
    args.workdir.mkdir(parents=True, exist_ok=True)
    brain = args.workdir / f"brain-{args.size}.db"
    asyncio.run(build(brain, args.size))
    current = os.environ.get("PYTHONPATH", "src").split(os.pathsep)[0]
    systems = {"current": current} | ({"base": str(args.base)} if args.base else {})
    runs: dict[str, list[dict[str, dict[str, float]]]] = {name: [] for name in systems}
    for number in range(args.rounds):
        for name, src in reversed(systems.items()) if number % 2 else systems.items():
            runs[name].append(_one_run(src, brain, args.workdir / f"run-{name}.db"))
            print(f"round {number + 1} {name:>7}: {runs[name][-1]}", file=sys.stderr)
    print(f"size {args.size:,}, {args.rounds} runs each, medians")
    print("code | work | seconds | worst_ms | p99_ms | over_50ms")
    for name, done in runs.items():
        for work in done[0]:
            cells = [statistics.median(run[work][k] for run in done) for k in done[0][work]]
            print(" | ".join([name, work, *(f"{c:g}" for c in cells)]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
