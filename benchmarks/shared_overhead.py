"""What SharedStorage costs over InMemoryStorage: ``python -m benchmarks.shared_overhead``.

Encodes the same sentences into a brain held by InMemoryStorage in this process, and into a
brain held by an InMemoryStorage behind ``neural-memory-server`` in another process (uvicorn
on loopback, reached through SharedStorage over real HTTP). Each timed encode is one
``MemoryEncoder.encode()``; both sides are measured alternately, so machine noise hits both.
Prints the median and p90 of each, the median overhead, and the HTTP requests per encode.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence

import httpx

from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.storage import InMemoryStorage, SharedStorage, Storage

_SERVER = (
    "import sys, uvicorn;"
    "from neural_memory.server import create_app;"
    "from neural_memory.server.config import ServerConfig;"
    "from neural_memory.storage import InMemoryStorage;"
    "config = ServerConfig(admin_key=sys.argv[2], rate_limit=0);"
    "uvicorn.run(create_app(InMemoryStorage(), config=config, embedder=None), host='127.0.0.1',"
    " port=int(sys.argv[1]), log_level='warning')"
)
_KEY = "benchmark-admin-key-0123456789"
_PEOPLE = ["Alice", "Bob", "Carol", "Dave", "Erin", "Frank"]
_TOPICS = ["billing", "deployment", "the roadmap", "hiring", "the API design", "backups"]


def sentence(i: int) -> str:
    """A typical conversational memory, different every time."""
    who, other = _PEOPLE[i % 6], _PEOPLE[(i + 2) % 6]
    return f"{who} met {other} on day {i} to discuss {_TOPICS[i % 6]} and agreed on step {i}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def _wait_ready(url: str) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            try:
                if (await client.get(f"{url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def _encoder(storage: Storage) -> MemoryEncoder:
    brain = Brain.create("bench")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return MemoryEncoder(storage, brain.config, embedder=None)  # lexical, as measured


async def measure(count: int, warmup: int) -> dict[str, float]:
    """Median/p90 encode latency (ms) of both storages, and requests per shared encode."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-c", _SERVER, str(port), _KEY])
    url = f"http://127.0.0.1:{port}"
    requests = 0

    async def count_request(request: httpx.Request) -> None:
        nonlocal requests
        requests += 1

    try:
        await _wait_ready(url)
        async with (
            httpx.AsyncClient(event_hooks={"request": [count_request]}) as client,
            SharedStorage(url, client=client, api_key=_KEY) as shared,
            InMemoryStorage() as local,
        ):
            encoders = {"memory": await _encoder(local), "shared": await _encoder(shared)}
            times: dict[str, list[float]] = {"memory": [], "shared": []}
            for i in range(warmup + count):
                for name, encoder in encoders.items():
                    before = requests
                    started = time.perf_counter()
                    await encoder.encode(sentence(i))
                    elapsed = (time.perf_counter() - started) * 1000
                    if i >= warmup:
                        times[name].append(elapsed)
                        if name == "shared":
                            per_encode = requests - before
    finally:
        server.terminate()
        server.wait(timeout=10)
    result = {}
    for name, values in times.items():
        result[f"{name}_median_ms"] = statistics.median(values)
        result[f"{name}_p90_ms"] = statistics.quantiles(values, n=10)[-1]
    result["overhead_median_ms"] = result["shared_median_ms"] - result["memory_median_ms"]
    result["requests_per_encode"] = float(per_encode)
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the comparison and print a small table."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.shared_overhead")
    parser.add_argument("--count", type=int, default=300, help="timed encodes per storage")
    parser.add_argument("--warmup", type=int, default=30)
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args.count, args.warmup))
    rows = [("InMemoryStorage", "memory"), ("SharedStorage (HTTP)", "shared")]
    print(f"{'storage':<24}{'median ms':>12}{'p90 ms':>10}")
    for label, key in rows:
        print(f"{label:<24}{result[key + '_median_ms']:>12.2f}{result[key + '_p90_ms']:>10.2f}")
    overhead, requests = result["overhead_median_ms"], result["requests_per_encode"]
    print(f"median overhead per encode: {overhead:.2f} ms ({requests:.0f} HTTP requests)")


if __name__ == "__main__":
    main()
