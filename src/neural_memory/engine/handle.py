"""BrainHandle: one brain's engine state, owned in one place, and the one path writes take.

A handle holds the brain's scoped storage view (``storage.for_brain(id)``), its recall
indexes (one per embedding model) and its conversation threads. Every engine writer — the
encoder, recall's strengthening, consolidation, decay, neuram — writes through
:meth:`BrainHandle.write`, which applies the batch to storage in one transaction and then to
the indexes (write-through), so nobody reads their own writes back.

Handles are attached to the storage they come from (``storage.attachments``), so the library,
the HTTP server, the MCP server and the CLI all share one handle per brain and process, and
everything is released when the storage closes. Conversation threads live in storage (meta
values written in the same batch as the memory), so a memory stored through any interface, by
any process, follows the same predecessor.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from neural_memory.core._validation import require_text
from neural_memory.engine._group_commit import DeltaCommitter
from neural_memory.errors import NeuralMemoryError, NotFoundError, ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

if TYPE_CHECKING:
    from neural_memory.core.events import BrainVersion
    from neural_memory.core.fiber import Fiber
    from neural_memory.engine.embeddings import Embedder
    from neural_memory.engine.retrieval._documents import PreparedFibers
    from neural_memory.engine.retrieval.index import BrainIndex

__all__ = [
    "SNAPSHOT_MIN_CHANGES",
    "SNAPSHOT_MIN_MEMORIES",
    "BrainHandle",
    "ThreadTail",
    "thread_key",
]

T = TypeVar("T")

_ATTACHMENT = "engine.handle"

SNAPSHOT_MIN_MEMORIES = 1_000
"""Smaller brains are not snapshotted on close (rebuilding them takes milliseconds)."""
SNAPSHOT_MIN_CHANGES = 1_000
"""Changes past the stored snapshot before closing stores a new one (replaying is cheap)."""
_THREAD_KEY = "thread.tail"


@dataclass(frozen=True, slots=True)
class ThreadTail:
    """The last memory of a conversation: the next one in it follows this one."""

    fiber_id: str
    occurred_at: datetime

    def to_json(self) -> dict[str, str]:
        """The tail as a meta value."""
        return {"fiber_id": self.fiber_id, "occurred_at": self.occurred_at.isoformat()}

    @classmethod
    def from_json(cls, value: Any) -> ThreadTail | None:
        """A tail stored by :meth:`to_json` (None for anything else)."""
        if not isinstance(value, Mapping):
            return None
        fiber_id, moment = value.get("fiber_id"), value.get("occurred_at")
        if not isinstance(fiber_id, str) or not isinstance(moment, str):
            return None
        try:
            return cls(fiber_id, datetime.fromisoformat(moment))
        except ValueError:
            return None


def thread_key(conversation: str | None) -> str:
    """The meta key holding the tail of ``conversation`` (None: the brain's default thread)."""
    return _THREAD_KEY if conversation is None else f"{_THREAD_KEY}:{conversation}"


class BrainHandle:
    """One brain's scoped storage, recall indexes and conversation threads.

    Get one with :meth:`of`; do not construct it directly. Writes go through :meth:`write`.
    """

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._brain_id = storage.brain_id
        self._indexes: dict[str, BrainIndex] = {}
        self._deltas = DeltaCommitter(self.write)
        self.known_version: BrainVersion | None = None
        """The brain's version as a caller just read it, or None.

        A server reads it with the brain's version at the start of a request; the next
        :meth:`synced_index` uses it (once) instead of reading it again.
        """

    @classmethod
    def of(cls, storage: Storage | BrainHandle, brain_id: str | None = None) -> BrainHandle:
        """The handle of ``brain_id`` (default: the storage's current brain) in ``storage``."""
        if isinstance(storage, BrainHandle):
            if brain_id is not None and brain_id != storage.brain_id:
                raise ValidationError(
                    f"this handle is brain {storage.brain_id!r}, not {brain_id!r}"
                )
            return storage
        if not isinstance(storage, Storage):
            raise ValidationError(
                f"expected a Storage or BrainHandle, got {type(storage).__name__}"
            )
        wanted = require_text(brain_id, "brain_id") if brain_id is not None else storage.brain_id
        slot = storage.attachments(wanted)
        handle = slot.get(_ATTACHMENT)
        if not isinstance(handle, BrainHandle):
            handle = slot[_ATTACHMENT] = cls(storage.for_brain(wanted))
        return handle

    def __repr__(self) -> str:
        return f"BrainHandle({self._storage!r})"

    @property
    def brain_id(self) -> str:
        """The brain's id."""
        return self._brain_id

    @property
    def storage(self) -> Storage:
        """The storage scoped to this brain (reads; write through :meth:`write`)."""
        return self._storage

    def index(self, embedder: Embedder | None = None) -> BrainIndex:
        """The brain's recall index for ``embedder`` (created empty; see :meth:`synced_index`)."""
        # Imported here: the retrieval package imports this module (its pipeline takes handles).
        from neural_memory.engine.retrieval.index import BrainIndex  # noqa: PLC0415

        key = embedder.name if embedder is not None else ""
        index = self._indexes.get(key)
        if index is None:
            index = self._indexes[key] = BrainIndex(self._storage, self._brain_id, embedder)
        return index

    async def synced_index(self, embedder: Embedder | None = None) -> BrainIndex:
        """The recall index for ``embedder``, caught up with every write to the brain."""
        index = self.index(embedder)
        version, self.known_version = self.known_version, None
        await index.sync(version)
        return index

    async def memories(self) -> list[Fiber]:
        """Every memory of the brain, oldest first, as the recall index holds them.

        Consolidation and decay read the brain's memories here: the index reads each one
        from storage once and keeps them in step with every write since, so a pass does not
        re-read the whole brain. An index the handle keeps already is used (none is built
        for another embedder just for this).
        """
        index = next(iter(self._indexes.values()), None) or self.index()
        await index.sync()
        await index.load_fibers()
        fibers = [r.loaded for r in index.fibers if r.alive and r.loaded is not None]
        return await asyncio.to_thread(sorted, fibers, key=_oldest_first)

    async def save_index_snapshot(self) -> bool:
        """Store the brain's recall index for the next process that opens the brain.

        That process loads it and replays the changes since (``storage.put_index_snapshot``)
        instead of rebuilding the index from every row. True when stored; False when the
        handle holds no index yet, the storage keeps no snapshots, or a newer one is stored.
        """
        index = next(iter(self._indexes.values()), None)
        if index is None:
            return False
        await index.sync()
        snapshot = await index.snapshot()
        if snapshot is None or not await self._storage.put_index_snapshot(snapshot):
            return False
        index.snapshot_seq = snapshot.seq
        return True

    async def before_storage_close(self) -> None:
        """Save the index snapshot when it moved on enough since the stored one.

        Called by the storage as it closes, off the recall path: a brain of at least
        ``SNAPSHOT_MIN_MEMORIES`` memories whose index is ``SNAPSHOT_MIN_CHANGES`` changes
        past its stored snapshot (or has none) is saved. Failing to save loses nothing.
        """
        index = next(iter(self._indexes.values()), None)
        if index is None or index.seq < 0 or index.memory_count < SNAPSHOT_MIN_MEMORIES:
            return
        if index.snapshot_seq >= 0 and index.seq - index.snapshot_seq < SNAPSHOT_MIN_CHANGES:
            return
        try:
            await self.save_index_snapshot()
        except NeuralMemoryError:
            return  # a saving, not a duty: the next process rebuilds or replays more

    def indexes(self) -> list[BrainIndex]:
        """Every index this handle keeps (one per embedding model used so far)."""
        return list(self._indexes.values())

    async def write(self, batch: WriteBatch) -> int:
        """Apply ``batch`` to the brain in one transaction, then to every index; the new seq.

        A batch holding a long memory or many memories has the index's side of it prepared
        in a worker thread first, so the event loop is not held for long
        (``retrieval._documents.prepare_fibers``).
        """
        prepared = await _prepared(batch) if self._indexes else None
        seq = await self._storage.write(batch)
        for index in self._indexes.values():
            index.apply_own_write(batch, seq, prepared)
        return seq

    async def write_planned(
        self, plan: Callable[[], Awaitable[tuple[WriteBatch | None, T]]], *, attempts: int = 3
    ) -> T:
        """Plan a batch from the brain as it is now and write it; re-plan if the brain moved.

        For passes that read much of the brain before they write (consolidation, decay): a
        writer in another task or process may change what ``plan`` read before the batch
        lands, and storage then refuses the batch for a reference it would leave dangling
        (``NotFoundError`` or ``ValidationError``). When the brain's change seq moved since
        planning, ``plan`` runs again on the new state, up to ``attempts`` times in all; a
        refusal while nothing else wrote is the plan's own fault and is raised at once.
        ``plan`` returns the batch (None: nothing to write) and what the pass reports.
        """
        attempt = 1
        while True:
            seq = await self._storage.get_change_seq()
            batch, result = await plan()
            try:
                if batch is not None:
                    await self.write(batch)
                return result
            except (NotFoundError, ValidationError):
                if attempt >= attempts or await self._storage.get_change_seq() == seq:
                    raise
            attempt += 1

    async def write_deltas(self, batch: WriteBatch) -> int:
        """Like :meth:`write` for a delta-only batch, group-committed with concurrent ones.

        Recall writes its reinforcement back here: batches submitted while an earlier one
        is being written go together in the next write (see ``engine/_group_commit.py``).
        Returns once ``batch`` is committed; the seq is that of the write that carried it.
        """
        return await self._deltas.submit(batch)

    async def thread_tail(self, conversation: str | None = None) -> ThreadTail | None:
        """The last memory stored in ``conversation`` (None: the default thread), or None."""
        return ThreadTail.from_json(await self._storage.get_meta(thread_key(conversation)))


def _oldest_first(fiber: Fiber) -> tuple[datetime, str]:
    return fiber.created_at, fiber.id


async def _prepared(batch: WriteBatch) -> PreparedFibers | None:
    """``prepare_fibers`` of ``batch`` in a worker thread when it is worth it."""
    from neural_memory.engine.retrieval._documents import (  # noqa: PLC0415 (see index())
        prepare_fibers,
        worth_preparing,
    )

    if not worth_preparing(batch):
        return None
    return await asyncio.to_thread(prepare_fibers, batch)
