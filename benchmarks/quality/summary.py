"""The run's summary across data sets: the ablation table and the PyPI side-by-side.

One row per system with the headline measures of both data sets (LoCoMo turn recall@10 for
all categories, multi-hop and temporal; LongMemEval strict turn recall_all@10 and session
recall_all@5; recall within a 1,000-token context on both) and the query latency. Rows of
the ablation ladder also show what each step adds over the step before it.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.quality.evaluate import SystemRun
from benchmarks.quality.report import aggregate, latency_stats
from benchmarks.quality.systems import ABLATION_LADDER, PYPI_SYSTEM, nm_spec

BASELINE_LABELS = {"bm25": "BM25 baseline", "embedding": "plain MiniLM embeddings"}


@dataclass(frozen=True, slots=True)
class KeyMeasure:
    """One headline figure: a measure averaged over one group of one data set."""

    dataset: str
    group: str
    measure: str
    label: str


KEY_MEASURES: tuple[KeyMeasure, ...] = (
    KeyMeasure("locomo", "all", "recall@10", "LoCoMo R@10"),
    KeyMeasure("locomo", "1:multi-hop", "recall@10", "multi-hop R@10"),
    KeyMeasure("locomo", "2:temporal", "recall@10", "temporal R@10"),
    KeyMeasure("locomo", "all", "context_recall", "LoCoMo ctx1k"),
    KeyMeasure("longmemeval", "all", "turn_recall_all@10", "LME turn R_all@10"),
    KeyMeasure("longmemeval", "all", "session_recall_all@5", "LME sess R_all@5"),
    KeyMeasure("longmemeval", "all", "context_recall", "LME ctx1k"),
)
DATASET_NAMES = {"locomo": "LoCoMo", "longmemeval": "LME"}


def label_of(system: str, run: SystemRun | None = None) -> str:
    """What a row stands for."""
    if system in BASELINE_LABELS:
        return BASELINE_LABELS[system]
    if system == PYPI_SYSTEM:
        version = run.extra.get("version", "?") if run is not None else "?"
        return f"PyPI neural-memory {version}"
    spec = nm_spec(system)
    return spec.label if spec is not None else system


def _order(systems: Sequence[str]) -> list[str]:
    first = [s for s in ("bm25", "embedding") if s in systems]
    ladder = [s for s in ABLATION_LADDER if s in systems]
    return first + ladder + [s for s in systems if s not in first and s not in ladder]


def summary_rows(
    runs_by_dataset: Mapping[str, Sequence[SystemRun]],
    only: Mapping[str, Collection[str]] | None = None,
) -> list[dict[str, Any]]:
    """One row per system: headline measures, latency, failures (``only``: question ids)."""
    names: list[str] = []
    for runs in runs_by_dataset.values():
        names.extend(r.system for r in runs if r.system not in names)
    rows: list[dict[str, Any]] = []
    for system in _order(names):
        row: dict[str, Any] = {"system": system, "measures": {}, "datasets": {}}
        for dataset, runs in runs_by_dataset.items():
            run = next((r for r in runs if r.system == system), None)
            if run is None:
                continue
            row["label"] = label_of(system, run)
            if run.skipped is not None:
                row["datasets"][dataset] = {"skipped": run.skipped}
                continue
            records = run.records
            if only is not None and dataset in only:
                wanted = only[dataset]
                records = [r for r in records if r.question_id in wanted]
            agg = aggregate(dataset, records)
            for key in KEY_MEASURES:
                if key.dataset == dataset:
                    value = agg.means.get(key.group, {}).get(key.measure)
                    row["measures"][key.label] = value
            stats = latency_stats(run, records)
            row["datasets"][dataset] = {
                "questions": len(records),
                "median_ms": stats["median_ms"],
                "p95_ms": stats["p95_ms"],
                "timeouts": stats["timeouts"],
                "errors": stats["errors"],
                "index_seconds": run.index_seconds,
                "same_as": run.same_as,
            }
        row.setdefault("label", label_of(system))
        rows.append(row)
    _add_steps(rows)
    return rows


def _add_steps(rows: list[dict[str, Any]]) -> None:
    """Ladder rows get ``step``: their gain over the previous ladder row that ran."""
    previous: dict[str, Any] | None = None
    for row in rows:
        if row["system"] not in ABLATION_LADDER or not row["measures"]:
            continue
        if previous is not None:
            row["step"] = {
                label: value - previous["measures"][label]
                for label, value in row["measures"].items()
                if value is not None and previous["measures"].get(label) is not None
            }
        previous = row


def _cell(value: float | None, step: float | None = None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    text = f"{value:.3f}"
    return text if step is None else f"{text} ({step:+.3f})"


def _ms(entry: Mapping[str, Any] | None) -> str:
    if not entry or "median_ms" not in entry:
        return "-"
    text = f"{entry['median_ms']:.1f}/{entry['p95_ms']:.1f}"
    failed = int(entry.get("timeouts", 0)) + int(entry.get("errors", 0))
    return text + (f" ({failed} failed)" if failed else "")


def format_summary(title: str, rows: Sequence[dict[str, Any]]) -> str:
    """The rows as a text table (ladder rows show their step over the previous one)."""
    datasets = [d for d in DATASET_NAMES if any(d in r["datasets"] for r in rows)]
    keys = [k for k in KEY_MEASURES if k.dataset in datasets]
    header = [
        "system",
        "what it adds",
        *(k.label for k in keys),
        *(f"{DATASET_NAMES[d]} ms p50/p95" for d in datasets),
    ]
    table: list[list[str]] = []
    notes: list[str] = []
    for row in rows:
        skipped = [v["skipped"] for v in row["datasets"].values() if "skipped" in v]
        if skipped and len(skipped) == len(row["datasets"]):
            notes.append(f"{row['system']}: {skipped[0]}")
            continue
        steps = row.get("step", {})
        cells = [_cell(row["measures"].get(k.label), steps.get(k.label)) for k in keys]
        table.append(
            [
                row["system"],
                row.get("label", ""),
                *cells,
                *(_ms(row["datasets"].get(d)) for d in datasets),
            ]
        )
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    lines = [f"== {title} =="]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in table)
    lines.extend(notes)
    return "\n".join(lines)


def question_counts(rows: Sequence[dict[str, Any]]) -> dict[str, int]:
    """Most questions any system answered per data set (for the table's caption)."""
    out: dict[str, int] = {}
    for row in rows:
        for dataset, entry in row["datasets"].items():
            out[dataset] = max(out.get(dataset, 0), int(entry.get("questions", 0)))
    return out


def pypi_question_ids(runs_by_dataset: Mapping[str, Sequence[SystemRun]]) -> dict[str, set[str]]:
    """Per data set, the questions the PyPI package was asked (empty if it did not run)."""
    out: dict[str, set[str]] = {}
    for dataset, runs in runs_by_dataset.items():
        run = next((r for r in runs if r.system == PYPI_SYSTEM and r.skipped is None), None)
        if run is not None:
            out[dataset] = {r.question_id for r in run.records}
    return out
