"""Cold open: a new process opens a large SQLite brain and answers its first recall.

    python -m benchmarks.cold_open --sizes 10000,100000

    python -m benchmarks.cold_open --sizes 10000,100000 --before-src ../main-at-base/src

For each size a brain of synthetic memories (``benchmarks.speed_data``) is built once in
``--workdir`` (reused by later runs). Then, ``--repeat`` times, a fresh Python process
opens it and times ``open + first recall`` (the index is built from storage) and a second
recall (the warm index). Baseline, in the same run and a fresh process too: SQLite itself
reading every memory's text (``SELECT content FROM fibers``), the least any index build must
do. Medians are printed; a JSON line per size goes to stdout with ``--json``.

Before the timed runs, one process opens the brain once with this code ("first open"): it
migrates the file if needed, rebuilds the index from every row, answers a recall and, on
closing, stores the index snapshot the timed runs then load (a brain's writer leaves one
the same way when it closes). Its time is reported apart.

With ``--before-src`` (the ``src`` directory of an older checkout, e.g. a git worktree of
the base commit), the brain is built by that code, the same cold open is timed with it too
(in alternation with this code, so both see the same machine load), and this code opens a
copy of the file.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.speed_data import REFERENCE_TIME, make_memories, make_queries
from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import SQLiteStorage

_BATCH = 1_000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path(".bench"))
    parser.add_argument("--json", action="store_true", help="also print one JSON line per size")
    parser.add_argument(
        "--before-src", type=Path, help="src/ of an older checkout to time beside this one"
    )
    parser.add_argument("--child", nargs=2, metavar=("DB", "WHAT"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


async def _build(path: Path, size: int) -> str:
    """Create the brain (once); return its id."""
    marker = path.with_suffix(".brain")
    if path.exists() and marker.exists():
        return marker.read_text()
    path.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    memories = make_memories(size, seed=7)
    async with SQLiteStorage(path) as storage:
        brain = Brain.create(f"cold-{size}")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None)  # lexical, as measured
        for start in range(0, size, _BATCH):
            chunk = memories[start : start + _BATCH]
            await encoder.encode_many(
                [
                    MemoryInput(text=m.text, timestamp=m.at, metadata={"speaker": m.speaker})
                    for m in chunk
                ]
            )
            print(f"\r  building {size:,}: {start + len(chunk):,}", end="", file=sys.stderr)
    print(file=sys.stderr)
    marker.write_text(brain.id)
    return brain.id


async def _open_and_recall(path: Path, brain_id: str) -> dict[str, float]:
    query = make_queries(2, seed=7)
    started = time.perf_counter()
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain_id)
        config = (await storage.get_brain(brain_id)).config  # type: ignore[union-attr]
        pipeline = ReflexPipeline(storage, config, embedder=None)
        await pipeline.query(query[0].text, reference_time=REFERENCE_TIME)
        first = time.perf_counter() - started
        started = time.perf_counter()
        await pipeline.query(query[1].text, reference_time=REFERENCE_TIME)
        second = time.perf_counter() - started
    return {"first_s": first, "second_s": second}


def _scan(path: Path) -> dict[str, float]:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    count = sum(1 for _ in conn.execute("SELECT content FROM fibers"))
    conn.close()
    return {"scan_s": time.perf_counter() - started, "rows": float(count)}


async def _first_open(path: Path, brain_id: str) -> dict[str, float]:
    """Migrate, rebuild, recall and store the snapshot on closing (timed to the end)."""
    started = time.perf_counter()
    result = await _open_and_recall(path, brain_id)
    return {"first_open_s": time.perf_counter() - started, "rebuild_first_s": result["first_s"]}


def _child(db: str, what: str) -> None:
    path = Path(db)
    if what == "scan":
        result = _scan(path)
    elif what.startswith("first-open:"):
        result = asyncio.run(_first_open(path, what.removeprefix("first-open:")))
    elif what.startswith("build:"):
        started = time.perf_counter()
        asyncio.run(_build(path, int(what.removeprefix("build:"))))
        result = {"build_s": time.perf_counter() - started}
    else:
        result = asyncio.run(_open_and_recall(path, what))
    print(json.dumps(result))


def _in_new_process(db: Path, what: str, src: Path | None = None) -> dict[str, float]:
    env = dict(os.environ)
    if src is not None:  # that code's neural_memory, this checkout's benchmarks
        env["PYTHONPATH"] = os.pathsep.join((str(src.resolve()), str(Path.cwd())))
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.cold_open", "--child", str(db), what],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def measure(size: int, workdir: Path, repeat: int, before: Path | None) -> dict[str, Any]:
    path = workdir / f"cold-open-{size}.db"
    if not path.with_suffix(".brain").exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        _in_new_process(path, f"build:{size}", before)
    brain_id = path.with_suffix(".brain").read_text()
    row: dict[str, Any] = {"size": size, "db_mib": path.stat().st_size / 2**20}
    opened = path
    if before is not None:
        opened = path.with_suffix(".after.db")
        shutil.copyfile(path, opened)
    row.update(_in_new_process(opened, f"first-open:{brain_id}"))
    runs, old_runs = [], []
    for _ in range(repeat):
        runs.append(_in_new_process(opened, brain_id))
        if before is not None:
            old_runs.append(_in_new_process(path, brain_id, before))
    scans = [_in_new_process(path, "scan") for _ in range(repeat)]
    row["open_first_recall_s"] = statistics.median(r["first_s"] for r in runs)
    row["second_recall_ms"] = statistics.median(r["second_s"] for r in runs) * 1000
    row["baseline_scan_s"] = statistics.median(s["scan_s"] for s in scans)
    if old_runs:
        row["before_open_first_recall_s"] = statistics.median(r["first_s"] for r in old_runs)
    return row


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def _ratio(after: float, before: float | None) -> str:
    return "-" if before is None else f"{before / after:.1f}x"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        _child(*args.child)
        return 0
    print(
        "| memories | open + first recall (median) | before (median) | speed-up "
        "| second recall | SQLite scan of every text (baseline) "
        "| first open: rebuild + recall / whole process incl. snapshot save | db |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        row = measure(size, args.workdir, args.repeat, args.before_src)
        first, before = row["open_first_recall_s"], row.get("before_open_first_recall_s")
        print(
            f"| {size:,} | {first:.2f} s | {_seconds(before)} | {_ratio(first, before)}"
            f" | {row['second_recall_ms']:.1f} ms | {row['baseline_scan_s']:.3f} s"
            f" | {row['rebuild_first_s']:.2f} s / {row['first_open_s']:.2f} s"
            f" | {row['db_mib']:.0f} MiB |",
            flush=True,
        )
        if args.json:
            print(json.dumps(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
