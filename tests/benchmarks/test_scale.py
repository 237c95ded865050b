"""The scale benchmark: a tiny growth row on SQLite and PostgreSQL, end to end."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from benchmarks.scale import Kept, Store, fill, main, measure, percentile, run_sql, table_line
from benchmarks.scale_lag import two_servers

from neural_memory.storage import SQLiteStorage
from tests.postgres_server import PostgresServer


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 51.0
    assert percentile(values, 0.95) == 96.0
    assert percentile([3.0], 0.95) == 3.0


async def test_a_sqlite_row_measures_every_column(tmp_path: Path) -> None:
    row = await measure(Store("sqlite", str(tmp_path / "scale.db")), 120, 50, 3)
    assert (row.backend, row.size) == ("sqlite", 120)
    assert row.encode_rate > 0 and row.cold_open_s > 0 and row.peak_rss_mib > 0
    assert 0 < row.recall_p50_ms <= row.recall_p95_ms
    assert row.disk_bytes_per_memory > 100  # the file holds the memories
    assert table_line(row).startswith("| sqlite | 120 |")


async def test_a_postgres_row_counts_the_brain_schema_on_disk(
    postgres_server: PostgresServer,
) -> None:
    dsn = postgres_server.url("postgres", driver="postgresql")
    store = Store("postgres", dsn, f"scale_{uuid.uuid4().hex[:8]}")
    try:
        row = await measure(store, 120, 60, 2)
    finally:
        await run_sql(dsn, f'DROP SCHEMA "{store.schema}" CASCADE')
    assert row.backend == "postgres" and row.disk_bytes_per_memory > 100
    assert 0 < row.recall_p50_ms <= row.recall_p95_ms


async def test_a_kept_brain_is_resumed_where_its_note_stops_then_reused(tmp_path: Path) -> None:
    note = tmp_path / "sqlite-90.json"
    store = Store("sqlite", str(tmp_path / "scale-90.db"))
    async with store.open() as storage:
        kept = await fill(storage, 90, 30, note)
        assert Kept.load(note) == kept and kept.encoded == 90
        interrupted = Kept(kept.brain_id, 60, kept.schema_version, ((0, 60, 1.0),))
        interrupted.save(note)
        partial = await measure(store, 90, 30, 2, note, resume=False)
        assert (partial.size, partial.reused) == (60, True)
        resumed = await fill(storage, 90, 30, note)
        stats = await storage.get_stats()
    assert resumed.brain_id == kept.brain_id and resumed.encoded == 90
    assert [run[:2] for run in resumed.runs] == [(0, 60), (60, 90)]
    assert stats.fiber_count <= 90  # the last batch again: merged, not stored twice
    row = await measure(store, 90, 30, 2, note)
    assert row.reused and row.size == 90 and "(kept)" in table_line(row)


def test_the_command_measures_then_lags_two_servers_on_a_copy_of_the_kept_brain(
    postgres_server: PostgresServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    database = asyncio.run(postgres_server.create_database())
    dsn = postgres_server.url(database, driver="postgresql")
    words = ["--sizes", "40", "--backends", "postgres", "--queries", "2", "--lag-samples", "2"]
    main([*words, "--dsn", dsn, "--workdir", str(tmp_path), "--keep"])
    out = capsys.readouterr().out
    assert "| postgres | 40 |" in out
    assert "two servers on one PostgreSQL (a copy of the kept brain of 40 memories" in out
    assert "found by the first recall after the write in 2 of 2" in out  # within 100 ms
    assert Kept.load(tmp_path / "postgres-40.json") is not None  # the kept brain stays


def test_two_servers_lag_on_a_fresh_brain(postgres_server: PostgresServer) -> None:
    database = asyncio.run(postgres_server.create_database())
    line = two_servers(postgres_server.url(database, driver="postgresql"), 1, prefill=30)
    assert line.startswith("two servers on one PostgreSQL (a fresh brain of 30 memories")
    assert "lag p50" in line and "baseline recall through the reader p50" in line


def test_embeddings_on_embed_every_memory_in_a_brain_kept_apart(tmp_path: Path) -> None:
    sizes = ["--sizes", "40", "--backends", "sqlite", "--lag-samples", "0", "--queries", "2"]
    main([*sizes, "--workdir", str(tmp_path), "--keep", "--embeddings"])
    kept = Kept.load(tmp_path / "sqlite-40-embedded.json")
    assert kept is not None and kept.encoded == 40
    assert not (tmp_path / "scale-40.db").exists()  # a brain without embeddings is not reused
    embedder = Store("sqlite", "", embedded=True).embedder()
    assert embedder is not None

    async def vectors_and_memories() -> tuple[int, int]:
        async with SQLiteStorage(str(tmp_path / "scale-40-embedded.db")) as storage:
            storage.set_brain(kept.brain_id)
            vectors = await storage.get_vectors(embedder.name)
            return len(vectors), (await storage.get_stats()).fiber_count

    vectors, memories = asyncio.run(vectors_and_memories())
    assert memories > 0 and vectors == memories
