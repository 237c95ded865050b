"""neuram speed: ``python -m benchmarks.neuram_speed --sizes 1000,10000 --backends sqlite,redis``.

For each backend (SQLite file, Redis server) and size N it builds a neuram Brain of N
engrams (``perceive`` N synthetic memories, then one ``sleep()`` consolidates them into the
long-term stores) and measures:

- bulk perceive throughput (perceives/s; embedding runs in the background meanwhile),
- consolidation (the ``sleep()`` writing N engrams, pending embeddings included),
- single ``perceive`` latency on the grown brain (median, p95; fresh texts),
- ``recall`` latency (median, p95; fresh queries, so the query embedding is included).

Every figure is measured in the same run with embeddings on (the offline MiniLM model, on each
runtime of ``--runtimes``: ``onnx,torch`` compares ONNX Runtime with PyTorch) and off (lexical
and graph recall), printed side by side. To keep a run short, the N bulk
texts are embedded once up front (the model's throughput is reported) and served from a memo
to the bulk loads (``--embedding-cache FILE.npz`` keeps them between runs); the texts whose
latency is measured are never in the memo. The time each recall spends in the model (the query
embedding) is printed apart, beside the rest of the recall. Without ``--redis-url`` a
throwaway ``redis-server`` is started on a free port (and stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.speed_data import make_memories, make_queries
from neural_memory.engine.embeddings import (
    Embedder,
    SentenceTransformerEmbedder,
    Vectors,
    load_default_embedder,
)
from neuram import Brain

PERCEIVE_TARGET_MS = 5.0
RECALL_TARGET_MS = 15.0
TARGET_SIZE = 10_000


class MemoEmbedder:
    """Serves known texts from a memo and embeds the others with the real model."""

    def __init__(self, inner: Embedder, memo: dict[str, Vectors]) -> None:
        self._inner = inner
        self._memo = memo
        self.model_ms = 0.0
        """Time spent in the model so far (the part of a recall that is query embedding)."""

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    async def embed(self, texts: Sequence[str]) -> Vectors:
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        started = time.perf_counter()
        fresh = dict(zip(missing, await self._inner.embed(missing), strict=True)) if missing else {}
        self.model_ms += (time.perf_counter() - started) * 1000
        return np.stack([self._memo.get(t, fresh.get(t)) for t in texts]).astype(np.float32)


@dataclass
class Result:
    backend: str
    size: int
    embeddings: str
    """What ran the embedding model: ``onnx``, ``torch``, or ``off`` (no embeddings)."""
    perceive_per_s: float
    consolidate_s: float
    perceive_ms: list[float]
    recall_ms: list[float]
    query_embedding_ms: list[float]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def start_redis(workdir: Path) -> tuple[str, subprocess.Popen[bytes]]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    port = _free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    args += ["no", "--dir", str(workdir)]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            if conn.recv(16).startswith(b"+PONG"):
                return f"redis://127.0.0.1:{port}/0", process
        time.sleep(0.05)
    process.kill()
    raise SystemExit("redis-server did not start")


async def measure(
    backend: str,
    size: int,
    model: Embedder | None,
    args: argparse.Namespace,
    workdir: Path,
    memo: dict[str, Vectors],
) -> Result:
    where: dict[str, Any] = (
        {"redis_url": args.redis_url, "namespace": f"bench{uuid.uuid4().hex[:8]}"}
        if backend == "redis"
        else {"path": workdir / f"neuram-{size}-{uuid.uuid4().hex[:6]}.db"}
    )
    memo_model = MemoEmbedder(model, memo) if model else None
    options: dict[str, Any] = {"embedder": memo_model} if memo_model else {}
    brain = await Brain.create(**where, **options, embeddings=model is not None)
    try:
        texts = [m.text for m in make_memories(size, args.seed)]
        started = time.perf_counter()
        for text in texts:
            await brain.perceive(text)
        perceive_per_s = size / (time.perf_counter() - started)
        started = time.perf_counter()
        await brain.sleep()
        consolidate_s = time.perf_counter() - started
        perceive_ms = []
        for n in range(args.perceive_samples):
            text = f"Fresh note {n} for {backend}-{size}: {texts[n % len(texts)]}"
            started = time.perf_counter()
            await brain.perceive(text)
            perceive_ms.append((time.perf_counter() - started) * 1000)
        await brain.sleep()
        queries = list(dict.fromkeys(q.text for q in make_queries(args.queries * 4, args.seed)))
        suffix = f" ({backend} {size})"  # never seen before: the query embedding is computed
        for query in queries[:3]:
            await brain.recall(query + " warm-up" + suffix)
        recall_ms, embedding_ms = [], []
        for query in queries[: args.queries]:
            model_before = memo_model.model_ms if memo_model else 0.0
            started = time.perf_counter()
            await brain.recall(query + suffix)
            recall_ms.append((time.perf_counter() - started) * 1000)
            embedding_ms.append((memo_model.model_ms if memo_model else 0.0) - model_before)
    finally:
        await brain.close()
    return Result(
        backend,
        size,
        str(getattr(model, "active_runtime", None) or "on") if model else "off",
        perceive_per_s,
        consolidate_s,
        perceive_ms,
        recall_ms,
        embedding_ms,
    )


def print_table(results: list[Result]) -> None:
    print()
    print(
        f"{'backend':8} {'size':>6} {'embeddings':>10} {'perceive/s':>11} {'consolidate':>12} "
        f"{'perceive med/p95 ms':>20} {'recall med/p95 ms':>18} {'query embed med ms':>19} "
        f"{'recall-embed med':>17}"
    )
    for r in results:
        rest = [
            total - model for total, model in zip(r.recall_ms, r.query_embedding_ms, strict=True)
        ]
        print(
            f"{r.backend:8} {r.size:>6} {r.embeddings:>10} "
            f"{r.perceive_per_s:>11.0f} {r.consolidate_s:>11.2f}s "
            f"{statistics.median(r.perceive_ms):>9.2f} / {pct(r.perceive_ms, 0.95):<8.2f} "
            f"{statistics.median(r.recall_ms):>8.2f} / {pct(r.recall_ms, 0.95):<8.2f} "
            f"{statistics.median(r.query_embedding_ms):>19.2f} {statistics.median(rest):>17.2f}"
        )
    print()
    for r in results:
        if r.embeddings != "off" and r.size >= TARGET_SIZE:
            recall, perceive = statistics.median(r.recall_ms), statistics.median(r.perceive_ms)
            print(
                f"targets ({r.backend}, {r.size}, embeddings on {r.embeddings}): "
                f"recall median {recall:.2f} ms "
                f"(<= {RECALL_TARGET_MS}: {'met' if recall <= RECALL_TARGET_MS else 'MISSED'}), "
                f"perceive median {perceive:.2f} ms (<= {PERCEIVE_TARGET_MS}: "
                f"{'met' if perceive <= PERCEIVE_TARGET_MS else 'MISSED'})"
            )


async def embed_bulk(
    model: Embedder, sizes: list[int], seed: int, cache: Path | None
) -> dict[str, Vectors]:
    texts = list(dict.fromkeys(m.text for n in sizes for m in make_memories(n, seed)))
    if cache is not None and cache.exists():
        stored = np.load(cache)
        known = dict(zip(stored["texts"].tolist(), stored["vectors"], strict=True))
        if all(text in known for text in texts):
            print(f"bulk embeddings read from {cache}", file=sys.stderr)
            return {text: known[text] for text in texts}
    started = time.perf_counter()
    vectors = await model.embed(texts)
    elapsed = time.perf_counter() - started
    if cache is not None:
        np.savez(cache, texts=np.array(texts), vectors=vectors)
    singles = []
    for n in range(20):
        t0 = time.perf_counter()
        await model.embed([f"single query number {n} for timing"])
        singles.append((time.perf_counter() - t0) * 1000)
    print(
        f"model {model.name}: {len(texts)} texts in {elapsed:.1f}s "
        f"({len(texts) / elapsed:.0f} texts/s batched); one short query: "
        f"median {statistics.median(singles):.2f} ms, p95 {pct(singles, 0.95):.2f} ms",
        file=sys.stderr,
    )
    return dict(zip(texts, vectors, strict=True))


def load_models(runtimes: list[str]) -> list[SentenceTransformerEmbedder]:
    """The offline MiniLM on each runtime asked for (none without the embeddings extra)."""
    if load_default_embedder() is None:
        return []
    return [SentenceTransformerEmbedder(runtime=runtime) for runtime in runtimes]


async def main(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="neuram-bench-"))
    redis_process = None
    if "redis" in args.backend_list and not args.redis_url:
        args.redis_url, redis_process = start_redis(workdir)
    if args.torch_threads:
        import torch  # the embeddings extra is installed when this option is used

        torch.set_num_threads(args.torch_threads)
    models = load_models(args.runtime_list)
    if not models:
        print("embeddings extra not installed: measuring embeddings off only", file=sys.stderr)
    try:
        for model in models:
            await model.load()
        memo = (
            await embed_bulk(models[0], args.size_list, args.seed, args.embedding_cache)
            if models
            else {}
        )
        results = []
        for size in args.size_list:
            for backend in args.backend_list:
                for embedder in [*models, None]:
                    runtime = embedder.active_runtime if embedder else "off"
                    print(f"measuring {backend} {size} embeddings {runtime} ...", file=sys.stderr)
                    results.append(await measure(backend, size, embedder, args, workdir, memo))
        print_table(results)
    finally:
        for model in models:
            await model.aclose()
        if redis_process is not None:
            redis_process.terminate()
            redis_process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.neuram_speed")
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--backends", default="sqlite,redis")
    parser.add_argument("--redis-url", default=None, help="default: start a redis-server")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--perceive-samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--embedding-cache", type=Path, default=None, help="an .npz file")
    parser.add_argument(
        "--runtimes",
        default="auto",
        help="what runs the model, comma-separated: auto, onnx, torch (e.g. onnx,torch)",
    )
    parser.add_argument(
        "--torch-threads", type=int, default=0, help="torch intra-op threads (0: torch default)"
    )
    args = parser.parse_args(argv)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.backend_list = [b.strip() for b in args.backends.split(",") if b.strip()]
    args.runtime_list = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    if not args.runtime_list or set(args.runtime_list) - {"auto", "onnx", "torch"}:
        parser.error("--runtimes takes auto, onnx and/or torch")
    if set(args.backend_list) - {"sqlite", "redis"}:
        parser.error("--backends takes sqlite and/or redis")
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
