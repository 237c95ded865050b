"""The growth table: ``python -m benchmarks.scale --sizes 10000,100000``.

For each backend (SQLite, PostgreSQL) and size, a fresh brain is filled with synthetic
memories (``benchmarks.speed_data``) by ``encode_many`` in batches of ``--batch``, embeddings
off (``--embeddings`` embeds every memory and question with the default embedder, MiniLM: kept
brains then get their own files, ``scale-<size>-embedded.db``), and the table gets one row:

- encode: memories per second of the whole fill (wall clock);
- recall p50 / p95: ``--queries`` generated questions in the process that filled the brain;
- cold open: a new process opens the store and answers its first recall (the index is built
  from storage), then the peak RSS of that process, less the peak RSS of a process that only
  opened the store (the index's share), per memory;
- disk per memory: the SQLite file (with its WAL), or the brain's schema in PostgreSQL.

Then two ``neural-memory-server`` processes on one PostgreSQL database: a memory is stored
through the first and recalled through the second, ``--lag-samples`` times. Lag is the time
from the write's response to the first recall through the other server that returns it; the
recall of an old memory through the second server (same run) is its baseline.

Without ``--dsn`` a throwaway PostgreSQL cluster is started (``tests/postgres_server.py``;
fsync off, as in the test suite) and removed afterwards.

``--workdir DIR --keep`` keeps each filled brain (SQLite ``DIR/scale-<size>.db``; PostgreSQL
schema ``scale_<size>``) with a note beside it (``DIR/<backend>-<size>.json``: brain id,
memories encoded so far, schema version, the fill runs), rewritten after every batch. A later
run with the same ``--workdir`` resumes an interrupted fill where the note says it stopped,
and reuses a full brain instead of filling a new one, so recall and cold open can be
re-measured on it after code changes (the encode column then repeats the kept fill rate,
marked ``(kept)``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.speed_data import REFERENCE_TIME, SyntheticMemory, make_memories, make_queries
from neural_memory import Brain
from neural_memory.engine.embeddings import Embedder, load_default_embedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import PostgresStorage, SQLiteStorage, Storage
from neural_memory.storage.sqlite_schema import SCHEMA_VERSION

_CHILD = "--child"


@dataclass(frozen=True, slots=True)
class Store:
    """Where one brain lives: ``sqlite`` and a file, or ``postgres``, a DSN and a schema."""

    backend: str
    location: str
    schema: str = "public"
    embedded: bool = False
    """Memories and questions embedded with the default embedder (else no embedder at all)."""

    def open(self) -> Storage:
        """A new storage object on the store."""
        if self.backend == "sqlite":
            return SQLiteStorage(self.location)
        return PostgresStorage(self.location, schema=self.schema)

    def args(self) -> list[str]:
        """The store as command-line words (for the cold-open child process)."""
        return [self.backend, self.location, self.schema, "embedded" if self.embedded else "-"]

    def embedder(self) -> Embedder | None:
        """The embedder fills and recalls use (SystemExit when embeddings are wanted but absent)."""
        if not self.embedded:
            return None
        embedder = load_default_embedder()
        if embedder is None:
            raise SystemExit(
                "--embeddings needs the embeddings extra (scripts/install.sh embeddings)"
            )
        return embedder


@dataclass(frozen=True, slots=True)
class Kept:
    """The note kept beside a brain being filled: which brain, how far, how fast.

    ``runs`` lists ``[first, last, seconds]`` per fill run (memories ``first`` to ``last`` in
    that many wall seconds), so a fill interrupted and resumed by a newer checkout says which
    part each run encoded.
    """

    brain_id: str
    encoded: int
    schema_version: int
    runs: tuple[tuple[int, int, float], ...] = ()

    @property
    def encode_rate(self) -> float:
        """Memories per wall second over every run."""
        seconds = sum(run[2] for run in self.runs)
        return sum(run[1] - run[0] for run in self.runs) / seconds if seconds else 0.0

    @classmethod
    def load(cls, path: Path) -> Kept | None:
        """The note at ``path``, if one was kept there."""
        if not path.exists():
            return None
        data = json.loads(path.read_text())
        runs = tuple((int(a), int(b), float(c)) for a, b, c in data.pop("runs"))
        return cls(**data, runs=runs)

    def save(self, path: Path) -> None:
        """Write the note to ``path`` (whole or not at all)."""
        scratch = path.with_suffix(".tmp")
        scratch.write_text(json.dumps(asdict(self), indent=2) + "\n")
        scratch.replace(path)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the growth table."""

    backend: str
    size: int
    encode_rate: float
    recall_p50_ms: float
    recall_p95_ms: float
    cold_open_s: float
    index_bytes_per_memory: float
    peak_rss_mib: float
    disk_bytes_per_memory: float
    reused: bool = False


