"""ScopedStorage: one brain of a Storage, as a Storage of its own (``storage.for_brain(id)``).

The engine works on "the storage's current brain" (``set_brain``). A server, or any caller
handling many brains at once over one storage, asks for a scoped view of each brain instead:
the view has that brain selected for good and forwards every primitive to the storage it came
from (the *root*), which it neither opens for good nor closes. Per-brain engine state (recall
indexes, conversation threads) is attached to the root, so every view of a brain and the root
itself share it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import require_text
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import StorageClosedError, ValidationError
from neural_memory.storage._core import FiberRows, GraphRows, IndexSnapshot, JSONValue
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = ["ScopedStorage"]


class ScopedStorage(Storage):
    """``base`` with ``brain_id`` selected for good; closing the view leaves ``base`` open.

    Create one with :meth:`Storage.for_brain`. ``set_brain`` to another brain is refused:
    a view is one brain.
    """

    warn_if_unclosed: ClassVar[bool] = False

    def __init__(self, base: Storage, brain_id: str) -> None:
        super().__init__()
        self._base = base
        self._brain_id = require_text(brain_id, "brain_id")

    def __repr__(self) -> str:
        return f"{self._base!r}.for_brain({self._brain_id!r})"

    @property
    def root(self) -> Storage:
        """The storage this view forwards to."""
        return self._base

    @property
    def closed(self) -> bool:
        """True once the view or its root was closed."""
        return self._state == "closed" or self._base.closed

    def set_brain(self, brain_id: str) -> None:
        """Refused unless ``brain_id`` is the view's own brain (ValidationError)."""
        if require_text(brain_id, "brain_id") != self._brain_id:
            raise ValidationError(
                f"a storage scoped to brain {self._brain_id!r} cannot select {brain_id!r}; "
                "use the root storage's for_brain() instead"
            )

    def for_brain(self, brain_id: str) -> Storage:
        """A view of ``brain_id`` of the root storage."""
        return self._base.for_brain(brain_id)

    def attachments(self, brain_id: str) -> dict[str, Any]:
        """The root's per-brain attachments (see :meth:`Storage.attachments`)."""
        return self._base.attachments(brain_id)

    async def _ensure_open(self) -> None:
        if self._base.closed:
            raise StorageClosedError(f"{self._base!r} is closed")
        await super()._ensure_open()

    async def _open(self) -> None:
        await self._base.initialize()

    async def _close(self) -> None:
        return None

    async def _save_brain(self, brain: Brain) -> None:
        await self._base._save_brain(brain)

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        return await self._base._create_brain(brain, contents)

    async def _get_brain(self, brain_id: str) -> Brain | None:
        return await self._base._get_brain(brain_id)

    async def _get_brain_version(self, brain_id: str) -> BrainVersion | None:
        return await self._base._get_brain_version(brain_id)

    async def _list_brains(self) -> list[Brain]:
        return await self._base._list_brains()

    async def _delete_brain(self, brain_id: str) -> bool:
        return await self._base._delete_brain(brain_id)

    def _applies_access_deltas(self) -> bool:
        return self._base._applies_access_deltas()

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        return await self._base._write(brain_id, batch)

    async def _get_neurons(self, brain_id: str, ids: frozenset[str]) -> dict[str, Neuron]:
        return await self._base._get_neurons(brain_id, ids)

    async def _find_neurons(self, brain_id: str, query: NeuronFilter) -> list[Neuron]:
        return await self._base._find_neurons(brain_id, query)

    async def _get_synapses(self, brain_id: str, ids: frozenset[str]) -> dict[str, Synapse]:
        return await self._base._get_synapses(brain_id, ids)

    async def _find_synapses(self, brain_id: str, query: SynapseFilter) -> list[Synapse]:
        return await self._base._find_synapses(brain_id, query)

    async def _synapses_touching(self, brain_id: str, neuron_ids: frozenset[str]) -> list[Synapse]:
        return await self._base._synapses_touching(brain_id, neuron_ids)

    async def _get_fibers(self, brain_id: str, ids: frozenset[str]) -> dict[str, Fiber]:
        return await self._base._get_fibers(brain_id, ids)

    async def _find_fibers(self, brain_id: str, query: FiberFilter) -> list[Fiber]:
        return await self._base._find_fibers(brain_id, query)

    async def _existing_neuron_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return await self._base._existing_neuron_ids(brain_id, ids)

    async def _existing_synapse_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return await self._base._existing_synapse_ids(brain_id, ids)

    async def _get_typed_memories(
        self, brain_id: str, ids: frozenset[str]
    ) -> dict[str, TypedMemory]:
        return await self._base._get_typed_memories(brain_id, ids)

    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]:
        return await self._base._find_typed_memories(brain_id, query)

    async def _get_projects(self, brain_id: str, ids: frozenset[str] | None) -> list[Project]:
        return await self._base._get_projects(brain_id, ids)

    async def _put_alerts(self, brain_id: str, alerts: tuple[Alert, ...]) -> None:
        await self._base._put_alerts(brain_id, alerts)

    async def _find_alerts(self, brain_id: str, query: AlertFilter) -> list[Alert]:
        return await self._base._find_alerts(brain_id, query)

    async def _add_recall_event(self, brain_id: str, event: RecallEvent) -> None:
        await self._base._add_recall_event(brain_id, event)

    async def _get_recall_events(
        self, brain_id: str, since: datetime | None, limit: int | None
    ) -> list[RecallEvent]:
        return await self._base._get_recall_events(brain_id, since, limit)

    async def _get_meta(self, brain_id: str, key: str) -> JSONValue | None:
        return await self._base._get_meta(brain_id, key)

    async def _set_meta(self, brain_id: str, key: str, value: JSONValue) -> None:
        await self._base._set_meta(brain_id, key, value)

    async def _meta_keys(self, brain_id: str) -> list[str]:
        return await self._base._meta_keys(brain_id)

    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        return await self._base._get_vectors(brain_id, model, ids)

    async def _graph_rows(self, brain_id: str) -> GraphRows:
        return await self._base._graph_rows(brain_id)

    async def _get_index_snapshot(self, brain_id: str) -> IndexSnapshot | None:
        return await self._base._get_index_snapshot(brain_id)

    async def _put_index_snapshot(self, brain_id: str, snapshot: IndexSnapshot) -> bool:
        return await self._base._put_index_snapshot(brain_id, snapshot)

    async def _fiber_rows(self, brain_id: str) -> FiberRows:
        return await self._base._fiber_rows(brain_id)

    async def _get_change_seq(self, brain_id: str) -> int:
        return await self._base._get_change_seq(brain_id)

    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        return await self._base._get_changes(brain_id, since)

    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats:
        return await self._base._get_stats(brain_id, now)
