"""The limits of :mod:`neural_memory.core.limits` applied to whole writes (pure, no I/O).

``Storage`` calls these before a backend sees anything, and the storage RPC server calls
them on what it decodes, so every backend and every path stores only what export, import
and SharedStorage accept.
"""

from __future__ import annotations

from typing import Any

from neural_memory.core.fiber_metadata import check_reserved
from neural_memory.core.limits import (
    MAX_NAME_LENGTH,
    MAX_VECTOR_DIMENSIONS,
    check_id,
    check_json_value,
    check_number,
    check_records,
    check_text,
    check_time,
    plain_deltas,
)
from neural_memory.errors import LimitExceededError, ValidationError
from neural_memory.storage.batch import WriteBatch

__all__ = ["LARGE_BATCH_RECORDS", "check_batch", "check_meta", "is_large"]

LARGE_BATCH_RECORDS = 2_000
"""A batch of at least this many records is checked in a worker thread (:func:`is_large`):
checking a decay pass over 30,000 memories takes the better part of a second."""

_RECORD_SECTIONS = (
    "insert_neurons",
    "ensure_neurons",
    "update_neurons",
    "insert_synapses",
    "ensure_synapses",
    "update_synapses",
    "insert_fibers",
    "update_fibers",
    "put_typed_memories",
    "put_projects",
)
_ID_SECTIONS = (
    "delete_fiber_ids",
    "delete_synapse_ids",
    "delete_neuron_ids",
    "delete_typed_memory_ids",
    "delete_project_ids",
)


def is_large(batch: WriteBatch) -> bool:
    """Whether ``batch`` holds at least ``LARGE_BATCH_RECORDS`` records."""
    return sum(len(getattr(batch, section)) for section in _RECORD_SECTIONS) >= (
        LARGE_BATCH_RECORDS
    )


def check_meta(key: str, value: Any) -> None:
    """A meta key and its value within the limits (any JSON value, finite numbers only)."""
    check_text(key, "meta key", MAX_NAME_LENGTH)
    if not key.strip():
        raise ValidationError("meta key must not be empty")
    check_json_value(value, f"meta value {key!r}")


def check_batch(batch: WriteBatch) -> None:
    """Every record, id, delta, vector and meta value of ``batch`` within the limits."""
    for section in _RECORD_SECTIONS:
        check_records(getattr(batch, section), section)
    for section in ("insert_fibers", "update_fibers"):
        for index, fiber in enumerate(getattr(batch, section)):
            try:
                check_reserved(fiber.metadata)
            except ValidationError as error:
                raise ValidationError(f"{section}[{index}].{error}") from None
    for section in _ID_SECTIONS:
        for index, item in enumerate(getattr(batch, section)):
            check_id(item, f"{section}[{index}]")
    for section in ("synapse_deltas", "neuron_accesses"):
        deltas: tuple[tuple[str, float], ...] = getattr(batch, section)
        if not plain_deltas(deltas):
            for index, (record_id, delta) in enumerate(deltas):
                check_id(record_id, f"{section}[{index}]")
                check_number(delta, f"{section}[{index}] delta")
    for index, fiber_id in enumerate(batch.fiber_conducts):
        check_id(fiber_id, f"fiber_conducts[{index}]")
    check_time(batch.deltas_at, "deltas_at")
    for index, vector in enumerate(batch.put_vectors):
        check_id(vector.fiber_id, f"put_vectors[{index}].fiber_id")
        check_text(vector.model, f"put_vectors[{index}].model", MAX_NAME_LENGTH)
        if vector.vector.size > MAX_VECTOR_DIMENSIONS:
            raise LimitExceededError(
                f"put_vectors[{index}] has more than {MAX_VECTOR_DIMENSIONS} dimensions"
            )
    for key, value in batch.put_meta:
        check_meta(key, value)
