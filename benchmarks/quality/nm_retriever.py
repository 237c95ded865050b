"""The ``neural_memory`` system on the benchmark harness, through its public API only."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from benchmarks.quality.retrievers import Doc, SearchOutput
from neural_memory import Brain
from neural_memory.engine.embeddings import Embedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import DepthLevel, ReflexPipeline, RetrievalResult
from neural_memory.storage import InMemoryStorage, SQLiteStorage, Storage

__all__ = ["NeuralMemoryRetriever"]

_BATCH = 500


@dataclass(slots=True)
class NeuralMemoryRetriever:
    """One brain per instance: every doc is one memory, encoded with its date and speaker.

    Memories are stored in batches with ``encode_many``; identical turns from the same
    speaker merge into one memory, so a fiber maps to every doc it holds. ``reinforce``
    lets recall strengthen what it used (the engine's default behaviour).
    """

    name: str = "neural_memory"
    depth: str = "CONTEXT"
    storage_kind: str = "memory"
    sqlite_dir: Path | None = None
    brain_name: str = "bench"
    context_fibers: int = 100
    embedder: Embedder | None = None
    reinforce: bool = True
    _storage: Storage | None = None
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
        self._encoder = MemoryEncoder(storage, brain.config, embedder=self.embedder)
        self._pipeline = ReflexPipeline(
            storage, brain.config, embedder=self.embedder, reinforce=self.reinforce
        )
        return storage

    async def index(self, items: Sequence[Doc]) -> None:
        """Encode one memory per doc, with its timestamp and speaker."""
        if self._encoder is None:
            await self._open()
        assert self._encoder is not None
        for start in range(0, len(items), _BATCH):
            batch = items[start : start + _BATCH]
            results = await self._encoder.encode_many(
                [
                    MemoryInput(
                        text=doc.text,
                        timestamp=doc.timestamp,
                        metadata={"speaker": doc.speaker, "doc_id": doc.id},
                    )
                    for doc in batch
                ]
            )
            for doc, result in zip(batch, results, strict=True):
                self._fiber_docs.setdefault(result.fiber.id, []).append(doc.id)

    async def _query(
        self, query: str, fibers: int, reference_time: datetime | None, max_tokens: int
    ) -> RetrievalResult:
        if self._pipeline is None:
            raise RuntimeError("index() must be called before search()")
        return await self._pipeline.query(
            query,
            depth=DepthLevel[self.depth.upper()],
            max_tokens=max_tokens,
            reference_time=reference_time,
            max_fibers=fibers,
        )

    def _ids(self, result: RetrievalResult, k: int) -> list[str]:
        ids: list[str] = []
        for fiber in result.fibers:
            for doc_id in self._fiber_docs.get(fiber.fiber_id, ()):
                if doc_id not in ids:
                    ids.append(doc_id)
        return ids[:k]

    async def search(self, query: str, *, k: int, reference_time: datetime | None) -> list[str]:
        """Top ``k`` doc ids from the reflex pipeline."""
        result = await self._query(query, k, reference_time, max_tokens=1000)
        return self._ids(result, k)

    async def search_with_context(
        self, query: str, *, k: int, reference_time: datetime | None, max_tokens: int
    ) -> SearchOutput:
        """Top ``k`` doc ids and the pipeline's context under ``max_tokens``."""
        result = await self._query(
            query, max(k, self.context_fibers), reference_time, max_tokens=max_tokens
        )
        return SearchOutput(ids=self._ids(result, k), context=result.context)

    async def close(self) -> None:
        """Close the storage."""
        if self._storage is not None:
            await self._storage.close()
            self._storage = None
            self._pipeline = None
