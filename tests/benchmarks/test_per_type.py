"""The per-type table reads harness reports side by side."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.quality.per_type import table


def _report(path: Path, groups: dict[str, dict[str, float]], counts: dict[str, int]) -> Path:
    run = {"groups": groups, "counts": counts}
    body = {"datasets": {"longmemeval": {"systems": {"bm25": run, "neural_memory": run}}}}
    path.write_text(json.dumps(body))
    return path


def test_one_row_per_group_all_first_with_counts(tmp_path: Path) -> None:
    tune = _report(
        tmp_path / "tune.json",
        {"all": {"turn_recall_all@10": 0.75}, "multi-session": {"turn_recall_all@10": 0.5}},
        {"all": 4, "multi-session": 2},
    )
    held = _report(
        tmp_path / "held.json",
        {"all": {"turn_recall_all@10": 1.0}, "temporal-reasoning": {"turn_recall_all@10": 1.0}},
        {"all": 1, "temporal-reasoning": 1},
    )

    lines = table([tune, held], "longmemeval", ["turn_recall_all@10"], ["neural_memory"])
    rows = lines.splitlines()

    assert rows[0] == (
        "| group | tune:neural_memory turn_recall_all@10 | held:neural_memory turn_recall_all@10 |"
    )
    assert rows[2] == "| all | 0.750 (4) | 1.000 (1) |"
    assert rows[3] == "| multi-session | 0.500 (2) | - (0) |"
    assert rows[4] == "| temporal-reasoning | - (0) | 1.000 (1) |"
