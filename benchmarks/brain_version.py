"""CPU per brain-version read: ``python -m benchmarks.brain_version --redis URL --base SRC``.

A server reads ``get_brain_version`` at the start of every request, and a recall index that
is not handed one (the library, neuram) reads it at every sync, to learn whether the brain
changed or was created again under its id (its generation). This times, in a fresh process
per run, ``--calls`` of each on an empty SQLite brain and, with ``--redis``, on Redis (its
own namespace, deleted afterwards): ``version`` is ``storage.get_brain_version(id)``,
``sync`` is ``BrainIndex.sync()`` of an index already synced. With ``--base`` (the ``src``
folder of other code, e.g. ``git archive`` of an earlier commit) it alternates runs of that
code and of the code on ``PYTHONPATH``, ``--rounds`` times each, and prints the median CPU
microseconds per call and the median ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

_WARMUP = 200


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.brain_version")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--redis", default=None, help="a Redis URL (default: SQLite only)")
    parser.add_argument("--base", type=Path, default=None, help="src folder of the baseline")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def _cpu_per_call(call: Callable[[], Awaitable[Any]], calls: int) -> float:
    for _ in range(_WARMUP):
        await call()
    spent = time.process_time()
    for _ in range(calls):
        await call()
    return (time.process_time() - spent) / calls * 1e6


async def _time_storage(storage: Any, calls: int) -> dict[str, float]:
    from neural_memory import Brain
    from neural_memory.engine.handle import BrainHandle

    brain = Brain.create("brain-version")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    index = BrainHandle.of(storage).index()
    await index.sync()
    return {
        "version": await _cpu_per_call(lambda: storage.get_brain_version(brain.id), calls),
        "sync": await _cpu_per_call(index.sync, calls),
    }


async def measure(calls: int, redis_url: str | None) -> dict[str, float]:
    """CPU microseconds per call, keyed ``<backend> <what>``."""
    from neural_memory.storage import RedisStorage, SQLiteStorage

    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        async with SQLiteStorage(Path(folder) / "brain.db") as sqlite:
            for what, value in (await _time_storage(sqlite, calls)).items():
                figures[f"sqlite {what}"] = value
    if redis_url is not None:
        namespace = f"bench-{uuid.uuid4().hex[:12]}"
        async with RedisStorage(redis_url, namespace=namespace) as redis:
            try:
                for what, value in (await _time_storage(redis, calls)).items():
                    figures[f"redis {what}"] = value
            finally:
                for brain in await redis.list_brains():
                    await redis.delete_brain(brain.id)
    return figures


def _one_run(src: str, args: argparse.Namespace) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.getcwd()])}
    command = [sys.executable, "-m", "benchmarks.brain_version", "--run"]
    command += ["--calls", str(args.calls)] + (["--redis", args.redis] if args.redis else [])
    out = subprocess.run(command, env=env, check=True, capture_output=True, text=True).stdout
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Alternate baseline and current runs; print the medians and ratios."""
    args = parse_args(argv)
    if args.run:
        print(json.dumps(asyncio.run(measure(args.calls, args.redis))))
        return 0
    current = os.environ.get("PYTHONPATH", "src").split(os.pathsep)[0]
    systems = {"current": current} | ({"base": str(args.base)} if args.base else {})
    rows: dict[str, list[dict[str, float]]] = {name: [] for name in systems}
    for round_number in range(args.rounds):
        for name, src in reversed(systems.items()) if round_number % 2 else systems.items():
            rows[name].append(_one_run(src, args))
            print(f"round {round_number + 1} {name:>7}: {rows[name][-1]}", file=sys.stderr)
    print(f"{args.calls} calls per run, {args.rounds} runs each; CPU us per call (medians)")
    for key in rows["current"][0]:
        line = f"{key:>15}: " + ", ".join(
            f"{name} {statistics.median(run[key] for run in runs):.1f}"
            for name, runs in rows.items()
        )
        if "base" in rows:
            pairs = zip(rows["current"], rows["base"], strict=True)
            line += f", current / base {statistics.median(c[key] / b[key] for c, b in pairs):.2f}"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
