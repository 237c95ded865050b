"""Speed as the brain grows: ``python -m benchmarks.speed --sizes 1000,10000 --backend sqlite``.

For each size N it builds a brain of N synthetic memories (``encode_many`` in batches), then
measures single ``encode()`` latency, recall latency (median, p95; hub queries apart), the
first recall (which builds the in-process index), peak RSS and the database size on disk
(-wal included). Beside every figure it prints a baseline measured in the same run: plain
SQLite single-row INSERTs for encoding and an FTS5 BM25 search for recall. Each run (system x
size) gets a fresh process, so peak RSS is its own. Progress goes to stderr, the table to
stdout, and ``--report`` writes everything as JSON. ``--profile 10000`` adds a cProfile of the
recall path at that size (top functions by own time and by cumulative time).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.speed_runs import RunOptions, run_baseline, run_neural

ENCODE_TARGET_MS = 2.0
RECALL_TARGET_MS = 10.0
RECALL_TARGET_SIZE = 100_000


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.speed", description="Encode and recall speed as a brain grows."
    )
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated brain sizes")
    parser.add_argument("--backend", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", type=int, default=500, help="encode_many batch size")
    parser.add_argument("--encode-samples", type=int, default=200, help="single encode() calls")
    parser.add_argument("--queries", type=int, default=200, help="recall queries per size")
    parser.add_argument("--report", type=Path, default=None, help="write a JSON report here")
    parser.add_argument("--workdir", type=Path, default=None, help="where the databases go")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument(
        "--profile", type=int, default=None, metavar="SIZE", help="cProfile recall at this size"
    )
    parser.add_argument("--profile-top", type=int, default=25)
    parser.add_argument("--profile-out", type=Path, default=None, help="save the .prof file")
    args = parser.parse_args(argv)
    try:
        args.size_list = [int(s.replace("_", "")) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        parser.error(f"--sizes must be comma-separated integers, got {args.sizes!r}")
    if not args.size_list or min(args.size_list) < 1:
        parser.error("--sizes must name at least one positive size")
    return args


def _in_fresh_process(fn: Callable[[RunOptions], dict[str, Any]], options: RunOptions) -> Any:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(fn, options).result()


def measure(args: argparse.Namespace, workdir: Path) -> list[dict[str, Any]]:
    """Every size, NeuralMemory then the baseline, each in a fresh process."""
    rows = []
    for size in args.size_list:
        options = RunOptions(
            size=size,
            backend=args.backend,
            workdir=str(workdir),
            seed=args.seed,
            batch=args.batch,
            encode_samples=args.encode_samples,
            queries=args.queries,
            profile=args.profile == size,
            profile_top=args.profile_top,
            profile_out=str(args.profile_out) if args.profile_out else None,
        )
        started = time.perf_counter()
        neural = _in_fresh_process(run_neural, options)
        neural["run_s"] = time.perf_counter() - started
        started = time.perf_counter()
        baseline = _in_fresh_process(run_baseline, options)
        baseline["run_s"] = time.perf_counter() - started
        print(
            f"size {size:,}: neural-memory {neural['run_s']:.1f} s, "
            f"baseline {baseline['run_s']:.1f} s",
            file=sys.stderr,
        )
        rows.append({"size": size, "neural_memory": neural, "baseline": baseline})
        if not args.keep:
            for path in workdir.glob(f"*-{size}.db*"):
                path.unlink()
    return rows


def _mark(value: float, target: float) -> str:
    return "ok" if value <= target else "MISS"


def table(rows: Sequence[dict[str, Any]], backend: str) -> str:
    """The figures as a plain-text table, baseline and target beside each."""
    header = f"{'size':>8}  {'measure':<34} {'neural-memory':>14} {'baseline':>12}  target"
    lines = [header, "-" * len(header)]
    for row in rows:
        nm, base, size = row["neural_memory"], row["baseline"], row["size"]
        recall_target = f"<= {RECALL_TARGET_MS:g} ms @100k"
        if size >= RECALL_TARGET_SIZE:
            recall_target += f"  {_mark(nm['recall']['median_ms'], RECALL_TARGET_MS)}"
        db = f"{nm['db_mib_open']:.1f}" if nm["db_mib_open"] is not None else "n/a"
        graph = nm["graph"]
        entries = [
            ("encode_many, ms/memory (bulk)", f"{nm['bulk_ms_per_memory']:.3f}",
             f"{base['bulk_ms_per_memory']:.3f}", "INSERT+FTS5"),
            ("encode() median, ms", f"{nm['encode']['median_ms']:.2f}",
             f"{base['encode']['median_ms']:.3f}",
             f"<= {ENCODE_TARGET_MS:g} ms  {_mark(nm['encode']['median_ms'], ENCODE_TARGET_MS)}"),
            ("encode() p95, ms", f"{nm['encode']['p95_ms']:.2f}",
             f"{base['encode']['p95_ms']:.3f}", "single INSERT"),
            ("recall median, ms", f"{nm['recall']['median_ms']:.2f}",
             f"{base['recall']['median_ms']:.3f}", recall_target),
            ("recall p95, ms", f"{nm['recall']['p95_ms']:.2f}",
             f"{base['recall']['p95_ms']:.3f}", "FTS5 bm25 LIMIT 10"),
            (f"recall hub queries ({nm['recall_hub']['count']}) median, ms",
             f"{nm['recall_hub']['median_ms']:.2f}", f"{base['recall_hub']['median_ms']:.3f}", ""),
            ("recall median (pipeline latency_ms)", f"{nm['recall_pipeline']['median_ms']:.2f}",
             "", "excl. reinforcement"),
            ("first recall (index build), ms", f"{nm['first_recall_ms']:.1f}", "", ""),
            ("peak RSS, MiB", f"{nm['peak_rss_mib']:.0f}", f"{base['peak_rss_mib']:.0f}",
             f"start {nm['rss_start_mib']:.0f} / {base['rss_start_mib']:.0f}"),
            ("DB size incl. -wal, MiB", db, f"{base['db_mib_open']:.1f}", backend),
            ("graph: neurons / synapses",
             f"{graph['neurons']:,} / {graph['synapses']:,}", "", ""),
            ("run time, s", f"{nm['run_s']:.1f}", f"{base['run_s']:.1f}", ""),
        ]  # fmt: skip
        for measure_name, ours, theirs, target in entries:
            lines.append(f"{size:>8,}  {measure_name:<34} {ours:>14} {theirs:>12}  {target}")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print the table (and profile); write the report."""
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="nm-speed-", dir=args.workdir))
    started = time.perf_counter()
    try:
        rows = measure(args, workdir)
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    total = time.perf_counter() - started
    print(f"NeuralMemory speed, backend={args.backend}, seed={args.seed}, "
          f"{args.queries} queries, {args.encode_samples} single encodes; "
          f"{platform.python_version()} on {platform.machine()}, {total:.0f} s in all")  # fmt: skip
    print(table(rows, args.backend))
    for row in rows:
        profile = row["neural_memory"].get("profile")
        if profile:
            print(
                f"recall profile at {row['size']:,} memories ({args.queries} queries), "
                f"{profile['profiler']}:"
            )
            print(profile["tottime"])
            print(profile["cumulative"])
    if args.report:
        report = {
            "benchmark": "speed",
            "created_at": datetime.now(UTC).isoformat(),
            "python": platform.python_version(),
            "machine": platform.machine(),
            "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "targets": {
                "encode_median_ms": ENCODE_TARGET_MS,
                "recall_median_ms": RECALL_TARGET_MS,
                "recall_target_size": RECALL_TARGET_SIZE,
            },
            "total_s": total,
            "results": rows,
        }
        args.report.write_text(json.dumps(report, indent=2))
        print(f"report written to {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
