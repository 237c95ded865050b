"""EmbeddingService: neuram's one door to an embedder, off the event loop and in batches.

- New engrams are embedded in the background, in batches (``submit`` never waits for the
  model); ``flush`` waits until every submitted engram has its vector.
- A query is embedded once by the Brain, which hands the vector to the engine; stored vectors
  come back from storage through the engine's index, so nothing is embedded twice.

It offers the engine's :class:`~neural_memory.engine.embeddings.Embedder` protocol itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neural_memory.engine.embeddings import CallableEmbedder, Embedder, Vectors
from neural_memory.errors import ConfigError
from neuram.engram import Engram

__all__ = ["EmbeddingService", "adapt_embedder"]

_PROBE = ["dimension probe"]


async def adapt_embedder(embedder: object) -> Embedder:
    """``embedder`` as an Embedder.

    An Embedder is used as it is; a callable ``texts -> vectors`` (sync or async) is wrapped
    (a sync one runs in a worker thread), its dimension found by one probe call.
    """
    if isinstance(embedder, Embedder):
        return embedder
    if not callable(embedder):
        raise ConfigError(
            f"embedder must be an Embedder or a callable, got {type(embedder).__name__}"
        )
    fn: Callable[[list[str]], Any] = embedder
    if inspect.iscoroutinefunction(fn):
        raw = await fn(list(_PROBE))
    else:
        raw = await asyncio.to_thread(fn, list(_PROBE))
        if inspect.isawaitable(raw):
            raw = await raw
    shape = np.asarray(raw, dtype=np.float32).shape
    if len(shape) != 2 or shape[0] != 1 or shape[1] < 1:
        raise ConfigError(f"the embedding callable returned shape {shape} for one text")
    name = getattr(fn, "__name__", None) or type(fn).__name__
    return CallableEmbedder(fn, shape[1], name=f"callable:{name}", offload=True)


class EmbeddingService:
    """Embeds engrams in background batches and queries on demand (see module docs).

    Args:
        embedder: The model.
        sink: Called with each engram and its vector once the vector is ready.
        batch_size: Most texts embedded in one call.
    """

    def __init__(
        self,
        embedder: Embedder,
        sink: Callable[[Engram, Vectors], None],
        *,
        batch_size: int = 64,
    ) -> None:
        self._inner = embedder
        self._sink = sink
        self._batch_size = batch_size
        self._pending: list[Engram] = []
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None

    # -- the Embedder protocol -------------------------------------------------------------

    @property
    def name(self) -> str:
        """The model's name."""
        return self._inner.name

    @property
    def dimension(self) -> int:
        """Length of every vector."""
        return self._inner.dimension

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` with the model."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return await self._inner.embed(list(texts))

    # -- warm start ------------------------------------------------------------------------

    async def load(self) -> None:
        """Load the model now if it can be loaded ahead of use (no-op otherwise)."""
        load = getattr(self._inner, "load", None)
        if load is not None and inspect.iscoroutinefunction(load):
            await load()

    # -- background batches ----------------------------------------------------------------

    def submit(self, engram: Engram) -> None:
        """Embed ``engram`` in the background (the sink receives its vector)."""
        self._pending.append(engram)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain(), name="neuram-embed")
            self._task.add_done_callback(self._collect)

    async def flush(self) -> None:
        """Wait until every submitted engram is embedded; raise the error of a failed batch."""
        while self._task is not None and not self._task.done():
            await asyncio.wait({self._task})  # never raises: the error is collected below
        if self._pending:
            self._task = asyncio.create_task(self._drain(), name="neuram-embed")
            self._task.add_done_callback(self._collect)
            await asyncio.wait({self._task})
        error, self._error = self._error, None
        if error is not None:
            raise error

    async def _drain(self) -> None:
        while self._pending:
            batch = self._pending[: self._batch_size]
            del self._pending[: len(batch)]
            vectors = await self._inner.embed([engram.content for engram in batch])
            for engram, vector in zip(batch, vectors, strict=True):
                self._sink(engram, vector)

    def _collect(self, task: asyncio.Task[None]) -> None:
        """Keep a failed batch's error for the next flush (so it is never lost)."""
        if not task.cancelled() and task.exception() is not None:
            self._error = task.exception()

    async def aclose(self) -> None:
        """Stop embedding (pending engrams stay without vectors).

        The model stays open: it is the caller's, or the process's shared default.
        """
        task, self._task = self._task, None
        self._pending.clear()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
