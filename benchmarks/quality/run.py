"""Retrieval-quality benchmark: ``python -m benchmarks.quality.run``.

Runs the chosen systems on LoCoMo and/or LongMemEval_S (read in place from
``../shared/data/``), prints one table per data set with every measure per category beside
BM25, the query latency of each system, the README comparison for BM25, and optionally
writes a JSON report. Example::

    python -m benchmarks.quality.run --dataset all --systems bm25,neural_memory \\
        --limit 2 --report out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.quality import report
from benchmarks.quality.datasets import (
    LOCOMO_FILE,
    LONGMEMEVAL_FILE,
    default_data_dir,
    load_locomo,
    load_longmemeval,
)
from benchmarks.quality.evaluate import SYSTEMS, SystemOptions, evaluate

DATASETS = ("locomo", "longmemeval")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.quality.run",
        description="Retrieval quality on LoCoMo and LongMemEval_S (no LLM).",
    )
    parser.add_argument("--dataset", choices=(*DATASETS, "all"), default="all")
    parser.add_argument(
        "--systems",
        default="bm25,embedding,neural_memory",
        help=f"comma-separated, from {','.join(SYSTEMS)} (default: all)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="only the first N LoCoMo conversations and N LongMemEval questions",
    )
    parser.add_argument("--report", type=Path, default=None, help="write a JSON report here")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="folder with locomo/ and longmemeval/ (default: ../shared/data from the repo)",
    )
    parser.add_argument("--nm-storage", choices=("memory", "sqlite"), default="memory")
    parser.add_argument(
        "--nm-depth", choices=("INSTANT", "CONTEXT", "HABIT", "DEEP"), default="CONTEXT"
    )
    parser.add_argument(
        "--nm-speaker-prefix",
        action="store_true",
        help='encode "Speaker: text" instead of the bare text (speaker is always metadata)',
    )
    parser.add_argument(
        "--nm-context-fibers",
        type=int,
        default=100,
        help="max_fibers for the 1,000-token context query (ids are cut to the top k)",
    )
    parser.add_argument(
        "--lme-turn-pool",
        type=int,
        default=50,
        help="turns fetched per LongMemEval query (session ranking by best turn uses them)",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems:
        parser.error(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be >= 1")
    args.system_list = systems
    data_dir = (args.data_dir or default_data_dir()).resolve()
    wanted = DATASETS if args.dataset == "all" else (args.dataset,)
    for name in wanted:
        path = data_dir / (LOCOMO_FILE if name == "locomo" else LONGMEMEVAL_FILE)
        if not path.is_file():
            parser.error(f"{name} data not found: {path} (see --data-dir)")
    args.data_dir = data_dir
    return args


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return the JSON report (tables are printed as it goes)."""
    data_dir: Path = args.data_dir
    datasets = DATASETS if args.dataset == "all" else (args.dataset,)
    loaded: dict[str, Any] = {}
    if "locomo" in datasets:
        conversations = load_locomo(data_dir)
        loaded["locomo"] = conversations[: args.limit] if args.limit else conversations
    if "longmemeval" in datasets:
        questions = load_longmemeval(data_dir, strict=True)
        loaded["longmemeval"] = questions[: args.limit] if args.limit else questions
    total = 0
    for name, data in loaded.items():
        per_system = sum(len(c.questions) for c in data) if name == "locomo" else len(data)
        total += per_system * len(args.system_list)
    result: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.quality.run", *sys.argv[1:]]),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "data_dir": str(data_dir),
        "limit": args.limit,
        "systems": args.system_list,
        "datasets": {},
    }
    with tempfile.TemporaryDirectory(prefix="nm-bench-") as tmp:
        options = SystemOptions(
            nm_storage=args.nm_storage,
            nm_depth=args.nm_depth,
            nm_speaker_prefix=args.nm_speaker_prefix,
            nm_context_fibers=args.nm_context_fibers,
            sqlite_dir=Path(tmp),
            lme_turn_pool=args.lme_turn_pool,
        )
        result["options"] = {
            "nm_storage": options.nm_storage,
            "nm_depth": options.nm_depth,
            "nm_speaker_prefix": options.nm_speaker_prefix,
            "nm_context_fibers": options.nm_context_fibers,
            "lme_turn_pool": options.lme_turn_pool,
        }
        with tqdm(
            total=total,
            desc="questions",
            file=sys.stderr,
            disable=args.no_progress,
            dynamic_ncols=True,
        ) as progress:
            for name, data in loaded.items():
                started = time.perf_counter()
                runs = await evaluate(name, args.system_list, data, options, progress)
                elapsed = time.perf_counter() - started
                checks = report.reference_check(name, runs)
                tqdm.write(report.format_table(name, runs), file=sys.stdout)
                tqdm.write(report.format_latency(name, runs), file=sys.stdout)
                if checks:
                    text = report.format_reference_check(name, checks)
                    if args.limit is not None:
                        text += "\n(limited run: not comparable with the README figures)"
                    tqdm.write(text, file=sys.stdout)
                tqdm.write(f"({name} took {elapsed:.1f} s)\n", file=sys.stdout)
                entry = report.dataset_report(name, runs, checks)
                entry["seconds"] = elapsed
                result["datasets"][name] = entry
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    args = parse_args(argv)
    result = asyncio.run(run(args))
    if args.report is not None:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        args.report.write_text(
            json.dumps(report.json_safe(result), indent=2, sort_keys=False) + "\n",
            encoding="utf-8",
        )
        print(f"report written to {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
