"""Retrieval-quality benchmark: ``python -m benchmarks.quality.run``.

Runs the chosen systems on LoCoMo and/or LongMemEval_S (read in place from
``../shared/data/``), prints one table per data set with every measure per category beside
BM25, the query latency of each system, the README comparison for BM25, and at the end the
ablation table (what each part of the engine adds) and, with ``--with-pypi``, the PyPI
package ``neural-memory`` side by side on the same questions. Optionally writes a JSON
report. Examples::

    python -m benchmarks.quality.run --limit 1 --report out.json
    python -m benchmarks.quality.run --systems bm25,nm_full,nm_sleep --with-pypi \\
        --pypi-limit 20 --report out.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.quality import report, summary
from benchmarks.quality.datasets import (
    LOCOMO_FILE,
    LONGMEMEVAL_FILE,
    SLICES,
    default_data_dir,
    dev_slice,
    load_locomo,
    load_longmemeval,
)
from benchmarks.quality.evaluate import SystemRun, evaluate, question_budget, question_ids
from benchmarks.quality.pypi_neural_memory import DEFAULT_VENV, PACKAGE, PypiSettings
from benchmarks.quality.systems import (
    DEFAULT_SYSTEMS,
    EMBEDDERS,
    PYPI_SYSTEM,
    SYSTEMS,
    SystemOptions,
)

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
        default=",".join(DEFAULT_SYSTEMS),
        help=f"comma-separated, from {','.join(SYSTEMS)} "
        f"(default: the baselines and the ablation ladder, {','.join(DEFAULT_SYSTEMS)})",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=None,
        help="only the first N LoCoMo conversations and N LongMemEval questions",
    )
    parser.add_argument(
        "--slice",
        choices=SLICES,
        default="all",
        help="tune on 'tune' (LoCoMo conv-26/41/43/47, even LongMemEval questions); check on "
        "'heldout' (the rest) before adopting a change (default all)",
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
        "--nm-encoding",
        choices=("metadata", "plain"),
        default="metadata",
        help="metadata: each turn stored with its date and speaker as timestamp and metadata; "
        'plain: as a user writes it, "[2023-05-08 13:56] Ann: text", nothing else',
    )
    parser.add_argument(
        "--lme-no-asker",
        action="store_true",
        help='ask LongMemEval with a plain query() (default: asker="user")',
    )
    parser.add_argument(
        "--nm-context-fibers",
        type=int,
        default=100,
        help="max_fibers for the 1,000-token context query (ids are cut to the top k)",
    )
    parser.add_argument(
        "--nm-embedder",
        choices=EMBEDDERS,
        default="default",
        help="MiniLM runtime of the engine systems with embeddings (default: the install's)",
    )
    parser.add_argument(
        "--lme-turn-pool",
        type=int,
        default=50,
        help="turns fetched per LongMemEval query (session ranking by best turn uses them)",
    )
    _pypi_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    if args.with_pypi and PYPI_SYSTEM not in systems:
        systems.append(PYPI_SYSTEM)
    unknown = [s for s in systems if s not in SYSTEMS]
    if unknown or not systems:
        parser.error(f"unknown systems {unknown}; choose from {', '.join(SYSTEMS)}")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be >= 1")
    if args.pypi_limit is not None and args.pypi_limit < 1:
        parser.error("--pypi-limit must be >= 1 (or 'all')")
    args.system_list = list(dict.fromkeys(systems))
    data_dir = (args.data_dir or default_data_dir()).resolve()
    wanted = DATASETS if args.dataset == "all" else (args.dataset,)
    for name in wanted:
        path = data_dir / (LOCOMO_FILE if name == "locomo" else LONGMEMEVAL_FILE)
        if not path.is_file():
            parser.error(f"{name} data not found: {path} (see --data-dir)")
    args.data_dir = data_dir
    return args


def _limit(text: str) -> int | None:
    return None if text == "all" else int(text)


def _pypi_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        f"PyPI {PACKAGE} side by side (own virtual environment, never a project dependency)"
    )
    group.add_argument(
        "--with-pypi",
        action="store_true",
        help=f"also run the PyPI package {PACKAGE} (system {PYPI_SYSTEM}); the venv is "
        "created and the package installed on first use",
    )
    defaults = PypiSettings()
    group.add_argument(
        "--pypi-limit",
        type=_limit,
        default=defaults.limit,
        help="questions per data set for the PyPI package, spread evenly over the run's "
        f"questions, or 'all' (default {defaults.limit})",
    )
    group.add_argument(
        "--pypi-timeout",
        type=float,
        default=defaults.query_timeout,
        help="seconds per query before it counts as a miss and the worker is restarted "
        f"(default {defaults.query_timeout:g})",
    )
    group.add_argument(
        "--pypi-index-timeout",
        type=float,
        default=defaults.index_timeout,
        help=f"seconds to index one brain (default {defaults.index_timeout:g})",
    )
    group.add_argument("--pypi-venv", type=Path, default=DEFAULT_VENV, help="its venv folder")
    group.add_argument(
        "--pypi-spec",
        default=defaults.spec,
        help=f"what pip installs, e.g. {PACKAGE}==4.63.0 (default {defaults.spec})",
    )


def _progress_total(
    loaded: dict[str, Any], args: argparse.Namespace, options: SystemOptions
) -> int:
    total = 0
    for data in loaded.values():
        ids = question_ids(data)
        total += sum(len(question_budget(s, ids, options)) for s in args.system_list)
    return total


async def run(args: argparse.Namespace) -> dict[str, Any]:
    """Run the benchmark and return the JSON report (tables are printed as it goes)."""
    data_dir: Path = args.data_dir
    datasets = DATASETS if args.dataset == "all" else (args.dataset,)
    loaded: dict[str, Any] = {}
    if "locomo" in datasets:
        conversations = dev_slice(load_locomo(data_dir), args.slice)
        loaded["locomo"] = conversations[: args.limit] if args.limit else conversations
    if "longmemeval" in datasets:
        questions = dev_slice(load_longmemeval(data_dir, strict=True), args.slice)
        loaded["longmemeval"] = questions[: args.limit] if args.limit else questions
    result: dict[str, Any] = {
        "command": shlex.join(["python", "-m", "benchmarks.quality.run", *args.argv]),
        "python_executable": sys.executable,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "data_dir": str(data_dir),
        "limit": args.limit,
        "slice": args.slice,
        "systems": args.system_list,
        "datasets": {},
    }
    all_runs: dict[str, list[SystemRun]] = {}
    with tempfile.TemporaryDirectory(prefix="nm-bench-") as tmp:
        options = SystemOptions(
            nm_storage=args.nm_storage,
            nm_depth=args.nm_depth,
            nm_speaker_prefix=args.nm_speaker_prefix,
            nm_encoding=args.nm_encoding,
            lme_asker=not args.lme_no_asker,
            nm_context_fibers=args.nm_context_fibers,
            sqlite_dir=Path(tmp),
            lme_turn_pool=args.lme_turn_pool,
            nm_embedder=args.nm_embedder,
            pypi=PypiSettings(
                venv=args.pypi_venv,
                spec=args.pypi_spec,
                limit=args.pypi_limit,
                query_timeout=args.pypi_timeout,
                index_timeout=args.pypi_index_timeout,
            ),
        )
        result["options"] = {
            "nm_storage": options.nm_storage,
            "nm_depth": options.nm_depth,
            "nm_speaker_prefix": options.nm_speaker_prefix,
            "nm_encoding": options.nm_encoding,
            "lme_asker": options.lme_asker,
            "nm_context_fibers": options.nm_context_fibers,
            "lme_turn_pool": options.lme_turn_pool,
            "nm_embedder": options.nm_embedder,
            "context_tokens": 1000,
            "pypi": {
                "venv": str(options.pypi.venv),
                "spec": options.pypi.spec,
                "limit": options.pypi.limit,
                "query_timeout_s": options.pypi.query_timeout,
                "index_timeout_s": options.pypi.index_timeout,
            }
            if PYPI_SYSTEM in args.system_list
            else None,
        }
        with tqdm(
            total=_progress_total(loaded, args, options),
            desc="questions",
            file=sys.stderr,
            disable=args.no_progress,
            dynamic_ncols=True,
        ) as progress:
            for name, data in loaded.items():
                started = time.perf_counter()
                runs = await evaluate(name, args.system_list, data, options, progress)
                elapsed = time.perf_counter() - started
                all_runs[name] = runs
                checks = report.reference_check(name, runs)
                tqdm.write(report.format_table(name, runs), file=sys.stdout)
                tqdm.write(report.format_latency(name, runs), file=sys.stdout)
                if checks:
                    text = report.format_reference_check(name, checks)
                    if args.limit is not None or args.slice != "all":
                        text += "\n(limited run: not comparable with the README figures)"
                    tqdm.write(text, file=sys.stdout)
                tqdm.write(f"({name} took {elapsed:.1f} s)\n", file=sys.stdout)
                entry = report.dataset_report(name, runs, checks)
                entry["seconds"] = elapsed
                result["datasets"][name] = entry
    result["summary"] = _summaries(all_runs)
    return result


def _summaries(all_runs: dict[str, list[SystemRun]]) -> dict[str, Any]:
    """Print the ablation table (and the PyPI side-by-side) and return them for the JSON."""
    rows = summary.summary_rows(all_runs)
    counts = summary.question_counts(rows)
    caption = ", ".join(f"{summary.DATASET_NAMES[d]} {n} q" for d, n in counts.items())
    print(summary.format_summary(f"ablation summary ({caption})", rows))
    print(
        "(each ladder row shows its gain over the row above; latency in ms, median/p95; "
        "ctx1k = evidence inside the 1,000-token context)\n"
    )
    out: dict[str, Any] = {"ablation": rows, "pypi_side_by_side": None}
    subset = summary.pypi_question_ids(all_runs)
    if subset:
        side = summary.summary_rows(all_runs, only=subset)
        sizes = ", ".join(f"{summary.DATASET_NAMES[d]} {len(q)} q" for d, q in subset.items())
        print(
            summary.format_summary(
                f"side by side on the questions the PyPI package ran ({sizes})", side
            )
        )
        print("(failed = timed out or errored queries, counted as misses)\n")
        out["pypi_side_by_side"] = {
            "questions": {d: sorted(q) for d, q in subset.items()},
            "rows": side,
        }
    return out


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
