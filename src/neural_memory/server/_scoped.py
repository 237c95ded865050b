"""BrainView: one brain of a shared Storage, as a Storage of its own.

The engine works on "the storage's current brain" (``set_brain``), and its in-process
indexes are keyed by storage object. A server handles many brains at once over one storage,
so each brain gets a view: its own selection and its own index, every primitive forwarded to
the underlying storage (which the view neither opens for good nor closes).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.storage._core import JSONValue
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = ["BrainView"]


class BrainView(Storage):
    """``base`` with ``brain_id`` selected; closing the view leaves ``base`` open."""

    warn_if_unclosed: ClassVar[bool] = False

    def __init__(self, base: Storage, brain_id: str) -> None:
        super().__init__()
        self._base = base
        self.set_brain(brain_id)

    async def _open(self) -> None:
        await self._base.initialize()

    async def _close(self) -> None:
        return None

    async def _save_brain(self, brain: Brain) -> None:
        await self._base._save_brain(brain)

    async def _get_brain(self, brain_id: str) -> Brain | None:
        return await self._base._get_brain(brain_id)

    async def _list_brains(self) -> list[Brain]:
        return await self._base._list_brains()

    async def _delete_brain(self, brain_id: str) -> bool:
        return await self._base._delete_brain(brain_id)

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

    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        return await self._base._get_vectors(brain_id, model, ids)

    async def _get_change_seq(self, brain_id: str) -> int:
        return await self._base._get_change_seq(brain_id)

    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        return await self._base._get_changes(brain_id, since)

    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats:
        return await self._base._get_stats(brain_id, now)
