"""The ``Retriever`` protocol, the document type it indexes, and the NeuralMemory adapter.

Every system under test implements the same two coroutines:

* ``index(items)`` stores one memory per :class:`Doc` (called once per brain), and
* ``search(query, k=..., reference_time=...)`` returns doc ids, best first.

:class:`NeuralMemoryRetriever` drives ``neural_memory`` through its public API only, so
the benchmark measures what a user of the library gets.
"""

from __future__ import annotations

import importlib
import inspect
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True, slots=True)
class Doc:
    """One memory to index: a dialog or chat turn.

    ``speaker`` is the LoCoMo speaker name or the LongMemEval role; ``date_text`` is the
    session date as written in the data set (used by the README's BM25 document text).
    """

    id: str
    text: str
    speaker: str
    timestamp: datetime
    date_text: str | None = None


@dataclass(frozen=True, slots=True)
class SearchOutput:
    """Ranked ids plus, when the system builds one, the context string it would inject."""

    ids: list[str]
    context: str | None = None


@runtime_checkable
class Retriever(Protocol):
    """A system under test: one instance per brain (conversation or haystack)."""

    name: str

    async def index(self, items: Sequence[Doc]) -> None:
        """Store one memory per item."""
        ...

    async def search(self, query: str, *, k: int, reference_time: datetime | None) -> list[str]:
        """Return up to ``k`` doc ids, best first."""
        ...

    async def close(self) -> None:
        """Release whatever the retriever holds (storage, models)."""
        ...


@runtime_checkable
class ContextRetriever(Retriever, Protocol):
    """A retriever that can also return the context it would hand to an LLM."""

    async def search_with_context(
        self, query: str, *, k: int, reference_time: datetime | None, max_tokens: int
    ) -> SearchOutput:
        """Ranked ids and the context built under ``max_tokens``."""
        ...


class SystemUnavailableError(RuntimeError):
    """Raised when a system cannot run here (missing package or model); the run skips it."""


def normalise_text(text: str) -> str:
    """Lower-case and collapse whitespace, for "does this text appear in the context"."""
    return " ".join(text.lower().split())


def evidence_in_context(evidence_texts: Sequence[str], context: str) -> float:
    """Fraction of evidence texts that appear (whitespace/case-normalised) in ``context``."""
    if not evidence_texts:
        raise ValueError("no evidence texts")
    haystack = normalise_text(context)
    found = sum(1 for text in evidence_texts if normalise_text(text) in haystack)
    return found / len(evidence_texts)


_WORD = re.compile(r"\S+")
_PUNCT = re.compile(r"[^\w\s]")


def estimate_tokens(text: str) -> int:
    """Upper-biased token estimate, the same rule as ``neural_memory``'s context budget.

    The larger of one token per 4 characters and 4 tokens per 3 words, plus one per two
    punctuation marks, so baselines and the engine fill a budget alike.
    """
    if not text:
        return 0
    words = len(_WORD.findall(text))
    punctuation = len(_PUNCT.findall(text))
    return max(math.ceil(len(text) / 4), math.ceil(words * 4 / 3)) + math.ceil(punctuation / 2)


def budget_context(
    texts: Sequence[str], max_tokens: int, costs: Sequence[int] | None = None
) -> str:
    """Join ranked texts best first while they fit ``max_tokens`` (one token per newline).

    A text that does not fit is skipped and a shorter one further down may still fit, as
    the engine's context builder does. ``costs`` are precomputed ``estimate_tokens``.
    """
    parts: list[str] = []
    used = 0
    for position, text in enumerate(texts):
        own = costs[position] if costs is not None else estimate_tokens(text)
        cost = own + (1 if parts else 0)
        if used + cost > max_tokens:
            continue
        parts.append(text)
        used += cost
    return "\n".join(parts)


# ----------------------------------------------------------------- NeuralMemory


_DEPTHS = ("INSTANT", "CONTEXT", "HABIT", "DEEP")


@dataclass(frozen=True, slots=True)
class NeuralMemoryApi:
    """The public names of ``neural_memory`` the adapter uses (injectable for tests)."""

    Brain: Any
    InMemoryStorage: Any
    SQLiteStorage: Any
    MemoryEncoder: Any
    ReflexPipeline: Any
    DepthLevel: Any


def load_neural_memory_api() -> NeuralMemoryApi:
    """Import the public API; :class:`SystemUnavailableError` says why when it cannot."""
    try:
        nm = importlib.import_module("neural_memory")
        storage = importlib.import_module("neural_memory.storage")
        encoder = importlib.import_module("neural_memory.engine.encoder")
        retrieval = importlib.import_module("neural_memory.engine.retrieval")
    except ImportError as exc:
        raise SystemUnavailableError(f"neural_memory is not importable yet: {exc}") from exc
    try:
        return NeuralMemoryApi(
            Brain=nm.Brain,
            InMemoryStorage=storage.InMemoryStorage,
            SQLiteStorage=getattr(storage, "SQLiteStorage", None),
            MemoryEncoder=encoder.MemoryEncoder,
            ReflexPipeline=retrieval.ReflexPipeline,
            DepthLevel=retrieval.DepthLevel,
        )
    except AttributeError as exc:
        raise SystemUnavailableError(f"neural_memory's public API is incomplete: {exc}") from exc


