"""Two ``neural-memory-server`` processes on one PostgreSQL: the catch-up lag.

Part of ``python -m benchmarks.scale`` (see there). A fresh database gets a brain of 1,000
memories; two server processes serve it. Each sample stores a memory through
the first server and then recalls it through the second until it comes back; the lag is the
time from the write's response to that recall's response. Baseline in the same run: a recall
through the second server of a memory it has long known.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from tests.http_server import ADMIN_KEY, admin_headers
from tests.server.server_process import running_server

from benchmarks.scale import fill, percentile, run_sql
from neural_memory.storage import PostgresStorage

__all__ = ["two_servers"]

_PREFILL = 1_000


def two_servers(dsn: str, samples: int) -> str:
    """Run the two-server measurement on a new database of ``dsn``'s server; a report line."""
    database = f"lag_{uuid.uuid4().hex[:8]}"
    asyncio.run(run_sql(dsn, f'CREATE DATABASE "{database}"'))
    url = dsn.rsplit("/", 1)[0] + f"/{database}"
    try:
        brain_id = asyncio.run(_prefill(url))
        with tempfile.TemporaryDirectory() as home:
            env = {"NEURAL_MEMORY_DB": url, "NEURAL_MEMORY_API_KEY": ADMIN_KEY, "HOME": home}
            unused = Path(home) / "unused.db"
            with (
                running_server(unused, env=env) as first,
                running_server(unused, env=env) as second,
            ):
                lags, baseline, first_try = asyncio.run(
                    _measure(first.url, second.url, brain_id, samples)
                )
    finally:
        asyncio.run(run_sql(dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    return (
        f"two servers on one PostgreSQL ({_PREFILL:,} memories, {samples} samples): "
        f"lag {_spread(lags)}; found by the first recall after the write in {first_try} of "
        f"{samples}; baseline recall through the reader {_spread(baseline)}"
    )


def _spread(seconds: list[float]) -> str:
    median, p95 = statistics.median(seconds) * 1e3, percentile(seconds, 0.95) * 1e3
    return f"p50 {median:.1f} ms, p95 {p95:.1f} ms, max {max(seconds) * 1e3:.1f} ms"


async def _prefill(url: str) -> str:
    async with PostgresStorage(url) as storage:
        brain_id, _ = await fill(storage, _PREFILL, _PREFILL)
    return brain_id


async def _measure(
    writer_url: str, reader_url: str, brain_id: str, samples: int
) -> tuple[list[float], list[float], int]:
    headers = admin_headers()
    async with (
        httpx.AsyncClient(base_url=writer_url, timeout=60, headers=headers) as writer,
        httpx.AsyncClient(base_url=reader_url, timeout=60, headers=headers) as reader,
    ):
        recall = f"/brains/{brain_id}/recall"
        await reader.post(recall, json={"query": "What happened last week?"})  # build its index
        lags, baseline, first_try = [], [], 0
        for sample in range(samples):
            marker = f"probe{uuid.uuid4().hex[:10]}"
            stored = await writer.post(
                f"/brains/{brain_id}/memories",
                json={"text": f"Carol filed ticket {marker} about the billing service"},
            )
            stored.raise_for_status()
            fiber_id = stored.json()["fiber_id"]
            written = time.perf_counter()
            attempts = 0
            while True:
                attempts += 1
                found = await reader.post(recall, json={"query": f"ticket {marker}"})
                found.raise_for_status()
                if any(f["fiber_id"] == fiber_id for f in found.json()["fibers"]):
                    break
            lags.append(time.perf_counter() - written)
            first_try += attempts == 1
            started = time.perf_counter()
            await reader.post(recall, json={"query": f"What did Carol do? {sample}"})
            baseline.append(time.perf_counter() - started)
    return lags, baseline, first_try
