"""Group commit of delta-only write-backs: concurrent recalls of one brain share a write.

Every recall writes its reinforcement back (neuron accesses, synapse deltas, fiber
conducts). When recalls run concurrently (a server under load), each would pay a whole
transaction for a handful of counter moves. :class:`DeltaCommitter` writes the first batch
at once; batches that arrive while that write is in flight wait and then go together, as
one merged batch, in the next write.

Durability is unchanged: each caller's ``submit`` returns only once its own deltas are
committed (or raises what their write raised), so nothing a caller was told is written
can be lost when the process stops. Deltas add up, so merging keeps every count; the
merged batch stamps the latest ``deltas_at`` of its group, and only batches stamped within
``window`` of each other are merged (recalls "as of" other times are written apart).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta

from neural_memory.errors import NeuralMemoryError, ValidationError
from neural_memory.storage.batch import WriteBatch

__all__ = ["DeltaCommitter", "merged_groups"]

_Pending = tuple[WriteBatch, "asyncio.Future[int]"]


def merged_groups(
    batches: Sequence[WriteBatch], window: timedelta
) -> list[tuple[WriteBatch, list[int]]]:
    """Delta-only ``batches`` merged into as few as possible, in order; each with its members.

    A group holds consecutive batches stamped within ``window`` of its first one; its
    merged batch lists every member's deltas in order and the group's latest stamp.
    """
    groups: list[list[int]] = []
    for i, batch in enumerate(batches):
        if groups and abs(batch.deltas_at - batches[groups[-1][0]].deltas_at) <= window:
            groups[-1].append(i)
        else:
            groups.append([i])
    return [(_merge([batches[i] for i in members]), members) for members in groups]


def _merge(batches: list[WriteBatch]) -> WriteBatch:
    if len(batches) == 1:
        return batches[0]
    return WriteBatch(
        neuron_accesses=tuple(item for b in batches for item in b.neuron_accesses),
        synapse_deltas=tuple(item for b in batches for item in b.synapse_deltas),
        fiber_conducts=tuple(item for b in batches for item in b.fiber_conducts),
        deltas_at=max(b.deltas_at for b in batches),
    )


class DeltaCommitter:
    """Writes delta-only batches through ``write``, merging the ones that queue up.

    Args:
        write: Applies one batch and returns the new change seq (``BrainHandle.write``).
        window: Batches stamped further apart than this are never merged.
    """

    def __init__(
        self,
        write: Callable[[WriteBatch], Awaitable[int]],
        window: timedelta = timedelta(seconds=1),
    ) -> None:
        self._write = write
        self._window = window
        self._queue: list[_Pending] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, batch: WriteBatch) -> int:
        """Write ``batch`` (delta-only), maybe with others; the seq once it is committed."""
        if not batch.only_deltas:
            raise ValidationError("only delta-only batches are group-committed")
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._queue.append((batch, future))
        if self._flusher is None or self._flusher.done():
            # Its own task: a caller cancelled mid-write does not strand the others.
            self._flusher = asyncio.create_task(self._flush())
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        pending: list[_Pending] = []
        try:
            while self._queue:
                pending, self._queue = self._queue, []
                groups = merged_groups([batch for batch, _ in pending], self._window)
                for merged, members in groups:
                    await self._commit(merged, [pending[i] for i in members])
        except BaseException as exc:  # cancelled, or a bug: no caller may be left waiting
            left, self._queue = [*pending, *self._queue], []
            _settle(left, exc)
            raise

    async def _commit(self, merged: WriteBatch, members: list[_Pending]) -> None:
        try:
            seq = await self._write(merged)
        except NeuralMemoryError as exc:
            if len(members) == 1:
                _settle(members, exc)
                return
            for member in members:  # each alone, so each caller gets its own outcome
                await self._commit(member[0], [member])
            return
        except BaseException as exc:
            _settle(members, exc)
            raise
        _settle(members, seq)


def _settle(members: list[_Pending], outcome: int | BaseException) -> None:
    """Give each waiting caller ``outcome``: its seq, or the exception its write raised."""
    for _, future in members:
        if future.done():
            continue
        if isinstance(outcome, asyncio.CancelledError):
            future.cancel()
        elif isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
