"""Aggregate per-question records into tables (printed) and a JSON report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmarks.quality import metrics as m
from benchmarks.quality.evaluate import QuestionRecord, SystemRun

BASELINE = "bm25"
TOLERANCE = 0.005

# The README's BM25 figures on the dev splits: (dataset, group, measure) -> value.
README_BM25: dict[tuple[str, str, str], float] = {
    ("locomo", "all", "recall@5"): 0.539,
    ("locomo", "all", "recall@10"): 0.613,
    ("locomo", "cats 1-4", "recall@5"): 0.528,
    ("locomo", "cats 1-4", "recall@10"): 0.602,
    ("locomo", "1:multi-hop", "recall@5"): 0.186,
    ("locomo", "1:multi-hop", "recall@10"): 0.270,
    ("longmemeval", "all", "session_recall_all@5"): 0.894,
    ("longmemeval", "all", "session_recall_all@10"): 0.918,
    ("longmemeval", "all", "turn_recall_all@5"): 0.600,
    ("longmemeval", "all", "turn_recall_all@10"): 0.741,
}
README_COUNTS: dict[tuple[str, str], int] = {
    ("locomo", "all"): 1345,
    ("locomo", "cats 1-4"): 1033,
    ("locomo", "1:multi-hop"): 192,
    ("longmemeval", "all"): 85,
}

MEASURE_ORDER: dict[str, tuple[str, ...]] = {
    "locomo": ("recall@5", "recall@10", "context_recall"),
    "longmemeval": (
        "session_recall_all@5",
        "session_recall_all@10",
        "session_recall_any@5",
        "session_recall_any@10",
        "session_ndcg@10",
        "session_by_turn_recall_all@5",
        "session_by_turn_recall_all@10",
        "turn_recall_all@5",
        "turn_recall_all@10",
        "turn_recall_any@5",
        "turn_recall_any@10",
        "turn_ndcg@10",
        "context_recall",
    ),
}


def groups_of(dataset: str, record: QuestionRecord) -> list[str]:
    """The groups a question is averaged into."""
    if dataset == "locomo":
        category = int(record.group.split(":", 1)[0])
        groups = ["all"]
        if 1 <= category <= 4:
            groups.append("cats 1-4")
        return [*groups, record.group]
    return ["all", record.group]


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Mean of every measure per group, with the number of questions behind it."""

    means: dict[str, dict[str, float]]
    counts: dict[str, int]


def aggregate(dataset: str, records: Sequence[QuestionRecord]) -> Aggregate:
    """Average each measure over the questions of each group."""
    values: dict[str, dict[str, list[float]]] = {}
    counts: dict[str, int] = {}
    for record in records:
        for group in groups_of(dataset, record):
            counts[group] = counts.get(group, 0) + 1
            bucket = values.setdefault(group, {})
            for name, value in record.measures.items():
                bucket.setdefault(name, []).append(value)
    means = {
        group: {name: m.mean(vals) for name, vals in bucket.items()}
        for group, bucket in values.items()
    }
    return Aggregate(means=means, counts=counts)


def _group_order(groups: Sequence[str]) -> list[str]:
    fixed = [g for g in ("all", "cats 1-4") if g in groups]
    return fixed + sorted(g for g in groups if g not in fixed)


def _fmt(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.3f}"


def format_table(dataset: str, runs: Sequence[SystemRun]) -> str:
    """Every measure per group, each system beside BM25 (with its difference)."""
    active = [run for run in runs if run.skipped is None]
    if not active:
        return f"{dataset}: no system ran"
    aggs = {run.system: aggregate(dataset, run.records) for run in active}
    names = [run.system for run in active]
    if BASELINE in names:
        names.remove(BASELINE)
        names.insert(0, BASELINE)
    first = aggs[names[0]]
    header = ["group", "measure", "n", *names]
    rows: list[list[str]] = []
    for group in _group_order(list(first.counts)):
        for measure in MEASURE_ORDER[dataset]:
            cells: list[str] = []
            present = False
            base = aggs[BASELINE].means.get(group, {}).get(measure) if BASELINE in aggs else None
            for name in names:
                value = aggs[name].means.get(group, {}).get(measure)
                present = present or value is not None
                cell = _fmt(value)
                if name != BASELINE and value is not None and base is not None:
                    cell += f" ({value - base:+.3f})"
                cells.append(cell)
            if present:
                rows.append([group, measure, str(first.counts.get(group, 0)), *cells])
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [f"== {dataset} =="]
    lines.append("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    lines.append("  ".join("-" * w for w in widths))
    previous = ""
    for row in rows:
        if row[0] != previous and previous:
            lines.append("")
        previous = row[0]
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))
    return "\n".join(lines)


