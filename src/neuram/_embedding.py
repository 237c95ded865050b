"""EmbeddingService: neuram's one door to an embedder, off the event loop and in batches.

- New engrams are embedded in the background, in batches (``submit`` never waits for the
  model); ``flush`` waits until every submitted engram has its vector.
- Texts embedded lately (queries) are remembered, so the engine's pipeline, which embeds the
  query again, gets it for free.
- Vectors read back from storage can be ``prime``-d, so a restarted brain does not embed its
  whole long-term memory again when the engine's index is rebuilt.

It offers the engine's :class:`~neural_memory.engine.embeddings.Embedder` protocol itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neural_memory.engine.embeddings import CallableEmbedder, Embedder, Vectors
from neural_memory.errors import ConfigError
from neuram.engram import Engram

__all__ = ["EmbeddingService", "adapt_embedder"]

_RECENT = 256
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
        owns: Close ``embedder`` (if it has ``aclose``) in :meth:`aclose`.
        batch_size: Most texts embedded in one call.
    """

    def __init__(
        self,
        embedder: Embedder,
        sink: Callable[[Engram, Vectors], None],
        *,
        owns: bool,
        batch_size: int = 64,
    ) -> None:
        self._inner = embedder
        self._sink = sink
        self._owns = owns
        self._batch_size = batch_size
        self._pending: list[Engram] = []
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self._recent: OrderedDict[str, Vectors] = OrderedDict()
        self._primed: dict[str, Vectors] = {}

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
        """Embed ``texts``: remembered and primed texts are not embedded again."""
        items = list(texts)
        known: dict[str, Vectors] = {}
        for text in items:
            vector = self._primed.get(text)
            if vector is None and text in self._recent:
                self._recent.move_to_end(text)
                vector = self._recent[text]
            if vector is not None:
                known[text] = vector
        missing = [text for text in dict.fromkeys(items) if text not in known]
        if missing:
            vectors = await self._inner.embed(missing)
            for text, vector in zip(missing, vectors, strict=True):
                known[text] = vector
                self._remember(text, vector)
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([known[text] for text in items]).astype(np.float32, copy=False)

    def _remember(self, text: str, vector: Vectors) -> None:
        self._recent[text] = vector
        self._recent.move_to_end(text)
        while len(self._recent) > _RECENT:
            self._recent.popitem(last=False)

    # -- warm start ------------------------------------------------------------------------

    async def load(self) -> None:
        """Load the model now if it can be loaded ahead of use (no-op otherwise)."""
        load = getattr(self._inner, "load", None)
        if load is not None and inspect.iscoroutinefunction(load):
            await load()

    def prime(self, text: str, vector: Vectors) -> None:
        """Know the vector of ``text`` without embedding it (read back from storage)."""
        self._primed[text] = vector

    def release_primed(self) -> None:
        """Forget the primed vectors (once the index holds them)."""
        self._primed.clear()

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
        """Stop embedding (pending engrams stay without vectors); close an owned model."""
        task, self._task = self._task, None
        self._pending.clear()
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._recent.clear()
        self._primed.clear()
        close = getattr(self._inner, "aclose", None)
        if self._owns and close is not None:
            await close()
