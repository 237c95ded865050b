"""The cold-open benchmark, end to end on a tiny brain (this checkout timed as "before" too)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.cold_open import measure


def test_a_tiny_cold_open_is_timed_before_and_after(tmp_path: Path) -> None:
    source = Path(__file__).resolve().parents[2] / "src"
    row = measure(60, tmp_path, 1, source)
    assert row["size"] == 60
    assert row["open_first_recall_s"] > 0 and row["before_open_first_recall_s"] > 0
    assert row["first_open_s"] >= row["rebuild_first_s"] > 0 and row["baseline_scan_s"] > 0
    assert (tmp_path / "cold-open-60.after.db").exists()
