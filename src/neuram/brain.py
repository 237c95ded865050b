"""Brain: perceive, recall, sleep and forget, through the regions of a brain."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from typing import Any, Self

import numpy as np

from neural_memory.engine.embeddings import Embedder, Vectors, default_embedder
from neural_memory.errors import ConfigError, StorageClosedError, ValidationError
from neural_memory.storage import RedisStorage, SQLiteStorage
from neural_memory.storage.base import Storage
from neuram._embedding import EmbeddingService, adapt_embedder
from neuram.activation import analyse_query, cue_of, rank
from neuram.engram import Engram, MemoryType, as_vector, engram_id_for
from neuram.forgetting import potentiate
from neuram.regions.amygdala import Amygdala
from neuram.regions.cortex import BasalGanglia, Cerebellum, Neocortex
from neuram.regions.hippocampus import Hippocampus
from neuram.regions.longterm import LongTermMemory
from neuram.regions.prefrontal import PrefrontalCortex
from neuram.regions.sensory import SensoryCortex
from neuram.regions.sleep import SleepCycle, SleepReport
from neuram.regions.thalamus import Thalamus

__all__ = ["Brain"]

Clock = Callable[[], float]
_CANDIDATES = 20


class Brain:
    """A brain of regions over the engine's storage; build one with :meth:`create`.

    Input flows SensoryCortex -> Thalamus -> Amygdala -> PrefrontalCortex + Hippocampus; sleep
    consolidates into Neocortex, Cerebellum and BasalGanglia, kept in Redis (``redis_url``) or
    in an embedded SQLite file. Every public coroutine is safe to call concurrently: they take
    turns on one lock.

    Attributes:
        sensory_cortex, thalamus, amygdala, prefrontal_cortex, hippocampus, neocortex,
        cerebellum, basal_ganglia, sleep_cycle: The regions.
        longterm: The long-term stores (the engine's storage, brain and index).
    """

    def __init__(
        self,
        longterm: LongTermMemory,
        *,
        embeddings: EmbeddingService | None,
        clock: Clock,
        sleep_interval_seconds: float,
        working_memory_capacity: int,
        hippocampus: Hippocampus,
    ) -> None:
        self._clock = clock
        self._lock = asyncio.Lock()
        self._embeddings = embeddings
        self._closed = False
        self.longterm = longterm
        self.sensory_cortex = SensoryCortex(clock=clock)
        self.thalamus = Thalamus()
        self.amygdala = Amygdala()
        self.prefrontal_cortex = PrefrontalCortex(working_memory_capacity, clock=clock)
        self.hippocampus = hippocampus
        self.neocortex = Neocortex(longterm)
        self.cerebellum = Cerebellum(longterm)
        self.basal_ganglia = BasalGanglia(longterm)
        self.sleep_cycle = SleepCycle(
            prefrontal=self.prefrontal_cortex,
            hippocampus=hippocampus,
            longterm=longterm,
            lock=self._lock,
            embeddings=embeddings,
            clock=clock,
            interval_seconds=sleep_interval_seconds,
        )

    @classmethod
    async def create(
        cls,
        redis_url: str | None = None,
        *,
        sleep_interval_seconds: float = 30.0,
        path: str | os.PathLike[str] = "neuram.db",
        storage: Storage | None = None,
        brain_name: str = "neuram",
        namespace: str = "nm",
        embedder: Embedder | Callable[[list[str]], Any] | None = None,
        embeddings: bool = True,
        clock: Clock | None = None,
        working_memory_capacity: int = 7,
    ) -> Self:
        """Open a brain: its long-term stores and (optionally) an embedding model.

        Args:
            redis_url: Keep the long-term stores in this Redis (needs the ``redis`` extra).
            sleep_interval_seconds: Time between two cycles of :meth:`start_sleep_cycle`.
            path: Without ``redis_url``: the SQLite file of the long-term stores.
            storage: Any engine Storage instead (not closed by :meth:`close`).
            brain_name: The engine brain holding the engrams (created when missing).
            namespace: The Redis key namespace.
            embedder: Any Embedder, or a callable ``texts -> vectors`` (sync or async);
                default: the process's default model
                (:func:`~neural_memory.engine.embeddings.default_embedder`: the offline
                all-MiniLM-L6-v2 when the ``embeddings`` extra is installed, loaded once per
                process and shared), else lexical recall only.
            embeddings: False: no embeddings at all (lexical and graph recall).
            clock: Current time in POSIX seconds (``time.time``); inject one in tests.
            working_memory_capacity: Slots of working memory (7 +/- 2).
        """
        clock = clock or time.time
        if storage is not None and redis_url is not None:
            raise ConfigError("give either redis_url or storage, not both")
        owns_storage = storage is None
        if storage is None:
            storage = _storage(redis_url, path, namespace)
        hippocampus = Hippocampus(clock=clock)
        service = await _embedding_service(embedder, hippocampus) if embeddings else None
        longterm = LongTermMemory(
            storage, brain_name=brain_name, embeddings=service, owns_storage=owns_storage
        )
        opened = False
        try:
            if service is not None:
                await service.load()
            await longterm.open()
            opened = True
        finally:
            if not opened:
                if service is not None:
                    await service.aclose()
                await longterm.close()
        return cls(
            longterm,
            embeddings=service,
            clock=clock,
            sleep_interval_seconds=sleep_interval_seconds,
            working_memory_capacity=working_memory_capacity,
            hippocampus=hippocampus,
        )

    # -- perceive ------------------------------------------------------------------------------

    async def perceive(
        self,
        content: str,
        memory_type: MemoryType = MemoryType.EPISODIC,
        salience: float | None = None,
        reward: float | None = None,
    ) -> Engram | None:
        """Take in ``content``; return its engram, or None when the Thalamus filtered it out.

        ``salience`` (0-1) overrides the Amygdala's appraisal; ``reward`` (-1 to 1) is a
        dopamine-style signal applied once by the BasalGanglia. Content already remembered is
        rehearsed (strengthened) rather than stored twice. The embedding is computed in the
        background, in batches.
        """
        if not isinstance(content, str) or not content.strip():
            raise ValidationError("content must be a non-empty string")
        kind = _memory_type(memory_type)
        if reward is not None and (
            isinstance(reward, bool) or not isinstance(reward, int | float) or abs(reward) > 1
        ):
            raise ValidationError(f"reward must be a number between -1 and 1, got {reward!r}")
        async with self._lock:
            self._check_open()
            now = self._clock()
            trace = self.sensory_cortex.register(content, now=now)
            repeats = self.sensory_cortex.repetitions(content, now=now) - 1
            tagged = self.amygdala.appraise(content, salience, reward)
            if not self.thalamus.admit(content, tagged, repetitions=repeats):
                return None
            self.sensory_cortex.attend(trace.trace_id, now=now)
            known = await self._known(engram_id_for(content))
            if known is not None:
                return await self._rehearse(known, reward, now)
            engram = self.amygdala.encode(content, kind, tagged, now=now)
            if reward is not None:
                BasalGanglia.modulate(engram, reward)
            self.hippocampus.encode(engram, now=now)
            self.prefrontal_cortex.hold(engram, now=now)
            if self._embeddings is not None:
                self._embeddings.submit(engram)
            return engram

    async def _known(self, engram_id: str) -> Engram | None:
        engram = self.hippocampus.lookup(engram_id)
        if engram is not None:
            return engram
        await self.longterm.sync()
        return self.longterm.lookup(engram_id)

    async def _rehearse(self, engram: Engram, reward: float | None, now: float) -> Engram:
        potentiate(engram, now)
        if reward is not None:
            BasalGanglia.modulate(engram, reward)
        if engram.consolidated:
            await self.longterm.save([engram])
            self.longterm.attach_embeddings([engram])
        self.prefrontal_cortex.hold(engram, now=now)
        return engram

    # -- recall --------------------------------------------------------------------------------

    async def recall(self, query: str, top_k: int = 5) -> list[tuple[Engram, float]]:
        """Recall by pattern completion and spreading activation: ``(engram, score)`` pairs.

        Searches the hippocampus and every long-term store. Each recalled engram is
        strengthened (long-term potentiation) where it is kept, and the best one is brought
        into working memory.
        """
        if not isinstance(query, str) or not query.strip():
            raise ValidationError("query must be a non-empty string")
        if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1:
            raise ValidationError("top_k must be a positive integer")
        async with self._lock:
            self._check_open()
            now = self._clock()
            analysis = analyse_query(query, now)  # once: the engine gets it, not recomputes
            vector = await self._query_vector(query)
            limit = max(_CANDIDATES, 4 * top_k)
            stored = await self.longterm.candidates(
                query, now=now, limit=limit, vector=vector, analysis=analysis
            )
            cue = cue_of(analysis)
            recent = self.hippocampus.candidates(cue, vector, limit)
            results = rank(
                [*recent, *stored], [self.hippocampus, self.longterm], cue, now=now, top_k=top_k
            )
            for engram, _ in results:
                potentiate(engram, now)
                self.prefrontal_cortex.refresh(engram)
                self.prefrontal_cortex.rehearse(engram.engram_id, now=now)
            consolidated = [engram for engram, _ in results if engram.consolidated]
            await self.longterm.save(consolidated)
            self.longterm.attach_embeddings(consolidated)
            if results:
                self.prefrontal_cortex.hold(results[0][0], now=now)
            return results

    async def _query_vector(self, query: str) -> Vectors | None:
        if self._embeddings is None:
            return None
        await self._embeddings.flush()
        vector: Vectors = (await self._embeddings.embed([query]))[0]
        return vector if np.any(vector) else None

    # -- working memory, sleep, forgetting -------------------------------------------------------

    @property
    def working_memory(self) -> list[Engram]:
        """The engrams working memory holds now (at most its capacity), oldest first."""
        return self.prefrontal_cortex.items()

    async def sleep(self) -> SleepReport:
        """Run one sleep cycle now: ``{'consolidated', 'pruned_wm', 'pruned_ltm'}`` counts."""
        self._check_open()
        return await self.sleep_cycle.run_once()

    async def start_sleep_cycle(self) -> None:
        """Sleep in the background every ``sleep_interval_seconds`` until stopped."""
        self._check_open()
        self.sleep_cycle.start()

    async def stop_sleep_cycle(self) -> None:
        """Stop the background sleep cycle (waits for it to end)."""
        await self.sleep_cycle.stop()

    async def forget(self, engram_id: str) -> bool:
        """Remove an engram everywhere: working memory, hippocampus and long-term stores."""
        if not isinstance(engram_id, str) or not engram_id:
            raise ValidationError("engram_id must be a non-empty string")
        async with self._lock:
            self._check_open()
            held = self.prefrontal_cortex.remove(engram_id)
            indexed = self.hippocampus.remove(engram_id)
            stored = await self.longterm.delete(engram_id)
            return held or indexed or stored

    # -- lifecycle -----------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the sleep cycle and release the embedder and the storage (idempotent)."""
        if self._closed:
            return
        self._closed = True
        await self.sleep_cycle.stop()
        async with self._lock:
            if self._embeddings is not None:
                await self._embeddings.aclose()
            await self.longterm.close()

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called."""
        return self._closed

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _check_open(self) -> None:
        if self._closed:
            raise StorageClosedError("this Brain is closed")


def _memory_type(value: object) -> MemoryType:
    try:
        return MemoryType(str(value))
    except ValueError:
        allowed = ", ".join(m.value for m in MemoryType)
        raise ValidationError(f"memory_type must be one of {allowed}, got {value!r}") from None


def _storage(redis_url: str | None, path: str | os.PathLike[str], namespace: str) -> Storage:
    if redis_url is not None:
        return RedisStorage(redis_url, namespace=namespace)
    return SQLiteStorage(path)


async def _embedding_service(embedder: object, hippocampus: Hippocampus) -> EmbeddingService | None:
    model = default_embedder() if embedder is None else await adapt_embedder(embedder)
    if model is None:
        return None

    def sink(engram: Engram, vector: Vectors) -> None:
        if not hippocampus.set_embedding(engram.engram_id, vector):
            engram.embedding = as_vector(vector)

    # Neither the caller's model nor the process's shared default is this brain's to close.
    return EmbeddingService(model, sink)
