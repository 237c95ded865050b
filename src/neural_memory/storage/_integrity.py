"""Referential integrity of a write: no fiber may be left naming a deleted neuron (pure).

Every backend runs this check inside the transaction of the batch, after reading which
stored fibers name the neurons the batch deletes, so a refused batch writes nothing and two
concurrent writers cannot slip a deletion past a fiber that is being stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from neural_memory.errors import AlreadyExistsError, NotFoundError, ValidationError
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "in_use_error",
    "neuron_in_use",
    "refuse_missing",
    "refuse_neurons_in_use",
    "refuse_taken",
]


def refuse_taken(ids: Iterable[str], existing: Iterable[str], what: str) -> None:
    """AlreadyExistsError for the first of ``ids`` found in ``existing``."""
    taken = set(existing)
    for entity_id in ids:
        if entity_id in taken:
            raise AlreadyExistsError(f"{what} {entity_id!r} already exists")


def refuse_missing(ids: Iterable[str], existing: Iterable[str], what: str) -> None:
    """NotFoundError for the first of ``ids`` missing from ``existing``."""
    present = set(existing)
    for entity_id in ids:
        if entity_id not in present:
            raise NotFoundError(f"{what} {entity_id!r} does not exist")


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
