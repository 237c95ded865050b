"""The HTTP server under load, keys on: ``python -m benchmarks.load``.

Starts ``neural-memory-server`` over a fresh SQLite file on loopback (1 and 2 workers; with
the default embedding model and with ``--no-embeddings``, so the engine-only figure stands
beside the default one), seeds one brain, then runs bounded scenarios with 16 concurrent
clients, each sending requests back to back with the admin key on a connection of its own
(aiohttp, the clients spread over ``--client-processes`` processes, 2 by default):

- ``recall``: recall only;
- ``mixed``: one store for every four recalls (1:4);
- ``health``: one maximum-size memory (``MAX_TEXT_LENGTH`` characters) is stored while a
  client polls ``GET /health``; reports the health latency during the store.

For each: requests/s, p50/p95/p99 latency, errors (any non-2xx or transport error), the
server's CPU time per request (all its processes: on a shared machine a steadier figure than
requests/s, and what bounds requests/s at 2 cores / CPU per request), the load generator's
CPU time per request (its processes', summed: what the clients take from the same cores),
peak server memory (VmHWM of every server process, summed) and, for ``mixed``, lost
memories (stores answered 201 minus fibers found afterwards). Every loop is bounded by a request
count and a time limit; traffic goes to 127.0.0.1 only. The load generator runs on the same
2 cores as the server, so figures are a lower bound of what the server alone would do.

Every recall asks a question no earlier request asked (a running number in it), so no cache
of query vectors can serve it. ``--base OLD_SRC`` runs each server configuration twice,
alternating this checkout's server with the one whose sources are at ``OLD_SRC`` (the
client is this checkout's either way), and prints both rows and their ratio. ``--rounds N``
repeats the whole alternation N times and prints each figure's median over the rounds
(errors and lost memories summed); the ratios compare medians, CPU per request included.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import aiohttp
import httpx

from neural_memory.sharing.limits import MAX_TEXT_LENGTH

ADMIN_KEY = "load-benchmark-admin-key-0123456789"
CLIENTS = 16
CLIENT_PROCESSES = 2
_START_MARGIN_S = 1.0
TARGETS = {
    "recall_rps": 400.0,
    "recall_p95_ms": 40.0,
    "mixed_rps": 250.0,
    "health_p99_ms": 50.0,
}
_PEOPLE = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi"]
_TOPICS = ["billing", "deployment", "the roadmap", "hiring", "the API", "backups", "on-call"]


def sentence(i: int) -> str:
    """A conversational memory, different every time."""
    who, other = _PEOPLE[i % 8], _PEOPLE[(i + 3) % 8]
    return f"{who} met {other} on day {i} to discuss {_TOPICS[i % 7]} and agreed on step {i}"


def question(i: int) -> str:
    """A question about one of the seeded memories, different for every ``i``."""
    return f"What did {_PEOPLE[i % 8]} discuss about {_TOPICS[i % 7]} on day {i}?"


def client_question(client: int, i: int, per_client: int) -> str:
    """The ``i``-th question of client ``client``: no two requests of a run ask the same."""
    return question(client * per_client + i)


@dataclass
class Result:
    """One scenario's figures."""

    scenario: str
    workers: int
    server: str = "new"
    embeddings: bool = True
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    peak_rss_mib: float = 0.0
    lost_memories: int | None = None
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0

    def summary(self) -> dict[str, object]:
        """The figures, latencies as percentiles."""
        row = {k: v for k, v in asdict(self).items() if k != "latencies_ms"}
        row["rps"] = round(self.requests / self.seconds, 1) if self.seconds else 0.0
        for name, q in (("p50_ms", 50), ("p95_ms", 95), ("p99_ms", 99)):
            row[name] = round(_percentile(self.latencies_ms, q), 1)
        row["seconds"] = round(self.seconds, 2)
        row["cpu_ms_per_request"] = (
            round(self.server_cpu_s * 1000 / self.requests, 2) if self.requests else 0.0
        )
        row["client_cpu_ms_per_request"] = (
            round(self.client_cpu_s * 1000 / self.requests, 2) if self.requests else 0.0
        )
        del row["server_cpu_s"], row["client_cpu_s"]
        return row


def _percentile(values: list[float], q: int) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class ServerSetup:
    """Which server to start: its sources (None: this checkout's), workers, embeddings."""

    workers: int
    embeddings: bool = True
    source: Path | None = None


