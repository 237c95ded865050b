"""LongTermMemory: the long-term stores, one brain of the engine's Storage (Redis, SQLite, ...).

Every consolidated engram is a fiber of that brain (see :mod:`neuram._codec`); the regions
(Neocortex, Cerebellum, BasalGanglia) are views of it selected by tag. Recall runs on the
engine's own indexes: the :class:`~neural_memory.engine.retrieval.ReflexPipeline` (lexical,
graph and vector signals over the per-brain in-process index) proposes candidates, and the
index answers lookups, so nothing scans storage per query. Strengthening is written back to
the stored fiber; sleep deletes the fibers whose retention fell below the threshold.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from neural_memory.core.brain import Brain as EngineBrain
from neural_memory.core.fiber import Fiber
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.extraction import Extraction
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.retrieval import DepthLevel, ReflexPipeline
from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.errors import NotFoundError, StorageClosedError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import FiberVector, WriteBatch
from neuram._codec import (
    TAG,
    engram_from_fiber,
    engram_metadata,
    engram_tags,
    fiber_with,
    moment,
    region_tag,
    retention_state,
    stored_vector,
)
from neuram._embedding import EmbeddingService
from neuram.activation import Candidate
from neuram.engram import Engram
from neuram.forgetting import hours_between, retention

__all__ = ["CANDIDATE_DEPTH", "SUPERSEDED_WEIGHT", "LongTermMemory"]

SUPERSEDED_WEIGHT = 0.3
"""Activation kept by a statement a newer one superseded ("the wifi password is ...")."""
CANDIDATE_DEPTH = DepthLevel.INSTANT
"""How far the engine's graph activation goes when proposing candidates: one hop (neuram
spreads further itself, through engram associations)."""
_CHUNK = 500


class LongTermMemory:
    """Neuram's brain in a Storage, and the engine pieces that read and write it.

    Args:
        storage: Where the long-term stores live; it is switched to neuram's brain.
        brain_name: The engine brain holding the engrams (created when missing).
        embeddings: The embedder (None: lexical and graph signals only).
        owns_storage: Close ``storage`` in :meth:`close`.
    """

    def __init__(
        self,
        storage: Storage,
        *,
        brain_name: str = "neuram",
        embeddings: EmbeddingService | None = None,
        owns_storage: bool = False,
    ) -> None:
        self.storage = storage
        self.brain_name = brain_name
        self._embeddings = embeddings
        self._owns_storage = owns_storage
        self._encoder: MemoryEncoder | None = None
        self._pipeline: ReflexPipeline | None = None
        self._index: BrainIndex | None = None
        self._handle: BrainHandle | None = None

    async def open(self) -> None:
        """Connect, select (or create) the brain and build the index from storage."""
        await self.storage.initialize()
        brains = await self.storage.list_brains()
        brain = next((b for b in brains if b.name == self.brain_name), None)
        if brain is None:
            brain = EngineBrain.create(self.brain_name)
            await self.storage.save_brain(brain)
        self.storage.set_brain(brain.id)
        self._handle = BrainHandle.of(self.storage, brain.id)
        self._encoder = MemoryEncoder(self._handle, brain.config, embedder=self._embeddings)
        self._pipeline = ReflexPipeline(
            self._handle,
            brain.config,
            embedder=self._embeddings,
            reinforce=False,
            record_events=False,
        )
        self._index = self._handle.index(self._embeddings)
        await self._adopt_metadata_vectors()
        await self._index.sync()
        await self._index.load_fibers()  # the regions read whole memories

    async def _adopt_metadata_vectors(self) -> None:
        """Store the vectors an older release kept in fiber metadata as storage vectors.

        The index then loads them from storage like any other, and nothing is embedded again.
        """
        if self._embeddings is None or self._handle is None:
            return
        name = self._embeddings.name
        kept = {
            fiber.id: vector
            for fiber in await self.storage.find_fibers(tags=[TAG])
            if (vector := stored_vector(fiber, name)) is not None
        }
        if not kept:
            return
        stored = await self.storage.get_vectors(name, kept)
        missing = tuple(FiberVector(i, name, v) for i, v in kept.items() if i not in stored)
        if missing:
            await self._handle.write(WriteBatch(put_vectors=missing))

    async def close(self) -> None:
        """Close the storage if this object owns it."""
        if self._owns_storage:
            await self.storage.close()

    @property
    def index(self) -> BrainIndex:
        """The engine's in-process index of the brain."""
        if self._index is None:
            raise StorageClosedError("the long-term stores are not open: await open() first")
        return self._index

    # -- EngramSource (from the index, as of its last sync) ------------------------------------

    @property
    def size(self) -> int:
        """Number of stored fibers."""
        return self.index.memory_count

    def fragment_count(self, fragment: str) -> int:
        """How many stored fibers bind the neuron ``fragment``."""
        return self.index.neuron_degree(fragment)

    def lookup(self, engram_id: str) -> Engram | None:
        """The stored engram with this id (its embedding left out), or None."""
        fiber = self._fiber(engram_id)
        return engram_from_fiber(fiber, with_embedding=False) if fiber is not None else None

    def attach_embeddings(self, engrams: Sequence[Engram]) -> None:
        """Fill in the stored embedding of stored engrams that carry none."""
        for engram in engrams:
            vector = self.index.vector(engram.engram_id) if engram.vector is None else None
            if vector is not None:
                engram.embedding = vector

    def _engram(self, fiber: Fiber) -> Engram | None:
        engram = engram_from_fiber(fiber, with_embedding=False)
        if engram is not None:
            self.attach_embeddings([engram])
        return engram

    def _fiber(self, engram_id: str) -> Fiber | None:
        return self.index.fiber(engram_id)

    # -- reads ---------------------------------------------------------------------------------

    async def sync(self) -> None:
        """Catch the index up with storage (other processes' writes included)."""
        await self.index.sync()
        await self.index.load_fibers()  # the regions read whole memories

    async def candidates(
        self,
        query: str,
        *,
        now: float,
        limit: int,
        vector: npt.NDArray[np.float32] | None = None,
        analysis: Extraction | None = None,
    ) -> list[Candidate]:
        """The stored engrams the engine's pipeline finds for ``query`` (no strengthening).

        ``vector`` (the query's embedding) and ``analysis`` (its extraction at ``now``) are
        what the caller computed already: the engine does not compute them again.
        """
        if self._pipeline is None:
            raise StorageClosedError("the long-term stores are not open: await open() first")
        ranked = await self._pipeline.search(
            query,
            CANDIDATE_DEPTH,
            reference_time=moment(now),
            max_fibers=limit,
            vector=vector,
            analysis=analysis,
        )
        found = []
        for scored in ranked:
            fiber = self._fiber(scored.fiber_id)
            engram = engram_from_fiber(fiber, with_embedding=False) if fiber else None
            if fiber is None or engram is None:
                continue
            cosine = scored.semantic if self._embeddings else None
            weight = SUPERSEDED_WEIGHT if fiber.superseded_by else 1.0
            found.append(Candidate(engram, cosine, weight))
        return found

    async def engrams(self, region: str | None = None) -> list[Engram]:
        """Every stored engram (of ``region``), oldest first."""
        await self.sync()
        wanted = region_tag(region) if region else TAG
        return [
            engram
            for fiber in self.index.live_fibers()
            if wanted in fiber.tags and (engram := self._engram(fiber)) is not None
        ]

    async def get(self, engram_id: str) -> Engram | None:
        """The stored engram with this id, or None."""
        await self.sync()
        fiber = self._fiber(engram_id)
        return self._engram(fiber) if fiber is not None else None

    # -- writes --------------------------------------------------------------------------------

    async def store(self, engrams: Sequence[Engram]) -> None:
        """Write engrams as new fibers (one transaction); a text stored already is merged."""
        if self._encoder is None:
            raise StorageClosedError("the long-term stores are not open: await open() first")
        with_vectors = self._embeddings is not None
        items = [
            MemoryInput(
                text=e.content,
                timestamp=moment(e.created_at),
                metadata=engram_metadata(e, None),
                tags=engram_tags(e),
                salience=e.salience,
                vector=e.vector if with_vectors else None,  # stored as the memory's vector
            )
            for e in engrams
        ]
        results = await self._encoder.encode_many(items)
        merged: list[Fiber] = []
        for engram, result in zip(engrams, results, strict=True):
            engram.engram_id = result.fiber.id
            if result.merged:
                merged.append(fiber_with(result.fiber, _stronger(result.fiber, engram), None))
        if merged:
            await self._write(WriteBatch(update_fibers=tuple(merged)))

    async def _write(self, batch: WriteBatch) -> None:
        """Write ``batch`` and apply it to this process's indexes (no read-back needed)."""
        if self._handle is None:
            raise StorageClosedError("the long-term stores are not open: await open() first")
        await self._handle.write(batch)

    async def save(self, engrams: Sequence[Engram]) -> None:
        """Write the new state of stored engrams (those deleted meanwhile are skipped)."""
        pairs = [(self._fiber(e.engram_id), e) for e in engrams]
        fibers = tuple(fiber_with(f, e, None) for f, e in pairs if f is not None)
        if not fibers:
            return
        try:
            await self._write(WriteBatch(update_fibers=fibers))
        except NotFoundError:  # another process deleted one: write the ones that remain
            present = await self.storage.get_fibers(f.id for f in fibers)
            remaining = tuple(f for f in fibers if f.id in present)
            if remaining:
                await self._write(WriteBatch(update_fibers=remaining))

    async def delete(self, engram_id: str) -> bool:
        """Delete a stored engram; False if it was not stored."""
        if await self.storage.get_fiber(engram_id) is None:
            return False
        await self._write(WriteBatch(delete_fiber_ids=(engram_id,)))
        return True

    async def prune(self, *, now: float, threshold: float) -> list[str]:
        """Delete the stored engrams whose retention at ``now`` is below ``threshold``."""
        await self.sync()
        doomed = []
        for fiber in self.index.live_fibers():
            state = retention_state(fiber)
            if state is None:
                continue
            stability, last_access = state
            if retention(hours_between(last_access, now), stability) < threshold:
                doomed.append(fiber.id)
        for start in range(0, len(doomed), _CHUNK):
            chunk = tuple(doomed[start : start + _CHUNK])
            await self._write(WriteBatch(delete_fiber_ids=chunk))
        return doomed


def _stronger(stored: Fiber, engram: Engram) -> Engram:
    """Of a stored copy and a new one of the same text, the more stable (links merged)."""
    old = engram_from_fiber(stored)
    if old is None:
        return engram
    keep, other = (old, engram) if old.stability >= engram.stability else (engram, old)
    for edge_id, weight in other.associations:
        keep.associate(edge_id, weight)
    keep.engram_id = stored.id
    return keep
