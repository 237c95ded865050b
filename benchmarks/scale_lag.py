"""Two ``neural-memory-server`` processes on one PostgreSQL: the catch-up lag.

Part of ``python -m benchmarks.scale`` (see there). The servers (embeddings off) serve a
throwaway database: a copy of the kept PostgreSQL brain of the largest size when the run kept
one (``--workdir DIR --keep``), else a fresh brain of 1,000 memories. Each sample stores a
memory through the first server and then recalls it through the second until it comes back;
the lag is the time from the write's response to that recall's response. Baseline in the same
run: a recall through the second server of a memory it has long known.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
from tests.http_server import ADMIN_KEY, admin_headers
from tests.server.server_process import running_server

from benchmarks.scale import fill, percentile, run_sql
from neural_memory.storage import PostgresStorage

__all__ = ["KeptBrain", "two_servers"]

_PREFILL = 1_000


@dataclass(frozen=True, slots=True)
class KeptBrain:
    """A brain the growth table kept in PostgreSQL: its schema, id and size."""

    schema: str
    brain_id: str
    size: int


def two_servers(
    dsn: str, samples: int, kept: KeptBrain | None = None, prefill: int = _PREFILL
) -> str:
    """Run the two-server measurement on a new database of ``dsn``'s server; a report line.

    With ``kept``, the new database is a copy of ``dsn``'s database whose ``public`` schema
    is the kept brain's schema (the servers serve ``public``); else it gets a fresh brain of
    ``prefill`` memories.
    ``dsn``'s database must have no other connection while it is copied (this one's own
    does not count).
    """
    database = f"lag_{uuid.uuid4().hex[:8]}"
    url = dsn.rsplit("/", 1)[0] + f"/{database}"
    source = dsn.rsplit("/", 1)[1].split("?", 1)[0]
    template = f' TEMPLATE "{source}"' if kept is not None else ""
    asyncio.run(run_sql(dsn, f'CREATE DATABASE "{database}"{template}'))
    try:
        if kept is None:
            brain_id, size = asyncio.run(_prefill(url, prefill)), prefill
        else:
            asyncio.run(run_sql(url, _serve_schema(kept.schema)))
            brain_id, size = kept.brain_id, kept.size
        lags, baseline, first_try = _serve_and_measure(url, brain_id, samples)
    finally:
        asyncio.run(run_sql(dsn, f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    origin = "a copy of the kept brain" if kept is not None else "a fresh brain"
    return (
        f"two servers on one PostgreSQL ({origin} of {size:,} memories, {samples} samples): "
        f"lag {_spread(lags)}; found by the first recall after the write in {first_try} of "
        f"{samples}; baseline recall through the reader {_spread(baseline)}"
    )


def _serve_schema(schema: str) -> str:
    """SQL making ``schema`` the copy's ``public`` (where the servers look for their tables).

    The old ``public`` is renamed, not dropped: an extension such as pgvector may live there.
    """
    return (
        f'ALTER SCHEMA public RENAME TO "old_{uuid.uuid4().hex[:8]}"; '
        f'ALTER SCHEMA "{schema}" RENAME TO public'
    )


def _serve_and_measure(
    url: str, brain_id: str, samples: int
) -> tuple[list[float], list[float], int]:
    """Start two servers on ``url`` (embeddings off) and measure ``samples`` lags."""
    with tempfile.TemporaryDirectory() as home:
        env = {"NEURAL_MEMORY_DB": url, "NEURAL_MEMORY_API_KEY": ADMIN_KEY, "HOME": home}
        unused = Path(home) / "unused.db"
        args = ["--no-embeddings"]
        with (
            running_server(unused, args, env=env) as first,
            running_server(unused, args, env=env) as second,
        ):
            return asyncio.run(_measure(first.url, second.url, brain_id, samples))


def _spread(seconds: list[float]) -> str:
    median, p95 = statistics.median(seconds) * 1e3, percentile(seconds, 0.95) * 1e3
    return f"p50 {median:.1f} ms, p95 {p95:.1f} ms, max {max(seconds) * 1e3:.1f} ms"


async def _prefill(url: str, size: int) -> str:
    async with PostgresStorage(url) as storage:
        kept = await fill(storage, size, size, None)
    return kept.brain_id


async def _measure(
    writer_url: str, reader_url: str, brain_id: str, samples: int
) -> tuple[list[float], list[float], int]:
    headers = admin_headers()
    async with (
        httpx.AsyncClient(base_url=writer_url, timeout=120, headers=headers) as writer,
        httpx.AsyncClient(base_url=reader_url, timeout=120, headers=headers) as reader,
    ):
        recall = f"/brains/{brain_id}/recall"
        warm = await reader.post(recall, json={"query": "What happened last week?"})
        warm.raise_for_status()  # the reader has built its index
        lags: list[float] = []
        baseline: list[float] = []
        first_try = 0
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
