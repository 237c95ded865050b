"""The speed benchmark's data, statistics and a tiny end-to-end run."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from benchmarks.speed import parse_args, table
from benchmarks.speed_data import REFERENCE_TIME, make_memories, make_queries, top_speaker
from benchmarks.speed_runs import RunOptions, fts_query, latency_summary, run_baseline, run_neural


def test_memories_are_deterministic_dated_and_have_hub_speakers() -> None:
    memories = make_memories(2000, seed=3)
    assert memories == make_memories(2000, seed=3)
    assert memories != make_memories(2000, seed=4)
    assert all(m.at < REFERENCE_TIME for m in memories)
    assert [m.at for m in memories] == sorted(m.at for m in memories)
    assert (memories[-1].at - memories[0].at).days > 600
    speakers = Counter(m.speaker for m in memories)
    assert speakers.most_common(1)[0][0] == top_speaker()
    assert speakers[top_speaker()] > 0.15 * len(memories)
    assert len({m.text for m in memories}) > 0.9 * len(memories)


def test_queries_mix_regular_and_hub_questions() -> None:
    queries = make_queries(200, seed=3)
    assert queries == make_queries(200, seed=3)
    hubs = [q for q in queries if q.hub]
    assert 10 <= len(hubs) <= 60
    assert any(top_speaker() in q.text for q in hubs)


def test_latency_summary_in_milliseconds() -> None:
    summary = latency_summary([0.001 * i for i in range(1, 101)])
    assert summary["median_ms"] == pytest.approx(50.5)
    assert summary["p95_ms"] == pytest.approx(95.0)
    assert summary["max_ms"] == pytest.approx(100.0)


def test_fts_query_is_safe_for_fts5() -> None:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(text)")
    conn.execute("INSERT INTO t VALUES ('Carol leads the mobile team')")
    for question in ('Who leads "the" team? (AND) OR NOT*', "the of a", "Carol's team-lead"):
        conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts_query(question),)).fetchall()
    assert fts_query("Who leads the mobile team?") == '"leads" OR "mobile" OR "team"'


def test_a_tiny_run_of_both_systems_reports_every_figure(tmp_path: Path) -> None:
    options = RunOptions(
        size=60, backend="sqlite", workdir=str(tmp_path), batch=25, encode_samples=5, queries=8
    )
    neural, baseline = run_neural(options), run_baseline(options)
    assert neural["graph"]["fibers"] == 65
    assert neural["recall"]["median_ms"] > 0
    assert neural["encode"]["median_ms"] > 0
    assert neural["db_mib_open"] > 0
    assert 0 < baseline["recall"]["median_ms"] < 1000
    row = {"size": 60, "neural_memory": neural | {"run_s": 1.0}, "baseline": baseline}
    row["baseline"]["run_s"] = 1.0
    text = table([row], "sqlite")
    assert "recall median, ms" in text
    assert "<= 2 ms" in text
    json.dumps(row)


def test_sizes_are_parsed_and_checked() -> None:
    assert parse_args(["--sizes", "1000,10_000"]).size_list == [1000, 10_000]
    with pytest.raises(SystemExit):
        parse_args(["--sizes", "ten"])
