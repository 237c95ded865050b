"""StorageCore: lifecycle, brain selection and the primitives every backend implements.

A backend subclasses :class:`neural_memory.storage.Storage` and implements the abstract
``_``-prefixed primitives below. They receive the brain id explicitly and hold no engine
logic; validation, brain checks and the convenience methods live in ``Storage`` so every
backend behaves the same.
"""

from __future__ import annotations

import abc
import asyncio
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self, cast, runtime_checkable

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import require_text
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import CONCEPT_OF, FOLLOWS, SPEAKER
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import BrainNotFoundError, BrainNotSetError, StorageClosedError
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

if TYPE_CHECKING:
    from neural_memory.storage.base import Storage

__all__ = ["FiberRows", "GraphRows", "IndexSnapshot", "StorageCore", "fiber_rows_of"]


@dataclass(frozen=True, slots=True)
class GraphRows:
    """A brain's graph as recall indexes load it: plain tuples, no full objects.

    Attributes:
        neurons: ``(id, type)`` of every neuron.
        synapses: ``(id, source_id, target_id, weight, bidirectional)`` of every synapse
            (``bidirectional`` may come as 0 or 1 rather than a bool).
    """

    neurons: list[tuple[str, NeuronType]]
    synapses: list[tuple[str, str, str, float, bool]]


@dataclass(frozen=True, slots=True)
class FiberRows:
    """A brain's memories as recall indexes load them: one list per column, no full objects.

    Row ``i`` of every list describes the same memory; memories come oldest first.

    Attributes:
        ids: Each memory's id.
        neuron_ids: Its neurons: its pathway in order, then the others sorted.
        days: Proleptic Gregorian ordinal of the UTC day its event happened
            (``occurred_at``, else ``created_at``).
        conductivity: Its conductivity.
        suppressed: True when it is superseded or a derived summary (``concept_of``).
        asks: True when its text contains a question mark.
        speakers: Its metadata's ``speaker`` when that is text, else None.
        follows: Its metadata's ``follows`` when that is text, else None.
        terms: Its lexical terms, space-separated, as stored with it
            (``core.text.document_terms``); None where none were stored.
        contents: Its text where ``terms`` is None (to compute them), else None.
    """

    ids: list[str]
    neuron_ids: list[tuple[str, ...]]
    days: list[int]
    conductivity: list[float]
    suppressed: list[bool]
    asks: list[bool]
    speakers: list[str | None]
    follows: list[str | None]
    terms: list[str | None]
    contents: list[str | None]


@dataclass(frozen=True, slots=True)
class IndexSnapshot:
    """A brain's recall index as the engine saved it: opaque bytes and the seq they reflect.

    Storage keeps the bytes and never reads them; the engine checks them when it loads one
    (``engine/retrieval/_snapshot.py``) and rebuilds its index when they do not fit.

    Attributes:
        seq: The brain's change seq the snapshot reflects (changes after it are replayed).
        data: The snapshot.
    """

    seq: int
    data: bytes


@runtime_checkable
class ClosingAttachment(Protocol):
    """An attachment (``storage.attachments``) told when its storage is about to close."""

    async def before_storage_close(self) -> None:
        """Finish work that needs the open storage (it closes right after)."""


def fiber_rows_of(fibers: list[Fiber]) -> FiberRows:
    """The :class:`FiberRows` of ``fibers`` (no stored terms: their contents instead)."""
    return FiberRows(
        ids=[f.id for f in fibers],
        neuron_ids=[_neuron_order(f) for f in fibers],
        days=[(f.occurred_at or f.created_at).toordinal() for f in fibers],
        conductivity=[f.conductivity for f in fibers],
        suppressed=[bool(f.superseded_by) or CONCEPT_OF.name in f.metadata for f in fibers],
        asks=["?" in f.content for f in fibers],
        speakers=[SPEAKER.get(f.metadata) for f in fibers],
        follows=[FOLLOWS.get(f.metadata) for f in fibers],
        terms=[None] * len(fibers),
        contents=[f.content for f in fibers],
    )


def _neuron_order(fiber: Fiber) -> tuple[str, ...]:
    rest = fiber.neuron_ids.difference(fiber.pathway)
    return (*fiber.pathway, *sorted(rest)) if rest else fiber.pathway


JSONValue = Any
"""A value that survives ``json.dumps`` / ``json.loads`` unchanged."""

_State = Literal["new", "open", "closed"]


