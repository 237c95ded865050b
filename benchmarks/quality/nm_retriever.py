"""The ``neural_memory`` system on the benchmark harness, through its public API only."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.quality.retrievers import Doc, SearchOutput
from neural_memory import Brain
from neural_memory.engine.consolidation import (
    ConsolidationPolicy,
    ConsolidationReport,
    consolidate,
)
from neural_memory.engine.embeddings import Embedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import (
    DepthLevel,
    FusionWeights,
    ReflexPipeline,
    RetrievalResult,
)
from neural_memory.storage import InMemoryStorage, SQLiteStorage, Storage

__all__ = ["NeuralMemoryRetriever", "sessions_in_order"]

_BATCH = 500


def sessions_in_order(items: Sequence[Doc]) -> list[list[Doc]]:
    """Docs grouped by session (``Doc.session``, else the timestamp), oldest session first.

    Groups keep the order of their docs; sessions with the same date keep input order.
    """
    groups: dict[str, list[Doc]] = {}
    for doc in items:
        key = doc.session if doc.session is not None else doc.timestamp.isoformat()
        groups.setdefault(key, []).append(doc)
    return sorted(groups.values(), key=lambda docs: max(d.timestamp for d in docs))


@dataclass(slots=True)
class NeuralMemoryRetriever:
    """One brain per instance: every doc is one memory, encoded with its date and speaker.

    Memories are stored in batches with ``encode_many``; identical turns from the same
    speaker merge into one memory, so a fiber maps to every doc it holds. ``reinforce``
    lets recall strengthen what it used (the engine's default behaviour). ``weights`` sets
    the fusion of the retrieval signals (``None``: the engine's defaults).

    With ``sleep``, memories arrive session by session, oldest first, and after each session
    the brain sleeps as of that session's date: ``consolidate(storage, config, now=date)``,
    which also applies decay (``sleep_policy``: the consolidation policy, default the
    engine's). ``sleep_stats`` sums what sleeping did. With ``plain_text`` the docs carry
    their date and speaker inside the text and are stored with neither timestamp nor speaker.
    """

    name: str = "neural_memory"
    depth: str = "CONTEXT"
    storage_kind: str = "memory"
    sqlite_dir: Path | None = None
    brain_name: str = "bench"
    context_fibers: int = 100
    embedder: Embedder | None = None
    reinforce: bool = True
    weights: FusionWeights | None = None
    sleep: bool = False
    sleep_policy: ConsolidationPolicy | None = None
    plain_text: bool = False
    sleep_stats: dict[str, float] = field(default_factory=dict)
    _storage: Storage | None = None
    _brain: Brain | None = None
    _encoder: MemoryEncoder | None = None
    _pipeline: ReflexPipeline | None = None
    _fiber_docs: dict[str, list[str]] = field(default_factory=dict)

    async def _open(self) -> Storage:
        brain = Brain.create(self.brain_name)
        if self.storage_kind == "sqlite":
            folder = self.sqlite_dir or Path(".")
            storage: Storage = SQLiteStorage(folder / f"{brain.id}.db")
        else:
            storage = InMemoryStorage()
        await storage.initialize()
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        self._storage = storage
        self._brain = brain
        self._encoder = MemoryEncoder(storage, brain.config, embedder=self.embedder)
        self._pipeline = ReflexPipeline(
            storage,
            brain.config,
            embedder=self.embedder,
            reinforce=self.reinforce,
            weights=self.weights,
        )
        return storage

    async def index(self, items: Sequence[Doc]) -> None:
        """Encode one memory per doc, with its timestamp and speaker (sleeping if asked)."""
        if self._encoder is None:
            await self._open()
        if not self.sleep:
            await self._encode(items)
            return
        for session in sessions_in_order(items):
            await self._encode(session)
            await self._sleep(max(doc.timestamp for doc in session))
        await self._count_lost()

    async def _encode(self, items: Sequence[Doc]) -> None:
        assert self._encoder is not None
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            results = await self._encoder.encode_many([self._memory(doc) for doc in batch])
            for doc, result in zip(batch, results, strict=True):
                self._fiber_docs.setdefault(result.fiber.id, []).append(doc.id)

    def _memory(self, doc: Doc) -> MemoryInput:
        """The doc as a memory: with timestamp and speaker, or (``plain_text``) the text alone."""
        if self.plain_text:
            return MemoryInput(text=doc.text, metadata={"doc_id": doc.id})
        return MemoryInput(
            text=doc.text,
            timestamp=doc.timestamp,
            metadata={"speaker": doc.speaker, "doc_id": doc.id},
        )

    async def _sleep(self, now: datetime) -> None:
        assert self._storage is not None and self._brain is not None
        started = time.perf_counter()
        report = await consolidate(
            self._storage, self._brain.config, policy=self.sleep_policy, now=now
        )
        self._add_sleep_stats(report, time.perf_counter() - started)

    def _add_sleep_stats(self, report: ConsolidationReport, seconds: float) -> None:
        figures = {
            "sleeps": 1.0,
            "sleep_seconds": seconds,
            "duplicates_merged": report.duplicates_merged,
            "facts_superseded": report.facts_superseded,
            "paths_strengthened": report.paths_strengthened,
            "memories_matured": report.memories_matured,
            "concepts_promoted": report.concepts_promoted,
            "orphans_pruned": report.orphans_pruned,
            "expired": report.expired,
        }
        for key, value in figures.items():
            self.sleep_stats[key] = self.sleep_stats.get(key, 0.0) + float(value)

    async def _count_lost(self) -> None:
        """How many indexed memories sleeping removed (their docs can no longer be found)."""
        assert self._storage is not None
        ids = list(self._fiber_docs)
        alive: set[str] = set()
        for start in range(0, len(ids), _BATCH):
            alive.update(await self._storage.get_fibers(ids[start : start + _BATCH]))
        lost = [fid for fid in ids if fid not in alive]
        self.sleep_stats["memories_lost"] = self.sleep_stats.get("memories_lost", 0.0) + len(lost)
        self.sleep_stats["docs_lost"] = self.sleep_stats.get("docs_lost", 0.0) + sum(
            len(self._fiber_docs[fid]) for fid in lost
        )

    async def _query(
        self,
        query: str,
        fibers: int,
        reference_time: datetime | None,
        max_tokens: int,
        asker: str | None,
    ) -> RetrievalResult:
        if self._pipeline is None:
            raise RuntimeError("index() must be called before search()")
        return await self._pipeline.query(
            query,
            depth=DepthLevel[self.depth.upper()],
            max_tokens=max_tokens,
            reference_time=reference_time,
            max_fibers=fibers,
            asker=asker,
        )

    def _ids(self, result: RetrievalResult, k: int) -> list[str]:
        ids: list[str] = []
        for fiber in result.fibers:
            for doc_id in self._fiber_docs.get(fiber.fiber_id, ()):
                if doc_id not in ids:
                    ids.append(doc_id)
        return ids[:k]

    async def search(
        self, query: str, *, k: int, reference_time: datetime | None, asker: str | None = None
    ) -> list[str]:
        """Top ``k`` doc ids from the reflex pipeline, asked by ``asker`` (if known)."""
        result = await self._query(query, k, reference_time, 1000, asker)
        return self._ids(result, k)

    async def search_with_context(
        self,
        query: str,
        *,
        k: int,
        reference_time: datetime | None,
        max_tokens: int,
        asker: str | None = None,
    ) -> SearchOutput:
        """Top ``k`` doc ids and the pipeline's context under ``max_tokens``.

        Memories that are no turn (concepts made by consolidation) are skipped, so the
        ids may come from deeper in the ranking than ``k`` fibers.
        """
        result = await self._query(
            query, max(k, self.context_fibers), reference_time, max_tokens, asker
        )
        return SearchOutput(ids=self._ids(result, k), context=result.context)

    async def close(self) -> None:
        """Close the storage."""
        if self._storage is not None:
            await self._storage.close()
            self._storage = None
            self._pipeline = None
