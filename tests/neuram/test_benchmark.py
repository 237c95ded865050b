"""The neuram speed benchmark runs end to end at a tiny size (so it does not rot)."""

from __future__ import annotations

from pathlib import Path

import pytest
from benchmarks.neuram_speed import measure, parse_args, pct, print_table


async def test_benchmark_measures_a_tiny_brain(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parse_args(["--sizes", "60", "--backends", "sqlite", "--queries", "5"])
    args.perceive_samples = 5
    result = await measure("sqlite", 60, None, args, tmp_path, {})
    assert result.size == 60 and result.embeddings == "off"
    assert len(result.recall_ms) == 5 and len(result.perceive_ms) == 5
    assert result.perceive_per_s > 0 and result.consolidate_s > 0
    print_table([result])
    assert "sqlite" in capsys.readouterr().out
    assert pct([3.0, 1.0, 2.0], 0.5) == 2.0
    with pytest.raises(SystemExit):
        parse_args(["--backends", "postgres"])
    with pytest.raises(SystemExit):
        parse_args(["--runtimes", "tensorflow"])