@dataclass(slots=True)
class NeuralMemoryRetriever:
    """Adapter over ``neural_memory``'s public API (one brain per instance).

    ``storage_kind`` is ``"memory"`` (``InMemoryStorage``) or ``"sqlite"``
    (``SQLiteStorage`` in ``sqlite_dir``). Each doc is encoded with its timestamp and
    ``metadata={"speaker": ..., "doc_id": ...}``; the fiber ids the encoder returns are
    mapped back to doc ids. With ``bulk`` the encoder's ``encode_many`` (when it exists)
    receives one dict per doc (``content``, ``timestamp``, ``metadata``); otherwise
    ``encode`` runs in a loop. ``api`` defaults to the real package.

    ``search_with_context`` asks for ``max(k, context_fibers)`` fibers so that the token
    budget, not the fiber count, bounds the context (the ids are cut to the top ``k``).
    """

    name: str = "neural_memory"
    depth: str = "CONTEXT"
    storage_kind: str = "memory"
    sqlite_dir: Path | None = None
    brain_name: str = "bench"
    bulk: bool = False
    context_fibers: int = 100
    api: NeuralMemoryApi | None = None
    _storage: Any = None
    _config: Any = None
    _pipeline: Any = None
    _fiber_to_doc: dict[str, str] = field(default_factory=dict)
    _depth_value: Any = None

    def __post_init__(self) -> None:
        if self.depth.upper() not in _DEPTHS:
            raise ValueError(f"depth must be one of {_DEPTHS}, got {self.depth!r}")
        if self.storage_kind not in ("memory", "sqlite"):
            raise ValueError(f"storage_kind must be memory or sqlite, not {self.storage_kind!r}")

    async def _open(self) -> Any:
        api = self.api if self.api is not None else load_neural_memory_api()
        self.api = api
        brain = api.Brain.create(self.brain_name)
        if self.storage_kind == "sqlite":
            if api.SQLiteStorage is None:
                raise SystemUnavailableError("neural_memory.storage has no SQLiteStorage yet")
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", self.brain_name)
            storage = api.SQLiteStorage(str((self.sqlite_dir or Path(".")) / f"{safe}.db"))
        else:
            storage = api.InMemoryStorage()
        initialize = getattr(storage, "initialize", None)
        if initialize is not None:
            await _maybe_await(initialize())
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        self._storage = storage
        self._config = brain.config
        self._pipeline = api.ReflexPipeline(storage, brain.config)
        self._depth_value = getattr(api.DepthLevel, self.depth.upper())
        return storage

    async def index(self, items: Sequence[Doc]) -> None:
        """Encode one memory per doc, with its timestamp and speaker."""
        storage = self._storage if self._storage is not None else await self._open()
        if self.api is None:
            raise RuntimeError("neural_memory API not loaded")
        encoder = self.api.MemoryEncoder(storage, self._config)
        encode_many = getattr(encoder, "encode_many", None)
        if self.bulk and encode_many is not None and items:
            batch = [
                {
                    "content": doc.text,
                    "timestamp": doc.timestamp,
                    "metadata": {"speaker": doc.speaker, "doc_id": doc.id},
                }
                for doc in items
            ]
            results = await _maybe_await(encode_many(batch))
            for doc, result in zip(items, results, strict=True):
                self._fiber_to_doc[str(result.fiber.id)] = doc.id
            return
        for doc in items:
            result = await encoder.encode(
                doc.text,
                timestamp=doc.timestamp,
                metadata={"speaker": doc.speaker, "doc_id": doc.id},
            )
            self._fiber_to_doc[str(result.fiber.id)] = doc.id

    async def _query(
        self, query: str, k: int, reference_time: datetime | None, max_tokens: int
    ) -> Any:
        if self._pipeline is None:
            raise RuntimeError("index() must be called before search()")
        return await self._pipeline.query(
            query,
            depth=self._depth_value,
            max_tokens=max_tokens,
            reference_time=reference_time,
            max_fibers=k,
        )

    def _ids(self, result: Any, k: int) -> list[str]:
        fiber_ids: list[str] = []
        fibers = getattr(result, "fibers", None)
        if fibers is not None:
            fiber_ids = [str(getattr(f, "fiber_id", f)) for f in fibers]
        else:
            fiber_ids = [str(f) for f in getattr(result, "fibers_matched", [])]
        ids: list[str] = []
        for fiber_id in fiber_ids:
            doc_id = self._fiber_to_doc.get(fiber_id)
            if doc_id is not None and doc_id not in ids:
                ids.append(doc_id)
            if len(ids) >= k:
                break
        return ids

    async def search(self, query: str, *, k: int, reference_time: datetime | None) -> list[str]:
        """Top ``k`` doc ids from the reflex pipeline."""
        result = await self._query(query, k, reference_time, max_tokens=1000)
        return self._ids(result, k)

    async def search_with_context(
        self, query: str, *, k: int, reference_time: datetime | None, max_tokens: int
    ) -> SearchOutput:
        """Top ``k`` doc ids and the pipeline's context under ``max_tokens``."""
        fibers = max(k, self.context_fibers)
        result = await self._query(query, fibers, reference_time, max_tokens=max_tokens)
        return SearchOutput(ids=self._ids(result, k), context=str(result.context or ""))

    async def close(self) -> None:
        """Close the storage."""
        if self._storage is not None:
            close = getattr(self._storage, "close", None)
            if close is not None:
                await _maybe_await(close())
            self._storage = None
            self._pipeline = None


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