def _timed(record: QuestionRecord) -> bool:
    """Records whose latency means something: answered, or cut at the time limit."""
    return record.failure is None or record.failure == "timeout"


def failure_counts(records: Sequence[QuestionRecord]) -> dict[str, int]:
    """Questions that scored 0 because the system failed, by reason."""
    counts: dict[str, int] = {}
    for record in records:
        if record.failure is not None:
            counts[record.failure] = counts.get(record.failure, 0) + 1
    return counts


def latency_stats(
    run: SystemRun, records: Sequence[QuestionRecord] | None = None
) -> dict[str, Any]:
    """Median and p95 query latency (ms), failures, plus indexing totals.

    A query that timed out counts at the time limit (a lower bound); a question whose
    brain could not be indexed has no latency.
    """
    chosen = run.records if records is None else records
    latencies = [r.latency_ms for r in chosen if _timed(r)]
    failures = failure_counts(chosen)
    return {
        "queries": float(len(latencies)),
        "median_ms": m.percentile(latencies, 50),
        "p95_ms": m.percentile(latencies, 95),
        "timeouts": sum(n for f, n in failures.items() if "timeout" in f),
        "errors": sum(n for f, n in failures.items() if "error" in f),
        "failures": failures,
        "index_seconds": run.index_seconds,
        "indexed_docs": float(run.indexed_docs),
    }


def format_latency(dataset: str, runs: Sequence[SystemRun]) -> str:
    """One line per system: query latency median / p95, failures and indexing cost."""
    lines = [f"-- {dataset}: query latency --"]
    for run in runs:
        if run.skipped is not None:
            lines.append(f"{run.system:<18} skipped: {run.skipped}")
            continue
        s = latency_stats(run)
        line = (
            f"{run.system:<18} median {s['median_ms']:8.2f} ms   p95 {s['p95_ms']:8.2f} ms   "
            f"({int(s['queries'])} queries; indexed {int(s['indexed_docs'])} docs "
            f"in {s['index_seconds']:.1f} s)"
        )
        if s["failures"]:
            line += "   failed: " + ", ".join(f"{n} {f}" for f, n in sorted(s["failures"].items()))
        if run.same_as is not None:
            line += f"   [same configuration as {run.same_as}: not run again]"
        lines.append(line)
    return "\n".join(lines)


def reference_check(dataset: str, runs: Sequence[SystemRun]) -> list[dict[str, Any]]:
    """Compare this run's BM25 with the README's figures (within ``TOLERANCE``)."""
    bm25 = next((r for r in runs if r.system == BASELINE and r.skipped is None), None)
    if bm25 is None:
        return []
    agg = aggregate(dataset, bm25.records)
    checks: list[dict[str, Any]] = []
    for (ds, group, measure), expected in README_BM25.items():
        if ds != dataset:
            continue
        got = agg.means.get(group, {}).get(measure, math.nan)
        n = agg.counts.get(group, 0)
        expected_n = README_COUNTS.get((ds, group))
        checks.append(
            {
                "group": group,
                "measure": measure,
                "n": n,
                "expected_n": expected_n,
                "expected": expected,
                "got": got,
                "ok": n == expected_n and abs(got - expected) <= TOLERANCE,
            }
        )
    return checks


def format_reference_check(dataset: str, checks: Sequence[dict[str, Any]]) -> str:
    """Human-readable README comparison."""
    if not checks:
        return ""
    lines = [f"-- {dataset}: BM25 vs README (tolerance ±{TOLERANCE}) --"]
    for c in checks:
        status = "ok" if c["ok"] else "MISMATCH"
        lines.append(
            f"{c['group']:<12} {c['measure']:<24} got {_fmt(c['got'])} "
            f"expected {c['expected']:.3f}  n={c['n']}/{c['expected_n']}  {status}"
        )
    return "\n".join(lines)


def dataset_report(
    dataset: str, runs: Sequence[SystemRun], checks: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """JSON-ready summary and per-question records of one data set."""
    systems: dict[str, Any] = {}
    for run in runs:
        if run.skipped is not None:
            systems[run.system] = {"skipped": run.skipped}
            continue
        agg = aggregate(dataset, run.records)
        systems[run.system] = {
            "groups": agg.means,
            "counts": agg.counts,
            "latency": latency_stats(run),
            "same_as": run.same_as,
            "details": run.extra,
            "questions": [
                {
                    "id": r.question_id,
                    "group": r.group,
                    "latency_ms": r.latency_ms,
                    "failure": r.failure,
                    **r.measures,
                }
                for r in run.records
            ],
        }
    return {"systems": systems, "readme_bm25_check": list(checks)}


def json_safe(value: Any) -> Any:
    """Replace NaN (not valid JSON) by ``None``, recursively."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value
