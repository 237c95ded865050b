"""Referential integrity of a write: no record may be left naming one that is gone (pure).

Every backend runs these checks inside the transaction of the batch, after reading what the
checks need of the stored state, so a refused batch writes nothing and two concurrent writers
cannot slip a deletion past a record that is being stored. (Redis reads that state before its
write script runs; the script applies the verdict only if the brain's change seq has not
moved since, and asks for a retry otherwise.) The references and what deleting
their target does (documented on :class:`~neural_memory.storage.batch.WriteBatch`):

- a fiber's neurons, a synapse's ends: deleting a neuron a fiber names is refused; deleting a
  neuron deletes its synapses;
- a fiber's synapses (``synapse_ids``): each must exist and join two of the fiber's neurons;
  deleting a synapse a fiber names is refused;
- a fiber's ``superseded_by``: must name another fiber; deleting a fiber that supersedes a
  stored one is refused;
- a typed memory's fiber, a vector's fiber: must exist; deleting a fiber deletes them.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field

from neural_memory.core._validation import empty_mapping
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.errors import AlreadyExistsError, NotFoundError, ValidationError
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "StoredReferences",
    "fiber_references",
    "in_use_error",
    "neuron_in_use",
    "refuse_bad_neurons",
    "refuse_conflicts",
    "refuse_dangling",
    "refuse_missing_ends",
    "refuse_missing_members",
    "refuse_neurons_in_use",
    "synapse_references",
    "synapse_users",
    "written_fibers",
]


_Record = Neuron | Synapse | Fiber


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredReferences:
    """What a backend read of the stored state (before the batch) for :func:`refuse_dangling`.

    Attributes:
        fibers: The stored fibers among :func:`fiber_references` of the batch.
        synapse_ends: ``(source, target)`` of the stored synapses among
            :func:`synapse_references` and among the synapses the batch deletes.
        successors: Deleted fiber id -> the stored fibers whose ``superseded_by`` names it.
        synapse_users: Deleted synapse id -> the stored fibers naming it in ``synapse_ids``.
    """

    fibers: frozenset[str] = frozenset()
    synapse_ends: Mapping[str, tuple[str, str]] = field(default_factory=empty_mapping)
    successors: Mapping[str, Iterable[str]] = field(default_factory=empty_mapping)
    synapse_users: Mapping[str, Iterable[str]] = field(default_factory=empty_mapping)


def refuse_conflicts(
    inserted: Iterable[_Record], updated: Iterable[_Record], stored: Container[str], what: str
) -> None:
    """AlreadyExistsError for an ``inserted`` record in ``stored``, NotFoundError otherwise.

    NotFoundError is for an ``updated`` record missing from ``stored``.
    """
    for record in inserted:
        if record.id in stored:
            raise AlreadyExistsError(f"{what} {record.id!r} already exists")
    for record in updated:
        if record.id not in stored:
            raise NotFoundError(f"{what} {record.id!r} does not exist")


def refuse_bad_neurons(
    batch: WriteBatch, lookups: tuple[set[str], set[str]], stored: Container[str]
) -> set[str]:
    """Refuse taken or missing neurons and missing synapse ends; the neurons known after.

    ``lookups`` is :func:`~neural_memory.storage._write_common.neuron_lookups` of the batch
    (created, looked up), ``stored`` holds the looked-up neurons that are stored.
    """
    refuse_conflicts(batch.insert_neurons, batch.update_neurons, stored, "neuron")
    created, looked_up = lookups
    known = {neuron_id for neuron_id in looked_up if neuron_id in stored} | created
    refuse_missing_ends(batch, known)
    return known


def refuse_missing_ends(batch: WriteBatch, known: Iterable[str]) -> None:
    """NotFoundError for a synapse ``batch`` writes naming a neuron outside ``known``."""
    neurons = set(known)
    for synapse in (*batch.insert_synapses, *batch.ensure_synapses, *batch.update_synapses):
        for endpoint in (synapse.source_id, synapse.target_id):
            if endpoint not in neurons:
                raise NotFoundError(f"synapse {synapse.id!r} names missing neuron {endpoint!r}")


def refuse_missing_members(batch: WriteBatch, known: Iterable[str]) -> None:
    """NotFoundError for a fiber ``batch`` writes naming a neuron outside ``known``."""
    neurons = set(known)
    for fiber in (*batch.insert_fibers, *batch.update_fibers):
        missing = fiber.neuron_ids - neurons
        if missing:
            raise NotFoundError(f"fiber {fiber.id!r} names missing neurons {sorted(missing)}")


def written_fibers(batch: WriteBatch) -> tuple[Fiber, ...]:
    """The fibers ``batch`` stores and does not delete again."""
    deleted = set(batch.delete_fiber_ids)
    return tuple(f for f in (*batch.insert_fibers, *batch.update_fibers) if f.id not in deleted)


def fiber_references(batch: WriteBatch) -> set[str]:
    """The fiber ids the records of ``batch`` name (typed memories, vectors, supersession)."""
    named = {memory.fiber_id for memory in batch.put_typed_memories}
    named.update(vector.fiber_id for vector in batch.put_vectors)
    named.update(f.superseded_by for f in written_fibers(batch) if f.superseded_by is not None)
    return named


def synapse_references(batch: WriteBatch) -> set[str]:
    """The synapse ids the fibers of ``batch`` name, and those it updates or deletes."""
    named = {synapse_id for fiber in written_fibers(batch) for synapse_id in fiber.synapse_ids}
    named.update(synapse.id for synapse in batch.update_synapses)
    named.update(batch.delete_synapse_ids)
    return named


def synapse_users(
    ends: Mapping[str, tuple[str, str]],
    deleted: Iterable[str],
    fiber_synapses: Mapping[str, Iterable[str]],
) -> dict[str, set[str]]:
    """Deleted synapse id -> the fibers among ``fiber_synapses`` naming it.

    ``ends`` holds the stored ends of the deleted synapses; ``fiber_synapses`` maps the
    stored fibers naming both ends of one of them (the only fibers that may name it) to
    their ``synapse_ids``.
    """
    wanted = {synapse_id for synapse_id in deleted if synapse_id in ends}
    users: dict[str, set[str]] = {}
    for fiber_id, synapse_ids in fiber_synapses.items():
        for synapse_id in wanted.intersection(synapse_ids):
            users.setdefault(synapse_id, set()).add(fiber_id)
    return users


def refuse_dangling(batch: WriteBatch, stored: StoredReferences) -> None:
    """NotFoundError or ValidationError when ``batch`` would leave a reference dangling.

    Checks every reference but a fiber's neurons (see :func:`refuse_neurons_in_use`).
    """
    _refuse_missing_fibers(batch, stored.fibers)
    _refuse_bad_fiber_synapses(batch, stored.synapse_ends)
    rewritten = {f.id for f in (*batch.insert_fibers, *batch.update_fibers)}
    rewritten.update(batch.delete_fiber_ids)
    for fiber_id in batch.delete_fiber_ids:
        for user in sorted(set(stored.successors.get(fiber_id, ())) - rewritten):
            raise ValidationError(
                f"fiber {fiber_id!r} still supersedes fiber {user!r}; rewrite that fiber's "
                "superseded_by in the same batch first"
            )
    for synapse_id in batch.delete_synapse_ids:
        for user in sorted(set(stored.synapse_users.get(synapse_id, ())) - rewritten):
            raise ValidationError(
                f"synapse {synapse_id!r} is still named by fiber {user!r}; "
                "delete or rewrite the fiber in the same batch first"
            )


def _refuse_missing_fibers(batch: WriteBatch, stored: Iterable[str]) -> None:
    deleted = set(batch.delete_fiber_ids)
    present = (set(stored) | {f.id for f in written_fibers(batch)}) - deleted
    dropped = set(batch.delete_typed_memory_ids)
    for memory in batch.put_typed_memories:
        if memory.fiber_id not in present and memory.id not in dropped:
            raise NotFoundError(
                f"typed memory {memory.id!r} names missing fiber {memory.fiber_id!r}"
            )
    for vector in batch.put_vectors:
        if vector.fiber_id not in present:
            raise NotFoundError(f"vector names missing fiber {vector.fiber_id!r}")
    for fiber in written_fibers(batch):
        if fiber.superseded_by is None:
            continue
        if fiber.superseded_by == fiber.id:
            raise ValidationError(f"fiber {fiber.id!r} cannot supersede itself")
        if fiber.superseded_by not in present:
            raise NotFoundError(
                f"fiber {fiber.id!r} is superseded by missing fiber {fiber.superseded_by!r}"
            )


def _refuse_bad_fiber_synapses(
    batch: WriteBatch, stored_ends: Mapping[str, tuple[str, str]]
) -> None:
    for synapse in batch.update_synapses:
        stored = stored_ends.get(synapse.id)
        if stored is not None and stored != (synapse.source_id, synapse.target_id):
            raise ValidationError(
                f"synapse {synapse.id!r} cannot change its ends; delete it and insert another"
            )
    ends = dict(stored_ends)
    for synapse in batch.ensure_synapses:
        ends.setdefault(synapse.id, (synapse.source_id, synapse.target_id))
    for synapse in (*batch.insert_synapses, *batch.update_synapses):
        ends[synapse.id] = (synapse.source_id, synapse.target_id)
    gone = set(batch.delete_neuron_ids)
    for synapse_id in batch.delete_synapse_ids:
        ends.pop(synapse_id, None)
    fibers = written_fibers(batch)
    if not gone and _all_join(fibers, ends):
        return
    for fiber in fibers:  # something is wrong: find the first problem, in id order
        for synapse_id in sorted(fiber.synapse_ids):
            found = ends.get(synapse_id)
            if found is None or not gone.isdisjoint(found):
                raise NotFoundError(f"fiber {fiber.id!r} names missing synapse {synapse_id!r}")
            if not set(found) <= fiber.neuron_ids:
                raise ValidationError(
                    f"fiber {fiber.id!r} names synapse {synapse_id!r}, which does not join "
                    "two of the fiber's neurons"
                )


def _all_join(fibers: Iterable[Fiber], ends: Mapping[str, tuple[str, str]]) -> bool:
    """True when every synapse each fiber names is in ``ends`` and joins two of its neurons."""
    for fiber in fibers:
        neurons = fiber.neuron_ids
        for synapse_id in fiber.synapse_ids:
            found = ends.get(synapse_id)
            if found is None or found[0] not in neurons or found[1] not in neurons:
                return False
    return True


def neuron_in_use(
    batch: WriteBatch, stored_users: Mapping[str, Iterable[str]]
) -> tuple[str, str] | None:
    """``(neuron id, fiber id)`` of a neuron ``batch`` deletes that a fiber names afterwards.

    ``stored_users`` maps each deleted neuron id to the ids of the stored fibers naming it
    (before the batch). A stored fiber the batch rewrites or deletes counts as it will be
    after the batch; a fiber the batch writes counts unless the batch also deletes it.
    """
    if not batch.delete_neuron_ids:
        return None
    written = (*batch.insert_fibers, *batch.update_fibers)
    deleted_fibers = set(batch.delete_fiber_ids)
    rewritten = {fiber.id for fiber in written} | deleted_fibers
    for neuron_id in batch.delete_neuron_ids:
        for fiber_id in sorted(stored_users.get(neuron_id, ())):
            if fiber_id not in rewritten:
                return neuron_id, fiber_id
    deleted = set(batch.delete_neuron_ids)
    for fiber in written:
        named = fiber.neuron_ids & deleted
        if named and fiber.id not in deleted_fibers:
            return min(named), fiber.id
    return None


def refuse_neurons_in_use(batch: WriteBatch, stored_users: Mapping[str, Iterable[str]]) -> None:
    """ValidationError when ``batch`` deletes a neuron a fiber still names afterwards."""
    found = neuron_in_use(batch, stored_users)
    if found is not None:
        raise in_use_error(*found)


def in_use_error(neuron_id: str, fiber_id: str) -> ValidationError:
    """The error of a batch deleting neuron ``neuron_id`` that fiber ``fiber_id`` names."""
    return ValidationError(
        f"neuron {neuron_id!r} is still named by fiber {fiber_id!r}; "
        "delete or rewrite the fiber in the same batch first"
    )