def percentile(values: Sequence[float], share: float) -> float:
    """The ``share`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def inputs(memories: Sequence[SyntheticMemory]) -> list[MemoryInput]:
    """The synthetic memories as encoder inputs (speaker in the metadata)."""
    return [
        MemoryInput(text=m.text, timestamp=m.at, metadata={"speaker": m.speaker}) for m in memories
    ]


async def fill(
    storage: Storage,
    size: int,
    batch: int,
    note: Path | None,
    resume: bool = True,
    embedder: Embedder | None = None,
) -> Kept:
    """A brain of ``size`` memories in ``storage``, resuming the one ``note`` records.

    With ``resume`` False, a brain ``note`` records is returned as far as it was filled.
    """
    kept = Kept.load(note) if note is not None else None
    if kept is not None and (kept.encoded >= size or not resume):
        return kept
    memories = make_memories(size, seed=7)
    if kept is None:
        new = Brain.create(f"scale-{size}")
        await storage.save_brain(new)
        kept = Kept(new.id, 0, SCHEMA_VERSION)
    storage.set_brain(kept.brain_id)
    brain = await storage.get_brain(kept.brain_id)
    assert brain is not None
    encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
    first, runs, started = kept.encoded, kept.runs, time.perf_counter()
    for start in range(first, size, batch):
        await encoder.encode_many(inputs(memories[start : start + batch]))
        done = min(start + batch, size)
        run = (first, done, time.perf_counter() - started)
        kept = Kept(kept.brain_id, done, SCHEMA_VERSION, (*runs, run))
        if note is not None:
            kept.save(note)
        print(f"\r  {done:>9,} / {size:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return kept


async def recall_times(
    storage: Storage, brain_id: str, count: int, embedder: Embedder | None = None
) -> list[float]:
    """Seconds of each of ``count`` generated recalls (after one untimed warm-up)."""
    brain = await storage.get_brain(brain_id)
    assert brain is not None
    pipeline = ReflexPipeline(storage.for_brain(brain_id), brain.config, embedder=embedder)
    await pipeline.query("What happened last week?", reference_time=REFERENCE_TIME)
    seconds = []
    for query in make_queries(count, seed=11):
        started = time.perf_counter()
        await pipeline.query(query.text, reference_time=REFERENCE_TIME)
        seconds.append(time.perf_counter() - started)
    return seconds


async def disk_bytes(store: Store) -> int:
    """The bytes the store takes on disk."""
    if store.backend == "sqlite":
        path = Path(store.location)
        return sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    import asyncpg

    connection = await asyncpg.connect(store.location)
    try:
        size: int = await connection.fetchval(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0)::int8 FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = $1 AND c.relkind = 'r'",
            store.schema,
        )
        return size
    finally:
        await connection.close()


async def _cold_open(store: Store, brain_id: str) -> dict[str, float]:
    """In a new process: open, and (unless ``brain_id`` is empty) answer the first recall."""
    started = time.perf_counter()
    async with store.open() as storage:
        if brain_id:
            await recall_times(storage, brain_id, 0, store.embedder())
    return {
        "seconds": time.perf_counter() - started,
        "peak_rss_kib": peak_rss_kib(),
    }


def peak_rss_kib() -> float:
    """This process's peak resident memory (KiB) since it started its program.

    ``VmHWM`` where Linux has it: ``ru_maxrss`` survives ``exec``, so in a child started by
    a big benchmark process it reports the parent's size (every index share read 0 B).
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def in_new_process(store: Store, brain_id: str) -> dict[str, float]:
    """:func:`_cold_open` in a fresh Python process."""
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.scale", _CHILD, *store.args(), brain_id or "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


