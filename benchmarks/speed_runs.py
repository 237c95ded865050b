"""One measurement run of the speed benchmark, meant to run in a fresh process of its own.

``run_neural`` builds a NeuralMemory brain of N memories and measures it; ``run_baseline``
does the same work with plain SQLite (single-row INSERTs, an FTS5 table searched by BM25).
Each returns a dict of figures; the peak RSS is the process's own, hence one process per run.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import os
import pstats
import resource
import sqlite3
import statistics
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from benchmarks.speed_data import (
    REFERENCE_TIME,
    SyntheticMemory,
    SyntheticQuery,
    make_memories,
    make_queries,
)
from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.engine.text import STOP_WORDS, tokenize
from neural_memory.storage import InMemoryStorage, SQLiteStorage, Storage

__all__ = ["RunOptions", "latency_summary", "run_baseline", "run_neural"]

_WARMUP_QUERIES = 5


@dataclass(frozen=True, slots=True)
class RunOptions:
    """What one run measures."""

    size: int
    backend: str
    workdir: str
    seed: int = 7
    batch: int = 500
    encode_samples: int = 200
    queries: int = 200
    profile: bool = False
    profile_top: int = 25
    profile_out: str | None = None

    def data(self) -> tuple[list[SyntheticMemory], list[SyntheticMemory], list[SyntheticQuery]]:
        """The bulk memories, the single-encode samples and the queries (same every run)."""
        memories = make_memories(self.size + self.encode_samples, self.seed)
        return (
            memories[: self.size],
            memories[self.size :],
            make_queries(self.queries, self.seed),
        )


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    """Median, p95 and max of latencies given in seconds, in milliseconds."""
    if not seconds:
        return {"median_ms": float("nan"), "p95_ms": float("nan"), "max_ms": float("nan")}
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": ordered[-1] * 1000,
    }


def _peak_rss_mib() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 / (1024 if sys.platform == "darwin" else 1)


def _disk_mib(path: Path) -> float:
    total = sum(
        os.path.getsize(f"{path}{suffix}")
        for suffix in ("", "-wal", "-shm")
        if os.path.exists(f"{path}{suffix}")
    )
    return total / 1_048_576


def _bar(total: int, label: str) -> tqdm[Any]:
    return tqdm(total=total, desc=label, unit="mem", file=sys.stderr, leave=False, smoothing=0.1)


def _chunks(items: Sequence[SyntheticMemory], size: int) -> Iterable[Sequence[SyntheticMemory]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# -- NeuralMemory ----------------------------------------------------------------------------


def run_neural(options: RunOptions) -> dict[str, Any]:
    """Build and measure a NeuralMemory brain (see the module doc)."""
    return asyncio.run(_neural(options))


def _input(memory: SyntheticMemory) -> MemoryInput:
    return MemoryInput(text=memory.text, timestamp=memory.at, metadata={"speaker": memory.speaker})


async def _neural(options: RunOptions) -> dict[str, Any]:
    bulk, singles, queries = options.data()
    path = Path(options.workdir) / f"neural-{options.size}.db"
    storage: Storage = SQLiteStorage(path) if options.backend == "sqlite" else InMemoryStorage()
    out: dict[str, Any] = {"rss_start_mib": _peak_rss_mib()}
    label = f"{options.size:,}"
    async with storage:
        brain = Brain.create(f"speed-{options.size}")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None)  # lexical, as measured
        started = time.perf_counter()
        with _bar(len(bulk), f"{label}: encode_many") as bar:
            for chunk in _chunks(bulk, options.batch):
                await encoder.encode_many([_input(m) for m in chunk])
                bar.update(len(chunk))
        out["bulk_ms_per_memory"] = (time.perf_counter() - started) * 1000 / max(1, len(bulk))
        single: list[float] = []
        for memory in tqdm(singles, desc=f"{label}: encode()", file=sys.stderr, leave=False):
            started = time.perf_counter()
            await encoder.encode(
                memory.text, timestamp=memory.at, metadata={"speaker": memory.speaker}
            )
            single.append(time.perf_counter() - started)
        out["encode"] = latency_summary(single)
        stats = await storage.get_stats()
        out["graph"] = {
            "fibers": stats.fiber_count,
            "neurons": stats.neuron_count,
            "synapses": stats.synapse_count,
        }
        pipeline = ReflexPipeline(storage, brain.config, embedder=None)
        started = time.perf_counter()
        await pipeline.query(queries[0].text, reference_time=REFERENCE_TIME)
        out["first_recall_ms"] = (time.perf_counter() - started) * 1000
        out["rss_after_index_mib"] = _peak_rss_mib()
        out.update(await _recall_latencies(pipeline, queries, label))
        if options.profile:
            out["profile"] = await _profile(pipeline, queries, options)
        out["db_mib_open"] = _disk_mib(path) if options.backend == "sqlite" else None
    out["db_mib_closed"] = _disk_mib(path) if options.backend == "sqlite" else None
    out["peak_rss_mib"] = _peak_rss_mib()
    return out


async def _recall_latencies(
    pipeline: ReflexPipeline, queries: Sequence[SyntheticQuery], label: str
) -> dict[str, Any]:
    for query in queries[:_WARMUP_QUERIES]:
        await pipeline.query(query.text, reference_time=REFERENCE_TIME)
    wall: list[float] = []
    internal: list[float] = []
    hub: list[float] = []
    confidences: list[float] = []
    for query in tqdm(queries, desc=f"{label}: recall", file=sys.stderr, leave=False):
        started = time.perf_counter()
        result = await pipeline.query(query.text, reference_time=REFERENCE_TIME)
        elapsed = time.perf_counter() - started
        wall.append(elapsed)
        internal.append(result.latency_ms / 1000)
        confidences.append(result.confidence)
        if query.hub:
            hub.append(elapsed)
    return {
        "recall": latency_summary(wall),
        "recall_pipeline": latency_summary(internal),
        "recall_hub": latency_summary(hub) | {"count": len(hub)},
        "recall_mean_confidence": statistics.fmean(confidences),
    }


async def _profile(
    pipeline: ReflexPipeline, queries: Sequence[SyntheticQuery], options: RunOptions
) -> dict[str, str]:
    """Profile the queries: yappi (CPU time, every thread) when installed, else cProfile.

    SQLiteStorage does its work on aiosqlite's connection thread, which cProfile cannot see
    (it shows the event loop waiting in ``epoll`` instead), hence yappi when it is there.
    """
    try:
        import yappi
    except ImportError:
        return await _cprofile(pipeline, queries, options)
    yappi.set_clock_type("cpu")
    yappi.clear_stats()
    yappi.start(builtins=True)
    for query in queries:
        await pipeline.query(query.text, reference_time=REFERENCE_TIME)
    yappi.stop()
    stats = yappi.get_func_stats()
    if options.profile_out:
        stats.save(options.profile_out, type="pstat")
    texts = {"profiler": "yappi (cpu clock, all threads)"}
    for key, column in (("tottime", "tsub"), ("cumulative", "ttot")):
        stats.sort(column, "desc")
        lines = [f"{'own s':>8} {'total s':>8} {'calls':>8}  function (file:line)"]
        for stat in list(stats)[: options.profile_top]:
            where = f"{_short(stat.module)}:{stat.lineno}"
            lines.append(f"{stat.tsub:8.3f} {stat.ttot:8.3f} {stat.ncall:8}  {stat.name} ({where})")
        texts[key] = f"by {key}:\n" + "\n".join(lines) + "\n"
    yappi.clear_stats()
    return texts


def _short(module: str) -> str:
    for marker in ("/src/", "/site-packages/", "/lib/python3"):
        if marker in module:
            return module.split(marker, 1)[1]
    return module


async def _cprofile(
    pipeline: ReflexPipeline, queries: Sequence[SyntheticQuery], options: RunOptions
) -> dict[str, str]:
    profiler = cProfile.Profile()
    profiler.enable()
    for query in queries:
        await pipeline.query(query.text, reference_time=REFERENCE_TIME)
    profiler.disable()
    if options.profile_out:
        profiler.dump_stats(options.profile_out)
    texts = {"profiler": "cProfile (event-loop thread only; install yappi for all threads)"}
    for key in ("tottime", "cumulative"):
        buffer = io.StringIO()
        pstats.Stats(profiler, stream=buffer).sort_stats(key).print_stats(options.profile_top)
        texts[key] = buffer.getvalue()
    return texts


# -- plain SQLite baseline -------------------------------------------------------------------


def run_baseline(options: RunOptions) -> dict[str, Any]:
    """The same memories in plain SQLite: INSERTs, and an FTS5 table searched by BM25."""
    bulk, singles, queries = options.data()
    path = Path(options.workdir) / f"baseline-{options.size}.db"
    out: dict[str, Any] = {"rss_start_mib": _peak_rss_mib()}
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL").fetchone()
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(
            "CREATE TABLE memories (id INTEGER PRIMARY KEY, text TEXT NOT NULL, "
            "speaker TEXT, occurred_at TEXT NOT NULL)"
        )
        conn.execute(
            "CREATE VIRTUAL TABLE memories_fts USING fts5(text, speaker, "
            "tokenize = 'porter unicode61')"
        )
        started = time.perf_counter()
        for chunk in _chunks(bulk, options.batch):
            _insert_indexed(conn, chunk)
        out["bulk_ms_per_memory"] = (time.perf_counter() - started) * 1000 / max(1, len(bulk))
        single = []
        for memory in singles:
            started = time.perf_counter()
            conn.execute(
                "INSERT INTO memories (text, speaker, occurred_at) VALUES (?, ?, ?)",
                (memory.text, memory.speaker, memory.at.isoformat()),
            )
            single.append(time.perf_counter() - started)
        out["encode"] = latency_summary(single)
        conn.executemany(  # the same texts are searchable, untimed
            "INSERT INTO memories_fts (rowid, text, speaker) "
            "SELECT id, text, speaker FROM memories WHERE id > ?",
            [(len(bulk),)],
        )
        out.update(_fts_latencies(conn, queries))
        out["db_mib_open"] = _disk_mib(path)
    finally:
        conn.close()
    out["db_mib_closed"] = _disk_mib(path)
    out["peak_rss_mib"] = _peak_rss_mib()
    return out


def _insert_indexed(conn: sqlite3.Connection, chunk: Sequence[SyntheticMemory]) -> None:
    conn.execute("BEGIN")
    for memory in chunk:
        cursor = conn.execute(
            "INSERT INTO memories (text, speaker, occurred_at) VALUES (?, ?, ?)",
            (memory.text, memory.speaker, memory.at.isoformat()),
        )
        conn.execute(
            "INSERT INTO memories_fts (rowid, text, speaker) VALUES (?, ?, ?)",
            (cursor.lastrowid, memory.text, memory.speaker),
        )
    conn.execute("COMMIT")


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the question's words (stop words dropped, each quoted)."""
    words = [t for t in tokenize(text) if len(t) > 1 and t not in STOP_WORDS]
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words)) or '""'


def _fts_latencies(conn: sqlite3.Connection, queries: Sequence[SyntheticQuery]) -> dict[str, Any]:
    sql = (
        "SELECT rowid, text, speaker, bm25(memories_fts) FROM memories_fts "
        "WHERE memories_fts MATCH ? ORDER BY bm25(memories_fts) LIMIT 10"
    )
    for query in queries[:_WARMUP_QUERIES]:
        conn.execute(sql, (fts_query(query.text),)).fetchall()
    wall, hub = [], []
    for query in queries:
        started = time.perf_counter()
        conn.execute(sql, (fts_query(query.text),)).fetchall()
        elapsed = time.perf_counter() - started
        wall.append(elapsed)
        if query.hub:
            hub.append(elapsed)
    return {"recall": latency_summary(wall), "recall_hub": latency_summary(hub)}
