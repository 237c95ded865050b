"""The brain-version benchmark, in process, on SQLite and the test Redis server."""

from __future__ import annotations

from benchmarks.brain_version import measure


async def test_version_reads_and_syncs_are_timed_on_sqlite_and_redis(redis_url: str) -> None:
    figures = await measure(20, redis_url)
    assert set(figures) == {"sqlite version", "sqlite sync", "redis version", "redis sync"}
    assert all(value >= 0 for value in figures.values())
