"""WriteBatch: every change a storage applies atomically, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from neural_memory.core.clock import utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory

__all__ = ["WriteBatch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteBatch:
    """A set of writes to one brain that a backend applies all-or-nothing.

    The backend applies them in this order: neurons, synapses, synapse deltas, fibers, typed
    memories, projects, then the deletions. ``insert_*`` fails with AlreadyExistsError when an
    id is taken, ``ensure_*`` skips ids that exist, ``update_*`` fails with NotFoundError when
    an id is missing; a synapse or fiber naming a missing neuron fails with NotFoundError.
    Deleting a neuron deletes its synapses. On any failure nothing of the batch is kept.

    Attributes:
        synapse_deltas: ``(synapse_id, delta)`` pairs; each weight moves by ``delta`` within
            0-1, atomically (safe when several processes reinforce the same synapse). A
            positive delta also stamps ``last_activated = deltas_at`` and counts a
            reinforcement. Unknown synapse ids are skipped.
    """

    insert_neurons: tuple[Neuron, ...] = ()
    ensure_neurons: tuple[Neuron, ...] = ()
    update_neurons: tuple[Neuron, ...] = ()
    insert_synapses: tuple[Synapse, ...] = ()
    ensure_synapses: tuple[Synapse, ...] = ()
    update_synapses: tuple[Synapse, ...] = ()
    synapse_deltas: tuple[tuple[str, float], ...] = ()
    deltas_at: datetime = field(default_factory=utcnow)
    insert_fibers: tuple[Fiber, ...] = ()
    update_fibers: tuple[Fiber, ...] = ()
    put_typed_memories: tuple[TypedMemory, ...] = ()
    put_projects: tuple[Project, ...] = ()
    delete_fiber_ids: tuple[str, ...] = ()
    delete_synapse_ids: tuple[str, ...] = ()
    delete_neuron_ids: tuple[str, ...] = ()
    delete_typed_memory_ids: tuple[str, ...] = ()
    delete_project_ids: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the batch changes nothing."""
        return not any(
            getattr(self, name) for name in self.__dataclass_fields__ if name != "deltas_at"
        )

    def changed_ids(self) -> tuple[set[str], set[str], set[str]]:
        """The neuron, synapse and fiber ids this batch touches (for the change log)."""
        neurons = _ids(self.insert_neurons, self.ensure_neurons, self.update_neurons)
        neurons.update(self.delete_neuron_ids)
        synapses = _ids(self.insert_synapses, self.ensure_synapses, self.update_synapses)
        synapses.update(synapse_id for synapse_id, _ in self.synapse_deltas)
        synapses.update(self.delete_synapse_ids)
        fibers = _ids(self.insert_fibers, self.update_fibers)
        fibers.update(self.delete_fiber_ids)
        return neurons, synapses, fibers


def _ids(*groups: Iterable[Neuron | Synapse | Fiber]) -> set[str]:
    return {item.id for group in groups for item in group}
