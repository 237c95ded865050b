"""End-to-end: the BM25 run reproduces the README figures; the CLI writes a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmarks.quality import run as bench
from benchmarks.quality.datasets import LOCOMO_FILE, LONGMEMEVAL_FILE, default_data_dir

DATA = default_data_dir()
pytestmark = pytest.mark.skipif(
    not ((DATA / LOCOMO_FILE).is_file() and (DATA / LONGMEMEVAL_FILE).is_file()),
    reason=f"benchmark data not found under {DATA}",
)


async def test_bm25_reproduces_readme_figures() -> None:
    args = bench.parse_args(["--systems", "bm25", "--no-progress"])
    result = await bench.run(args)
    checks = [
        check
        for dataset in ("locomo", "longmemeval")
        for check in result["datasets"][dataset]["readme_bm25_check"]
    ]
    assert len(checks) == 10
    failed = [c for c in checks if not c["ok"]]
    assert not failed, failed


def test_cli_limit_and_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    code = bench.main(["--systems", "bm25", "--limit", "1", "--report", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "== locomo ==" in printed and "== longmemeval ==" in printed
    assert "median" in printed
    report = json.loads(out.read_text(encoding="utf-8"))
    locomo = report["datasets"]["locomo"]["systems"]["bm25"]
    assert locomo["counts"]["all"] == 197
    assert 0.0 <= locomo["groups"]["all"]["recall@5"] <= 1.0
    assert len(locomo["questions"]) == 197
    lme = report["datasets"]["longmemeval"]["systems"]["bm25"]
    assert lme["counts"]["all"] == 1
    assert lme["latency"]["median_ms"] >= 0.0


def test_unknown_system_is_rejected() -> None:
    with pytest.raises(SystemExit):
        bench.parse_args(["--systems", "bm25,nope"])
