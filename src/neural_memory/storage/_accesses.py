"""Access deltas as whole-record updates, for backends that do not apply them in place.

Memory, SQLite and PostgreSQL apply ``WriteBatch.neuron_accesses`` and ``fiber_conducts``
in place, and SharedStorage sends them to its server as they are. Another backend gets them
rewritten here as ``update_neurons`` and ``update_fibers`` of the records read just before
the write: the same result, except that unknown ids leave no change-log entry. Redis guards
the records it read (its write script retries when one changed meanwhile); a backend that
does not may count two simultaneous accesses to one record once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.storage.batch import WriteBatch

__all__ = ["as_record_updates"]


def as_record_updates(
    batch: WriteBatch, neurons: Mapping[str, Neuron], fibers: Mapping[str, Fiber]
) -> WriteBatch:
    """``batch`` with its access deltas applied to ``neurons`` and ``fibers`` (stored ones).

    A record the batch inserts or updates itself keeps the batch's version (deltas apply
    first, so the batch's write replaces them).
    """
    at = batch.deltas_at
    accessed = dict(neurons)
    for neuron_id, delta in batch.neuron_accesses:
        if neuron_id in accessed:
            accessed[neuron_id] = accessed[neuron_id].accessed(delta=delta, at=at)
    conducted = dict(fibers)
    for fiber_id in batch.fiber_conducts:
        if fiber_id in conducted:
            conducted[fiber_id] = conducted[fiber_id].conduct(conducted_at=at)
    written_neurons = {n.id for n in (*batch.insert_neurons, *batch.update_neurons)}
    written_fibers = {f.id for f in (*batch.insert_fibers, *batch.update_fibers)}
    return replace(
        batch,
        neuron_accesses=(),
        fiber_conducts=(),
        update_neurons=(
            *(n for i, n in accessed.items() if i not in written_neurons),
            *batch.update_neurons,
        ),
        update_fibers=(
            *(f for i, f in conducted.items() if i not in written_fibers),
            *batch.update_fibers,
        ),
    )