class StorageCore(abc.ABC):
    """Lifecycle (initialize / close / ``async with``), brain selection and backend primitives."""

    warn_if_unclosed: ClassVar[bool] = True
    """Whether an instance garbage-collected while open emits a ResourceWarning."""

    def __init__(self) -> None:
        self._state: _State = "new"
        self._brain_id: str | None = None
        self._known_brains: set[str] = set()
        self._open_lock = asyncio.Lock()
        self._attachments: dict[str, dict[str, Any]] = {}

    # -- lifecycle -------------------------------------------------------------------------

    async def initialize(self) -> None:
        """Open the backend (create schema, connect). Safe to call more than once."""
        async with self._open_lock:
            if self._state == "closed":
                raise StorageClosedError(f"{type(self).__name__} is closed; create a new one")
            if self._state == "new":
                await self._open()
                self._state = "open"

    async def close(self) -> None:
        """Release every resource (connections, threads, attachments). Safe to call twice.

        Attachments with a ``before_storage_close`` coroutine method (the engine's brain
        handles, which save their index snapshot) are awaited first, while still open.
        """
        try:
            if self._state == "open":
                await self._close_attachments()
        finally:  # released even when a hook fails or the close is cancelled
            self._attachments.clear()
            if self._state == "open":
                self._state = "closed"
                await self._close()
            self._state = "closed"

    async def _close_attachments(self) -> None:
        for slot in list(self._attachments.values()):
            for value in list(slot.values()):
                if isinstance(value, ClosingAttachment):
                    await value.before_storage_close()

    @property
    def closed(self) -> bool:
        """True once ``close()`` was called."""
        return self._state == "closed"

    async def __aenter__(self) -> Self:
        await self.initialize()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __del__(self) -> None:
        if getattr(self, "_state", "closed") == "open" and self.warn_if_unclosed:
            warnings.warn(
                f"{type(self).__name__} was never closed; call `await storage.close()` "
                "or use `async with`",
                ResourceWarning,
                stacklevel=1,
            )

    async def _ensure_open(self) -> None:
        if self._state == "closed":
            raise StorageClosedError(f"{type(self).__name__} is closed")
        if self._state == "new":
            await self.initialize()

    # -- brain selection -------------------------------------------------------------------

    def set_brain(self, brain_id: str) -> None:
        """Select the brain every brain-scoped method works on.

        An unknown id is reported by the first operation that uses it (BrainNotFoundError).
        """
        self._brain_id = require_text(brain_id, "brain_id")

    def for_brain(self, brain_id: str) -> Storage:
        """A view of this storage with ``brain_id`` selected for good (a Storage of its own).

        The view shares this storage's connection (it neither opens nor closes it for good)
        and its per-brain attachments; use it to work on several brains at once without
        ``set_brain``. An unknown id is reported by the first operation that uses it.
        """
        from neural_memory.storage.scoped import ScopedStorage  # noqa: PLC0415 (a subclass)

        return ScopedStorage(cast("Storage", self), require_text(brain_id, "brain_id"))

    def attachments(self, brain_id: str) -> dict[str, Any]:
        """A per-brain dict where the engine keeps in-process state of ``brain_id``.

        Recall indexes and conversation threads live here, so every view of a brain shares
        them; everything is dropped when the storage closes (or :meth:`release_brain`).
        """
        return self._attachments.setdefault(require_text(brain_id, "brain_id"), {})

    def release_brain(self, brain_id: str) -> None:
        """Drop the in-process state attached to ``brain_id`` (it is rebuilt when needed)."""
        self._attachments.pop(brain_id, None)

    @asynccontextmanager
    async def using_brain(self, brain_id: str) -> AsyncIterator[Self]:
        """Select ``brain_id`` for an ``async with`` block, then restore the previous selection.

        After the block the storage has the brain it had before selected again, or none if
        none was selected. The selection belongs to the storage object: other tasks using it
        during the block see ``brain_id`` too.
        """
        previous = self._brain_id
        self.set_brain(brain_id)
        try:
            yield self
        finally:
            self._brain_id = previous

    @property
    def brain_id(self) -> str:
        """The selected brain's id; BrainNotSetError when none is selected."""
        if self._brain_id is None:
            raise BrainNotSetError("no brain selected: call storage.set_brain(brain.id) first")
        return self._brain_id

    async def _current_brain(self) -> str:
        await self._ensure_open()
        brain_id = self.brain_id
        if brain_id not in self._known_brains:
            if await self._get_brain(brain_id) is None:
                raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
            self._known_brains.add(brain_id)
        return brain_id

    # -- primitives: lifecycle ---------------------------------------------------------------

    @abc.abstractmethod
    async def _open(self) -> None:
        """Connect and create the schema."""

    @abc.abstractmethod
    async def _close(self) -> None:
        """Release every resource."""

    # -- primitives: brains ------------------------------------------------------------------

    @abc.abstractmethod
    async def _save_brain(self, brain: Brain) -> None:
        """Insert or replace ``brain`` (its data is kept); replacing moves its record version."""

    @abc.abstractmethod
    async def _get_brain(self, brain_id: str) -> Brain | None: ...

    @abc.abstractmethod
    async def _get_brain_version(self, brain_id: str) -> BrainVersion | None:
        """The brain's change seq and record version; None for an unknown brain."""

    @abc.abstractmethod
    async def _list_brains(self) -> list[Brain]:
        """All brains, oldest first."""

    @abc.abstractmethod
    async def _delete_brain(self, brain_id: str) -> bool:
        """Delete the brain and everything in it; False when it did not exist."""

    # -- primitives: graph -------------------------------------------------------------------

    @abc.abstractmethod
    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        """Apply ``batch`` atomically (see WriteBatch), log its changes, return the new seq.

        Every touched neuron, synapse and fiber id gets a change-log entry, including the
        synapses removed because their neuron was deleted.
        """

    @abc.abstractmethod
    async def _get_neurons(self, brain_id: str, ids: frozenset[str]) -> dict[str, Neuron]: ...

    @abc.abstractmethod
    async def _find_neurons(self, brain_id: str, query: NeuronFilter) -> list[Neuron]:
        """Matching neurons, oldest first."""

    @abc.abstractmethod
    async def _get_synapses(self, brain_id: str, ids: frozenset[str]) -> dict[str, Synapse]: ...

    @abc.abstractmethod
    async def _find_synapses(self, brain_id: str, query: SynapseFilter) -> list[Synapse]:
        """Matching synapses, oldest first."""

    @abc.abstractmethod
    async def _synapses_touching(self, brain_id: str, neuron_ids: frozenset[str]) -> list[Synapse]:
        """Synapses with either endpoint in ``neuron_ids``."""

    @abc.abstractmethod
    async def _get_fibers(self, brain_id: str, ids: frozenset[str]) -> dict[str, Fiber]: ...

    @abc.abstractmethod
    async def _find_fibers(self, brain_id: str, query: FiberFilter) -> list[Fiber]:
        """Matching fibers, oldest first."""

    # -- primitives: which ids exist ---------------------------------------------------------

    @abc.abstractmethod
    async def _existing_neuron_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        """The ids among ``ids`` of stored neurons (their records are not read)."""

    @abc.abstractmethod
    async def _existing_synapse_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        """The ids among ``ids`` of stored synapses (their records are not read)."""

    # -- primitives: knowledge -------------------------------------------------------------

    @abc.abstractmethod
    async def _get_typed_memories(
        self, brain_id: str, ids: frozenset[str]
    ) -> dict[str, TypedMemory]: ...

    @abc.abstractmethod
    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]: ...

    @abc.abstractmethod
    async def _get_projects(self, brain_id: str, ids: frozenset[str] | None) -> list[Project]:
        """The projects with these ids (None: all), oldest first."""

    @abc.abstractmethod
    async def _put_alerts(self, brain_id: str, alerts: tuple[Alert, ...]) -> None:
        """Insert or replace ``alerts``."""

    @abc.abstractmethod
    async def _find_alerts(self, brain_id: str, query: AlertFilter) -> list[Alert]: ...

    @abc.abstractmethod
    async def _add_recall_event(self, brain_id: str, event: RecallEvent) -> None: ...

    @abc.abstractmethod
    async def _get_recall_events(
        self, brain_id: str, since: datetime | None, limit: int | None
    ) -> list[RecallEvent]:
        """Events at or after ``since``, oldest first (the newest ``limit`` of them)."""

    @abc.abstractmethod
    async def _get_meta(self, brain_id: str, key: str) -> JSONValue | None: ...

    @abc.abstractmethod
    async def _set_meta(self, brain_id: str, key: str, value: JSONValue) -> None: ...

    @abc.abstractmethod
    async def _meta_keys(self, brain_id: str) -> list[str]:
        """The keys of the brain's meta values, sorted."""

    @abc.abstractmethod
    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        """The stored vectors of ``model`` for these fiber ids (None: every fiber), by id."""

    # -- primitives: change log and statistics ---------------------------------------------

    @abc.abstractmethod
    async def _get_change_seq(self, brain_id: str) -> int:
        """The brain's latest change sequence number (0 for an untouched brain)."""

    @abc.abstractmethod
    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        """Entries with ``seq > since`` in order, or None when the log was trimmed past it.

        None tells the caller to rebuild from scratch.
        """

    @abc.abstractmethod
    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats: ...

    async def _get_index_snapshot(self, brain_id: str) -> IndexSnapshot | None:
        """The brain's stored index snapshot. This default keeps none (indexes rebuild)."""
        return None

    async def _put_index_snapshot(self, brain_id: str, snapshot: IndexSnapshot) -> bool:
        """Store ``snapshot`` unless one of a later seq is stored; True when stored.

        This default keeps none and returns False (a remote storage, for instance).
        """
        return False

    async def _fiber_rows(self, brain_id: str) -> FiberRows:
        """The brain's memories as :class:`FiberRows`, oldest first.

        This default builds them from full objects; SQLite and PostgreSQL read the columns
        (and the terms stored with each memory) directly.
        """
        return fiber_rows_of(await self._find_fibers(brain_id, FiberFilter()))

    async def _graph_rows(self, brain_id: str) -> GraphRows:
        """The brain's neurons and synapses as :class:`GraphRows`.

        This default builds them from full objects; a backend that can read the columns
        directly overrides it (opening a large brain is then several times faster).
        """
        neurons = await self._find_neurons(brain_id, NeuronFilter())
        synapses = await self._find_synapses(brain_id, SynapseFilter())
        return GraphRows(
            [(n.id, n.type) for n in neurons],
            [(s.id, s.source_id, s.target_id, s.weight, s.is_bidirectional) for s in synapses],
        )