@contextmanager
def server(db: Path, setup: ServerSetup) -> Iterator[tuple[str, int]]:
    """A server process as ``setup`` says, over ``db``; yields its URL and pid."""
    port = _free_port()
    env = {**os.environ, "NEURAL_MEMORY_API_KEY": ADMIN_KEY}
    if setup.source is not None:
        env["PYTHONPATH"] = os.pathsep.join((str(setup.source), env.get("PYTHONPATH", "")))
    command = [
        sys.executable,
        "-m",
        "neural_memory.server",
        "--db",
        str(db),
        "--port",
        str(port),
        "--workers",
        str(setup.workers),
        "--rate-limit",
        "0",
        "--log-level",
        "warning",
    ]
    if not setup.embeddings:
        command.append("--no-embeddings")
    process = subprocess.Popen(command, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)
        yield url, process.pid
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def peak_rss_mib(pid: int) -> float:
    """VmHWM of ``pid`` and its children (the workers), summed, in MiB."""
    pids = [pid, *_children(pid)]
    total_kib = 0
    for each in pids:
        try:
            status = Path(f"/proc/{each}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total_kib += int(line.split()[1])
    return total_kib / 1024


def server_cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (the workers) so far."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for each in [pid, *_children(pid)]:
        try:
            stat = Path(f"/proc/{each}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
            found.extend(_children(int(entry.name)))
    return found


def _client(url: str) -> httpx.AsyncClient:
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    return httpx.AsyncClient(base_url=url, headers=headers, timeout=60)


async def seed(url: str, memories: int) -> str:
    """A brain holding ``memories`` memories; its id."""
    async with _client(url) as http:
        brain: str = (await http.post("/brains", json={"name": "load"})).json()["id"]
        for i in range(memories):
            stored = await http.post(f"/brains/{brain}/memories", json={"text": sentence(i)})
            stored.raise_for_status()
    return brain


@dataclass(frozen=True)
class Load:
    """What one load-generator process sends: its clients' numbers and the scenario."""

    url: str
    brain: str
    clients: tuple[int, ...]
    store_every: int
    per_client: int
    start_at: float
    """Wall-clock time (``time.time``) every process starts sending at."""
    limit_s: float


@dataclass
class Tally:
    """What one load-generator process saw: latencies, counts and its own CPU time."""

    latencies_ms: list[float] = field(default_factory=list)
    requests: int = 0
    errors: int = 0
    stored: int = 0
    cpu_s: float = 0.0
    ended: float = 0.0


def client_shares(processes: int) -> list[tuple[int, ...]]:
    """The client numbers each of ``processes`` load-generator processes runs (round robin)."""
    count = max(1, min(processes, CLIENTS))
    return [tuple(range(p, CLIENTS, count)) for p in range(count)]


def _warm() -> None:
    time.sleep(0.5)  # long enough that each warming call goes to a process of its own


def run_clients(load: Load) -> Tally:
    """Run ``load``'s clients in this process (a load-generator process's whole job)."""
    return asyncio.run(_clients(load))


async def _clients(load: Load) -> Tally:
    tally = Tally()
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    recall_url = f"{load.url}/brains/{load.brain}/recall"
    store_url = f"{load.url}/brains/{load.brain}/memories"
    await asyncio.sleep(max(0.0, load.start_at - time.time()))
    deadline = time.monotonic() + load.limit_s
    cpu = time.process_time()

    async def one_client(number: int) -> None:
        connector = aiohttp.TCPConnector(limit=1)
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(
            connector=connector, headers=headers, timeout=timeout
        ) as http:
            for i in range(load.per_client):
                if time.monotonic() > deadline:
                    return
                is_store = load.store_every > 0 and i % load.store_every == 0
                if is_store:
                    url = store_url
                    body = {"text": sentence(100_000 + number * load.per_client + i)}
                else:
                    url = recall_url
                    body = {"query": client_question(number, i, load.per_client)}
                started = time.perf_counter()
                try:
                    async with http.post(url, json=body) as response:
                        await response.read()
                        ok = 200 <= response.status < 300
                except (aiohttp.ClientError, TimeoutError):
                    ok = False
                tally.latencies_ms.append((time.perf_counter() - started) * 1000)
                tally.requests += 1
                if not ok:
                    tally.errors += 1
                elif is_store:
                    tally.stored += 1

    await asyncio.gather(*(one_client(n) for n in load.clients))
    tally.ended = time.time()
    tally.cpu_s = time.process_time() - cpu
    return tally


async def run_mix(
    url: str,
    brain: str,
    result: Result,
    *,
    store_every: int,
    per_client: int,
    limit_s: float,
    generators: Executor,
    processes: int,
) -> int:
    """``CLIENTS`` clients over ``processes`` processes, ``per_client`` requests each (or
    until ``limit_s``); stores made.

    Each process runs its share of the clients on its own event loop (aiohttp: a fraction
    of httpx's CPU per request, which matters when the load shares the server's cores), all
    starting at one moment; its CPU time is the client's cost, reported beside the server's.
    """
    start_at = time.time() + _START_MARGIN_S
    shares = client_shares(processes)
    loop = asyncio.get_running_loop()
    tallies = await asyncio.gather(
        *(
            loop.run_in_executor(
                generators,
                run_clients,
                Load(url, brain, share, store_every, per_client, start_at, limit_s),
            )
            for share in shares
        )
    )
    for tally in tallies:
        result.latencies_ms.extend(tally.latencies_ms)
        result.requests += tally.requests
        result.errors += tally.errors
        result.client_cpu_s += tally.cpu_s
    result.seconds = max(t.ended for t in tallies) - start_at
    return sum(t.stored for t in tallies)


async def fiber_count(url: str, brain: str) -> int:
    """Fibers (memories) in the brain."""
    async with _client(url) as http:
        count: int = (await http.get(f"/brains/{brain}/stats")).json()["fiber_count"]
        return count


async def health_during_big_store(url: str, brain: str, result: Result) -> None:
    """Poll ``/health`` while one maximum-size memory is stored."""
    words = " ".join(sentence(i) for i in range(20_000))
    text = words[:MAX_TEXT_LENGTH]
    async with _client(url) as http, _client(url) as poller:
        store = asyncio.create_task(
            http.post(f"/brains/{brain}/memories", json={"text": text}, timeout=600)
        )
        started = time.perf_counter()
        while not store.done() and time.perf_counter() - started < 600:
            begin = time.perf_counter()
            try:
                ok = (await poller.get("/health")).is_success
            except httpx.HTTPError:
                ok = False
            result.latencies_ms.append((time.perf_counter() - begin) * 1000)
            result.requests += 1
            result.errors += 0 if ok else 1
            await asyncio.sleep(0.02)
        response = await store
        result.seconds = time.perf_counter() - started
        if not response.is_success:
            result.errors += 1


async def scenario_set(
    setup: ServerSetup,
    *,
    seed_memories: int,
    per_client: int,
    limit_s: float,
    health: bool,
    generators: Executor,
    processes: int,
) -> list[Result]:
    """Every scenario against one fresh server started as ``setup`` says."""
    results = []
    label = "new" if setup.source is None else "base"

    def result(scenario: str) -> Result:
        return Result(scenario, setup.workers, server=label, embeddings=setup.embeddings)

    with (
        tempfile.TemporaryDirectory() as tmp,
        server(Path(tmp) / "load.db", setup) as (url, pid),
    ):
        brain = await seed(url, seed_memories)
        recall = result("recall")
        cpu = server_cpu_s(pid)
        load = {
            "per_client": per_client,
            "limit_s": limit_s,
            "generators": generators,
            "processes": processes,
        }
        await run_mix(url, brain, recall, store_every=0, **load)
        recall.server_cpu_s = server_cpu_s(pid) - cpu
        recall.peak_rss_mib = peak_rss_mib(pid)
        results.append(recall)
        before = await fiber_count(url, brain)
        mixed = result("mixed 1:4")
        cpu = server_cpu_s(pid)
        stored = await run_mix(url, brain, mixed, store_every=5, **load)
        mixed.server_cpu_s = server_cpu_s(pid) - cpu
        mixed.lost_memories = stored - (await fiber_count(url, brain) - before)
        mixed.peak_rss_mib = peak_rss_mib(pid)
        results.append(mixed)
        if health:
            during = result("health during max store")
            await health_during_big_store(url, brain, during)
            during.peak_rss_mib = peak_rss_mib(pid)
            results.append(during)
    return results


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load", description="The HTTP server under load, keys on."
    )
    parser.add_argument("--workers", default="1,2", help="Worker counts to run (default 1,2).")
    parser.add_argument(
        "--embeddings",
        default="on,off",
        help="Servers with the default embedding model (on) and with --no-embeddings (off).",
    )
    parser.add_argument(
        "--no-embeddings",
        action="store_const",
        const="off",
        dest="embeddings",
        help="Only servers with --no-embeddings (the same as --embeddings off).",
    )
    parser.add_argument(
        "--base", type=Path, help="Also run the server of these sources (alternating)."
    )
    parser.add_argument(
        "--no-health", action="store_true", help="Skip the maximum-size store scenario."
    )
    parser.add_argument("--seed-memories", type=int, default=300)
    parser.add_argument("--requests", type=int, default=100, help="Requests per client.")
    parser.add_argument("--limit-s", type=float, default=30.0, help="Time limit per scenario.")
    parser.add_argument(
        "--rounds", type=int, default=1, help="Repeat every run; report medians (default 1)."
    )
    parser.add_argument(
        "--client-processes",
        type=int,
        default=CLIENT_PROCESSES,
        help=f"Processes the {CLIENTS} clients are spread over (default {CLIENT_PROCESSES}).",
    )
    parser.add_argument("--report", type=Path, help="Write the figures as JSON here.")
    return parser.parse_args(argv)


def setups(args: argparse.Namespace) -> list[ServerSetup]:
    """The servers to run, in order: per configuration the base (when given), then new."""
    out = []
    for workers in (int(w) for w in args.workers.split(",")):
        for switch in args.embeddings.split(","):
            embeddings = switch.strip() == "on"
            if args.base is not None:
                out.append(ServerSetup(workers, embeddings, args.base.resolve()))
            out.append(ServerSetup(workers, embeddings))
    return out


_SUMMED = ("requests", "errors", "lost_memories")
_MEDIAN = (
    "rps",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "cpu_ms_per_request",
    "client_cpu_ms_per_request",
    "peak_rss_mib",
    "seconds",
)


def medians(rows: list[dict[str, object]]) -> list[dict[str, object]]:
    """One row per server, configuration and scenario: medians over its rounds.

    Counts (requests, errors, lost memories) are summed over the rounds instead.
    """
    groups: dict[tuple[object, ...], list[dict[str, object]]] = {}
    for row in rows:
        key = (row["server"], row["embeddings"], row["scenario"], row["workers"])
        groups.setdefault(key, []).append(row)
    out = []
    for group in groups.values():
        merged = dict(group[0])
        merged["rounds"] = len(group)
        for name in (n for n in _MEDIAN if n in merged):
            merged[name] = round(statistics.median(float(str(r[name])) for r in group), 2)
        for name in _SUMMED:
            counts = [r[name] for r in group if r[name] is not None]
            merged[name] = sum(int(str(c)) for c in counts) if counts else None
        out.append(merged)
    return out


def ratios(rows: list[dict[str, object]]) -> list[str]:
    """New / base requests/s, p95 and CPU per request of each configuration run both ways."""
    base = {
        (r["scenario"], r["workers"], r["embeddings"]): r for r in rows if r["server"] == "base"
    }
    lines = []
    for row in rows:
        old = base.get((row["scenario"], row["workers"], row["embeddings"]))
        if row["server"] != "new" or old is None or not old["rps"] or not row["p95_ms"]:
            continue
        rps = float(str(row["rps"])) / float(str(old["rps"]))
        p95 = float(str(old["p95_ms"])) / float(str(row["p95_ms"]))
        line = (
            f"{row['scenario']} workers {row['workers']} embeddings {row['embeddings']}: "
            f"new/base requests/s x{rps:.2f}, p95 base/new x{p95:.2f}"
        )
        if old.get("cpu_ms_per_request") and row.get("cpu_ms_per_request"):
            cpu = float(str(row["cpu_ms_per_request"])) / float(str(old["cpu_ms_per_request"]))
            line += (
                f", CPU per request {row['cpu_ms_per_request']} / "
                f"{old['cpu_ms_per_request']} ms (new/base x{cpu:.2f})"
            )
        lines.append(line)
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; print a table (and the targets)."""
    args = parse_args(argv)
    runs: list[dict[str, object]] = []
    processes = max(1, args.client_processes)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=processes, mp_context=context) as generators:
        for started in [generators.submit(_warm) for _ in range(processes)]:
            started.result()  # every process up, its imports done, before the first run
        for number in range(max(1, args.rounds)):
            for setup in setups(args):
                results = asyncio.run(
                    scenario_set(
                        setup,
                        seed_memories=args.seed_memories,
                        per_client=args.requests,
                        limit_s=args.limit_s,
                        health=not args.no_health,
                        generators=generators,
                        processes=processes,
                    )
                )
                runs.extend({**r.summary(), "round": number + 1} for r in results)
    rows = medians(runs)
    columns = ["server", "embeddings", "scenario", "workers", "rounds", "requests", "errors"]
    columns += ["rps", "p50_ms", "p95_ms", "p99_ms", "cpu_ms_per_request"]
    columns += ["client_cpu_ms_per_request", "peak_rss_mib"]
    columns += ["lost_memories"]
    print(" | ".join(columns))
    for row in rows:
        print(" | ".join(str(row[c]) for c in columns))
    for line in ratios(rows):
        print(line)
    print("targets:", ", ".join(f"{k} {v}" for k, v in TARGETS.items()))
    if args.report:
        report = {"rows": rows, "runs": runs, "targets": TARGETS}
        args.report.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
