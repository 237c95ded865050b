"""BrainExporter: read a whole brain out of a storage as a BrainSnapshot."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from neural_memory.core._validation import require_text
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import BrainNotFoundError
from neural_memory.sharing.snapshot import (
    BrainSnapshot,
    snapshot_from_json,
    snapshot_to_json,
    validate_snapshot,
)
from neural_memory.storage.base import Storage

__all__ = ["BrainExporter"]

_Entity = TypeVar("_Entity", Neuron, Synapse, Fiber, TypedMemory, Project)


class BrainExporter:
    """Export a brain, with all its memories, to a snapshot and to JSON."""

    async def export(
        self, storage: Storage, brain_id: str, *, now: datetime | None = None
    ) -> BrainSnapshot:
        """Read brain ``brain_id`` into a validated snapshot.

        The snapshot holds the brain with its config and every neuron, synapse, fiber, typed
        memory and project with all their fields, each kind sorted by id. The storage's
        selected brain is the same afterwards. Reads are not one transaction: export a brain
        nobody writes to for an exact copy.
        """
        brain = await storage.get_brain(require_text(brain_id, "brain_id"))
        if brain is None:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
        async with storage.using_brain(brain_id):
            # Synapses and fibers before neurons: a neuron added meanwhile is harmless.
            synapses = await storage.get_synapses()
            fibers = await storage.find_fibers()
            typed_memories = await storage.find_typed_memories(include_expired=True)
            projects = await storage.list_projects()
            neurons = await storage.find_neurons()
        snapshot = BrainSnapshot(
            brain=brain,
            neurons=_by_id(neurons),
            synapses=_by_id(synapses),
            fibers=_by_id(fibers),
            typed_memories=_by_id(typed_memories),
            projects=_by_id(projects),
            exported_at=as_utc(now) if now is not None else utcnow(),
        )
        validate_snapshot(snapshot)
        return snapshot

    def to_json(self, snapshot: BrainSnapshot) -> str:
        """The snapshot as JSON text (the versioned format of docs/export-format.md)."""
        return snapshot_to_json(snapshot)

    def from_json(self, text: str) -> BrainSnapshot:
        """Parse and validate JSON text written by :meth:`to_json`."""
        return snapshot_from_json(text)


def _by_id(items: Sequence[_Entity]) -> tuple[_Entity, ...]:
    return tuple(sorted(items, key=lambda item: item.id))
