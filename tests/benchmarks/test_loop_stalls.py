"""The loop-stall benchmark: its figures from the gaps, and one run on a small brain."""

from __future__ import annotations

import asyncio
from pathlib import Path

from benchmarks.loop_stalls import gap_figures, measure
from benchmarks.recall_cpu import build


def test_gap_figures_are_the_worst_gap_the_99th_percentile_and_the_long_ones() -> None:
    gaps = [0.001] * 98 + [0.06, 0.2]
    figures = gap_figures(gaps, 1.23456)
    assert figures == {"seconds": 1.235, "worst_ms": 200.0, "p99_ms": 200.0, "over_50ms": 2.0}
    assert gap_figures([], 0.0)["worst_ms"] == 0.0


def test_a_run_measures_the_store_and_the_consolidation(tmp_path: Path) -> None:
    brain = tmp_path / "brain.db"
    asyncio.run(build(brain, 40))
    found = asyncio.run(measure(brain))
    assert set(found) == {"store max-size memory, recall", "consolidate"}
    for figures in found.values():
        assert figures["seconds"] > 0 and figures["worst_ms"] >= figures["p99_ms"] > 0