async def measure(
    store: Store,
    size: int,
    batch: int,
    queries: int,
    note: Path | None = None,
    resume: bool = True,
) -> Row:
    """Fill a brain of ``size`` memories in ``store`` and measure it (one table row).

    With a ``note`` path, the brain recorded there is measured (its fill finished first if it
    was interrupted, unless ``resume`` is False: then the row is of the memories it holds),
    or a new one is filled and recorded there batch by batch.
    """
    reused = note is not None and note.exists()
    embedder = store.embedder()
    async with store.open() as storage:
        kept = await fill(storage, size, batch, note, resume, embedder)
        brain_id, rate, size = kept.brain_id, kept.encode_rate, kept.encoded
        seconds = await recall_times(storage, brain_id, queries, embedder)
    cold = in_new_process(store, brain_id)
    bare = in_new_process(store, "")
    return Row(
        backend=store.backend,
        size=size,
        encode_rate=rate,
        recall_p50_ms=statistics.median(seconds) * 1e3,
        recall_p95_ms=percentile(seconds, 0.95) * 1e3,
        cold_open_s=cold["seconds"],
        index_bytes_per_memory=(cold["peak_rss_kib"] - bare["peak_rss_kib"]) * 1024 / size,
        peak_rss_mib=cold["peak_rss_kib"] / 1024,
        disk_bytes_per_memory=await disk_bytes(store) / size,
        reused=reused,
    )


HEADER = (
    "| backend | memories | encode /s | recall p50 | recall p95 | cold open + 1st recall "
    "| index RSS / memory | peak RSS | disk / memory |\n|---|---|---|---|---|---|---|---|---|"
)


def table_line(row: Row) -> str:
    """One Markdown table line."""
    return (
        f"| {row.backend} | {row.size:,} | {row.encode_rate:,.0f}{' (kept)' if row.reused else ''} "
        f"| {row.recall_p50_ms:.1f} ms "
        f"| {row.recall_p95_ms:.1f} ms | {row.cold_open_s:.2f} s "
        f"| {row.index_bytes_per_memory:,.0f} B | {row.peak_rss_mib:,.0f} MiB "
        f"| {row.disk_bytes_per_memory:,.0f} B |"
    )


