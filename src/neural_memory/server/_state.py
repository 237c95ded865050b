"""What one server app keeps between requests: the storage, known brains, warm brains."""

from __future__ import annotations

import asyncio
import multiprocessing
from collections import OrderedDict
from collections.abc import AsyncIterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainVersion
from neural_memory.engine.handle import BrainHandle
from neural_memory.errors import BrainNotFoundError, ValidationError
from neural_memory.storage.base import Storage

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = ["MAX_KNOWN", "MAX_RECORDS", "MAX_VIEWS", "ServerState"]

MAX_VIEWS = 64
"""Brains whose in-process state (recall index, conversation threads) a server keeps warm."""
MAX_RECORDS = 1024
"""Brain records a server process keeps cached (least recently used go first)."""
MAX_KNOWN = 16_384
"""Brain ids a server process remembers to exist (least recently used go first; a forgotten
one costs one ``get_brain`` read when it is named again)."""


@dataclass(frozen=True, slots=True)
class _Record:
    """A brain's record as this process last read it, and the newest version seen since."""

    brain: Brain
    version: BrainVersion


@dataclass(slots=True)
class _BrainLock:
    """One brain's lock and how many passes hold it or wait for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


@dataclass
class ServerState:
    """The injected storage (opened lazily, never closed here) and per-brain helpers.

    Known brain ids are cached like ``Storage`` itself does (the ``max_known`` most
    recently used), so a brain-scoped storage call costs no extra lookup; brains deleted
    through this server are forgotten at once. Brain records are cached too (the
    ``max_records`` most recently used), checked against the brain's version on every
    request (one read that also gives the change seq recall syncs to), so a worker sees
    another worker's config change at once. Per-brain locks exist only while a pass holds
    or waits for one, so no cache here grows with the number of brains ever seen.
    """

    storage: Storage
    embedder: Embedder | None = None
    _known: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _records: OrderedDict[str, _Record] = field(default_factory=OrderedDict)
    max_views: int = MAX_VIEWS
    max_records: int = MAX_RECORDS
    max_known: int = MAX_KNOWN
    _warm: OrderedDict[str, None] = field(default_factory=OrderedDict)
    _locks: dict[str, _BrainLock] = field(default_factory=dict)
    _opened: bool = False
    _planner: ProcessPoolExecutor | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.storage, Storage):
            raise ValidationError(f"expected a Storage, got {type(self.storage).__name__}")

    async def opened(self) -> Storage:
        """The storage, initialised (StorageClosedError once its owner closed it)."""
        if not self._opened or self.storage.closed:
            await self.storage.initialize()
            self._opened = True
        return self.storage

    async def require_brain(self, brain_id: str) -> str:
        """``brain_id`` if the brain exists (BrainNotFoundError otherwise)."""
        storage = await self.opened()
        if brain_id not in self._known and await storage.get_brain(brain_id) is None:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist")
        self._know(brain_id)
        return brain_id

    async def brain(self, brain_id: str) -> Brain:
        """The current record of the brain (its config may have changed).

        One storage read (the brain's version) when the cached record is still current.
        """
        storage = await self.opened()
        try:
            version = await storage.get_brain_version(brain_id)
        except BrainNotFoundError:
            self.forget(brain_id)
            raise
        cached = self._records.get(brain_id)
        if cached is None or _newer_record(version, cached.version):
            brain = await storage.get_brain(brain_id)
            if brain is None:
                self.forget(brain_id)
                raise BrainNotFoundError(f"brain {brain_id!r} does not exist")
            cached = _Record(brain, version)
        elif version.generation == cached.version.generation:
            # versions only grow: a request that read an older one never rolls it back
            seq = max(cached.version.change_seq, version.change_seq)
            cached = _Record(cached.brain, replace(cached.version, change_seq=seq))
        self._remember(brain_id, cached)
        self._know(brain_id)
        return cached.brain

    def _remember(self, brain_id: str, record: _Record) -> None:
        """Cache ``record`` as the most recent; past ``max_records``, drop the least recent."""
        self._records[brain_id] = record
        self._records.move_to_end(brain_id)
        while len(self._records) > self.max_records:
            self._records.popitem(last=False)

    def _know(self, brain_id: str) -> None:
        """Remember that ``brain_id`` exists; past ``max_known`` ids, the least recent goes."""
        self._known[brain_id] = None
        self._known.move_to_end(brain_id)
        while len(self._known) > self.max_known:
            self._known.popitem(last=False)

    def recall_view(self, brain_id: str) -> Storage:
        """:meth:`view`, whose recall index syncs to the change seq :meth:`brain` read.

        Saves recall reading the seq a second time; the seq is at least as new as the
        request, so writes other workers answered before it are seen.
        """
        view = self.view(brain_id)
        cached = self._records.get(brain_id)
        if cached is not None:
            BrainHandle.of(view).known_version = cached.version
        return view

    def view(self, brain_id: str) -> Storage:
        """The storage scoped to ``brain_id``; the most recently used brains stay warm.

        A brain's in-process state (its recall index) is attached to the storage; past
        ``max_views`` brains, the least recently used one's is released (rebuilt on need).
        """
        self._warm[brain_id] = None
        self._warm.move_to_end(brain_id)
        while len(self._warm) > self.max_views:
            cold, _ = self._warm.popitem(last=False)
            self.storage.release_brain(cold)
        return self.storage.for_brain(brain_id)

    @property
    def planner(self) -> Executor:
        """A process extracting long memory texts, so they never hold the event loop's GIL.

        Started on first use (a spawned interpreter: forking a threaded server is unsafe).
        """
        if self._planner is None:
            context = multiprocessing.get_context("spawn")
            self._planner = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return self._planner

    @asynccontextmanager
    async def lock(self, brain_id: str) -> AsyncIterator[None]:
        """Serialises whole-brain passes (consolidation, decay, health) of one brain.

        The brain's lock is kept while some pass holds it or waits for it, then dropped.
        """
        entry = self._locks.get(brain_id)
        if entry is None:
            entry = self._locks[brain_id] = _BrainLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0 and self._locks.get(brain_id) is entry:
                del self._locks[brain_id]

    def saved(self, brain_id: str) -> None:
        """A brain was created or replaced."""
        self._know(brain_id)
        self._records.pop(brain_id, None)

    def forget(self, brain_id: str) -> None:
        """A brain was deleted: drop its cache entries and its view."""
        self._known.pop(brain_id, None)
        self._records.pop(brain_id, None)
        self._warm.pop(brain_id, None)
        self.storage.release_brain(brain_id)

    async def close_views(self) -> None:
        """Release every warm brain's in-process state and the planner (the storage stays open)."""
        warm, self._warm = list(self._warm), OrderedDict()
        for brain_id in warm:
            self.storage.release_brain(brain_id)
        planner, self._planner = self._planner, None
        if planner is not None:
            await asyncio.to_thread(planner.shutdown, wait=True, cancel_futures=True)


def _newer_record(seen: BrainVersion, cached: BrainVersion) -> bool:
    """Whether ``seen`` names a newer brain record than ``cached`` (or a new brain)."""
    return (seen.generation, seen.record) > (cached.generation, cached.record)
