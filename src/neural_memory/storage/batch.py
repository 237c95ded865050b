"""WriteBatch: every change a storage applies atomically, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import require_text, set_field
from neural_memory.core.clock import utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import ValidationError

__all__ = ["FiberVector", "WriteBatch"]


@dataclass(frozen=True, slots=True, eq=False)
class FiberVector:
    """The embedding of one memory under one model, as storage keeps it.

    Attributes:
        fiber_id: The memory.
        model: The embedding model's name (a brain may hold vectors of several models).
        vector: A 1-D float32 array of finite values (copied, read-only).
    """

    fiber_id: str
    model: str
    vector: npt.NDArray[np.float32]

    def __post_init__(self) -> None:
        require_text(self.fiber_id, "fiber_id")
        require_text(self.model, "model")
        set_field(self, "vector", as_vector(self.vector, f"vector of fiber {self.fiber_id!r}"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FiberVector):
            return NotImplemented
        return (
            self.fiber_id == other.fiber_id
            and self.model == other.model
            and np.array_equal(self.vector, other.vector)
        )

    def __hash__(self) -> int:
        return hash((self.fiber_id, self.model, self.vector.tobytes()))


def as_vector(value: Any, what: str = "vector") -> npt.NDArray[np.float32]:
    """``value`` as a read-only 1-D float32 array; ValidationError unless finite and non-empty."""
    try:
        array = np.array(value, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} must be a sequence of numbers: {exc}") from None
    if array.ndim != 1 or array.size == 0:
        raise ValidationError(f"{what} must be a non-empty 1-D sequence of numbers")
    if not np.isfinite(array).all():
        raise ValidationError(f"{what} holds a NaN or infinite value")
    array.setflags(write=False)
    return array


@dataclass(frozen=True, slots=True, kw_only=True)
class WriteBatch:
    """A set of writes to one brain that a backend applies all-or-nothing.

    The backend applies them in this order: the access deltas (``neuron_accesses``,
    ``fiber_conducts``), neurons, synapse deltas, synapses, fibers, vectors, typed memories,
    projects, the deletions, then the meta values. ``insert_*``
    fails with AlreadyExistsError when an id is taken, ``ensure_*`` skips ids that exist,
    ``update_*`` fails with NotFoundError when an id is missing. On any failure nothing of
    the batch is kept.

    Every reference must hold once the batch is applied (``storage/_integrity.py``):

    - a synapse's ends and a fiber's neurons exist (NotFoundError); deleting a neuron a
      fiber still names is refused (ValidationError); deleting a neuron deletes its
      synapses; a synapse's ends never change (ValidationError: delete it, insert another);
    - a fiber's ``synapse_ids`` exist and each joins two of the fiber's neurons
      (NotFoundError / ValidationError); deleting a synapse a fiber still names is refused;
    - a fiber's ``superseded_by`` names another fiber that exists (NotFoundError /
      ValidationError); deleting a fiber that still supersedes a stored one is refused:
      rewrite the older version's ``superseded_by`` in the same batch, or delete the chain;
    - a typed memory's fiber and a vector's fiber exist (NotFoundError); deleting a fiber
      deletes its typed memories and vectors (they describe that fiber only).

    "Still" means after the batch: a record the same batch rewrites or deletes counts as it
    will be. ``TypedMemory.project_id`` and metadata (``supersedes``, ``follows``) are
    labels, not checked references.

    Attributes:
        synapse_deltas: ``(synapse_id, delta)`` pairs; each weight moves by ``delta`` within
            0-1, atomically (safe when several processes reinforce the same synapse). A
            positive delta also stamps ``last_activated = deltas_at`` and counts a
            reinforcement. Deltas apply to the synapses stored *before* the batch: unknown
            ids, and synapses this batch creates, are skipped. So "ensure this synapse and
            reinforce it if it was there" is one race-free batch: two writers creating the
            same link at once leave one link, reinforced once.
        neuron_accesses: ``(neuron_id, delta)`` pairs; each stored neuron counts an access
            at ``deltas_at`` and its activation moves by ``delta`` within 0-1, in place and
            atomically (what ``Neuron.accessed`` computes, without rewriting the record).
        fiber_conducts: Ids of stored fibers that conducted at ``deltas_at``: each counts an
            access and gains ``CONDUCT_REINFORCEMENT`` conductivity, in place and atomically
            (what ``Fiber.conduct`` computes). Like synapse deltas, both access sections
            apply to the records stored *before* the batch (unknown ids are skipped), so
            recalls reinforcing the same memory at once both count.
        put_vectors: Embeddings to store (replacing one of the same fiber and model); the
            fiber must exist once the batch's fibers are written (NotFoundError otherwise).
            Deleting a fiber deletes its vectors.
        put_meta: ``(key, value)`` pairs stored like ``Storage.set_meta``, in the same
            transaction (a pass that records "last run" commits it with its changes).
    """

    insert_neurons: tuple[Neuron, ...] = ()
    ensure_neurons: tuple[Neuron, ...] = ()
    update_neurons: tuple[Neuron, ...] = ()
    insert_synapses: tuple[Synapse, ...] = ()
    ensure_synapses: tuple[Synapse, ...] = ()
    update_synapses: tuple[Synapse, ...] = ()
    synapse_deltas: tuple[tuple[str, float], ...] = ()
    deltas_at: datetime = field(default_factory=utcnow)
    neuron_accesses: tuple[tuple[str, float], ...] = ()
    fiber_conducts: tuple[str, ...] = ()
    insert_fibers: tuple[Fiber, ...] = ()
    update_fibers: tuple[Fiber, ...] = ()
    put_typed_memories: tuple[TypedMemory, ...] = ()
    put_projects: tuple[Project, ...] = ()
    delete_fiber_ids: tuple[str, ...] = ()
    delete_synapse_ids: tuple[str, ...] = ()
    delete_neuron_ids: tuple[str, ...] = ()
    delete_typed_memory_ids: tuple[str, ...] = ()
    delete_project_ids: tuple[str, ...] = ()
    put_vectors: tuple[FiberVector, ...] = ()
    put_meta: tuple[tuple[str, Any], ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when the batch changes nothing."""
        return not any(
            getattr(self, name) for name in self.__dataclass_fields__ if name != "deltas_at"
        )

    def changed_ids(self) -> tuple[set[str], set[str], set[str]]:
        """The neuron, synapse and fiber ids this batch touches (for the change log)."""
        neurons = _ids(self.insert_neurons, self.ensure_neurons, self.update_neurons)
        neurons.update(neuron_id for neuron_id, _ in self.neuron_accesses)
        neurons.update(self.delete_neuron_ids)
        synapses = _ids(self.insert_synapses, self.ensure_synapses, self.update_synapses)
        synapses.update(synapse_id for synapse_id, _ in self.synapse_deltas)
        synapses.update(self.delete_synapse_ids)
        fibers = _ids(self.insert_fibers, self.update_fibers)
        fibers.update(self.fiber_conducts)
        fibers.update(self.delete_fiber_ids)
        fibers.update(vector.fiber_id for vector in self.put_vectors)
        return neurons, synapses, fibers

    @property
    def has_access_deltas(self) -> bool:
        """True when the batch holds ``neuron_accesses`` or ``fiber_conducts``."""
        return bool(self.neuron_accesses or self.fiber_conducts)

    @property
    def only_deltas(self) -> bool:
        """True when the batch holds deltas only (no record, vector, deletion or meta)."""
        deltas = ("synapse_deltas", "neuron_accesses", "fiber_conducts", "deltas_at")
        return not any(
            getattr(self, name) for name in self.__dataclass_fields__ if name not in deltas
        )


def _ids(*groups: Iterable[Neuron | Synapse | Fiber]) -> set[str]:
    return {item.id for group in groups for item in group}