async def run_sql(dsn: str, statement: str) -> None:
    """Run one statement on its own connection (creating or dropping benchmark data)."""
    import asyncpg

    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def drop_schema(dsn: str, schema: str) -> None:
    """Remove a benchmark schema and everything in it."""
    asyncio.run(run_sql(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def growth(args: argparse.Namespace, dsn: str | None) -> None:
    """Print the growth table for every size and backend asked for."""
    print(HEADER, flush=True)
    for size in args.sizes:
        for backend in args.backends:
            row = one_row(args, dsn, backend, size)
            print(table_line(row), flush=True)
            if args.json:
                print(json.dumps(asdict(row)), flush=True)


def one_row(args: argparse.Namespace, dsn: str | None, backend: str, size: int) -> Row:
    """Measure one backend at one size: on a kept brain, a kept new one, or a throwaway one."""
    workdir: Path | None = args.workdir
    embedded = args.embeddings
    name = f"{size}-embedded" if embedded else f"{size}"
    note = workdir / f"{backend}-{name}.json" if workdir is not None and args.keep else None
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
    if backend == "sqlite":
        if workdir is not None:
            store = Store("sqlite", str(workdir / f"scale-{name}.db"), embedded=embedded)
            try:
                run = measure(store, size, args.batch, args.queries, note, not args.as_is)
                return asyncio.run(run)
            finally:
                if note is None:
                    for path in workdir.glob(f"scale-{name}.db*"):
                        path.unlink()
        with tempfile.TemporaryDirectory() as scratch:
            store = Store("sqlite", str(Path(scratch) / "scale.db"), embedded=embedded)
            return asyncio.run(measure(store, size, args.batch, args.queries))
    assert dsn is not None
    if note is not None:
        store = Store("postgres", dsn, f"scale_{name.replace('-', '_')}", embedded=embedded)
        run = measure(store, size, args.batch, args.queries, note, not args.as_is)
        return asyncio.run(run)
    store = Store("postgres", dsn, f"scale_{uuid.uuid4().hex[:8]}", embedded=embedded)
    try:
        return asyncio.run(measure(store, size, args.batch, args.queries))
    finally:
        drop_schema(dsn, store.schema)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale")
    parser.add_argument("--sizes", type=_ints, default=[10_000, 100_000])
    parser.add_argument("--backends", type=_words, default=["sqlite", "postgres"])
    parser.add_argument("--batch", type=int, default=1_000)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--lag-samples", type=int, default=30, help="0: no two-server run")
    parser.add_argument("--dsn", help="a PostgreSQL DSN (default: start a throwaway cluster)")
    parser.add_argument("--json", action="store_true", help="also print each row as JSON")
    parser.add_argument("--workdir", type=Path, help="put SQLite brains here (not a temp dir)")
    parser.add_argument(
        "--keep", action="store_true", help="keep filled brains in --workdir and reuse them"
    )
    parser.add_argument(
        "--as-is",
        action="store_true",
        help="with --keep: measure a kept brain as far as it was filled (do not resume)",
    )
    parser.add_argument(
        "--embeddings",
        action="store_true",
        help="embed memories and questions with the default embedder (MiniLM); default: off",
    )
    return parser.parse_args(argv)


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part]


def _words(text: str) -> list[str]:
    return [part for part in text.split(",") if part]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the growth table and the two-server run (starting PostgreSQL if needed)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == [_CHILD]:
        backend, location, schema, embedded, brain_id = words[1:6]
        store = Store(backend, location, schema, embedded == "embedded")
        print(json.dumps(asyncio.run(_cold_open(store, "" if brain_id == "-" else brain_id))))
        return
    args = parse_args(words)
    if args.keep and args.workdir is None:
        raise SystemExit("--keep needs --workdir")
    load = os.getloadavg()[0]
    embeddings = "on (default embedder)" if args.embeddings else "off"
    print(
        f"load average {load:.1f}; batches of {args.batch:,}; embeddings {embeddings}", flush=True
    )
    wants_postgres = "postgres" in args.backends or args.lag_samples > 0
    if args.dsn or not wants_postgres:
        run_all(args, args.dsn)
        return
    from tests.postgres_server import SESSION_POSTGRES

    server = SESSION_POSTGRES.get()
    try:
        run_all(args, server.url("postgres", driver="postgresql"))
    finally:
        SESSION_POSTGRES.stop()


def run_all(args: argparse.Namespace, dsn: str | None) -> None:
    """The growth table, then the two-server run (on a copy of the largest kept PG brain)."""
    growth(args, dsn)
    if args.lag_samples > 0 and dsn is not None:
        from benchmarks.scale_lag import KeptBrain, two_servers

        kept = None
        if args.keep and "postgres" in args.backends:
            size = max(args.sizes)
            note = Kept.load(args.workdir / f"postgres-{size}.json")
            if note is not None:
                kept = KeptBrain(f"scale_{size}", note.brain_id, note.encoded)
        print(two_servers(dsn, args.lag_samples, kept), flush=True)


if __name__ == "__main__":
    main()
