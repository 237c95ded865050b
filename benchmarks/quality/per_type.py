"""Per question type, side by side: ``python -m benchmarks.quality.per_type REPORT ...``.

Reads harness reports (``python -m benchmarks.quality.run --report FILE``) and prints one
row per question type (LongMemEval) or category (LoCoMo) with, for every system of every
report, the mean of each ``--measure`` and the number of questions. Labels are
``file:system``; ``--systems`` keeps only the named systems.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_MEASURES = ("turn_recall_all@10", "session_recall_all@5")


def columns(paths: Sequence[Path], dataset: str, systems: Sequence[str] | None) -> list[Any]:
    """``(label, groups, counts)`` for every system of every report, in order."""
    out = []
    for path in paths:
        report = json.loads(path.read_text())
        runs = report["datasets"][dataset]["systems"]
        for system, run in runs.items():
            if systems and system not in systems:
                continue
            out.append((f"{path.stem}:{system}", run["groups"], run["counts"]))
    return out


def table(paths: Sequence[Path], dataset: str, measures: Sequence[str],
          systems: Sequence[str] | None) -> str:  # fmt: skip
    """A markdown table: one row per group, one column per (system, measure)."""
    cols = columns(paths, dataset, systems)
    groups: list[str] = []
    for _, by_group, _ in cols:
        groups.extend(g for g in by_group if g not in groups)
    ordered = [g for g in groups if g == "all"] + sorted(g for g in groups if g != "all")
    header = ["group"] + [f"{label} {m}" for label, _, _ in cols for m in measures]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for group in ordered:
        cells = [group]
        for _, by_group, counts in cols:
            for measure in measures:
                value = by_group.get(group, {}).get(measure)
                shown = "-" if value is None else f"{value:.3f}"
                cells.append(f"{shown} ({counts.get(group, 0)})")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Print the table of the reports named on the command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.per_type")
    parser.add_argument("reports", nargs="+", type=Path)
    parser.add_argument("--dataset", default="longmemeval")
    parser.add_argument("--measure", action="append", dest="measures")
    parser.add_argument("--systems", default="", help="comma-separated; default every system")
    args = parser.parse_args(argv)
    systems = [s for s in args.systems.split(",") if s] or None
    print(table(args.reports, args.dataset, args.measures or DEFAULT_MEASURES, systems))


if __name__ == "__main__":
    main()
