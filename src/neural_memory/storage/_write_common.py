"""Pure pieces the backends' write paths share: what to look up, what to log (no I/O).

The checks themselves live in :mod:`neural_memory.storage._integrity`; this module holds
the bookkeeping around them that SQLite, PostgreSQL and InMemoryStorage would otherwise
each spell out.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterable, Mapping
from typing import TypeVar

from neural_memory.core.events import ChangeKind
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.storage._sqlite_rows import Row
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "ChangeEntries",
    "change_entries",
    "change_texts",
    "conflict_clause",
    "deleted_synapse_ends",
    "grouped",
    "ids_of",
    "live_deltas",
    "neuron_lookups",
    "rows_of",
]

_T = TypeVar("_T")

ChangeEntries = list[tuple[ChangeKind, str]]
"""``(kind, entity id)`` of change-log entries, in the order they are logged."""


def neuron_lookups(batch: WriteBatch) -> tuple[set[str], set[str]]:
    """The neuron ids ``batch`` creates, and the stored ones its checks must look up.

    The lookups are the neurons it inserts or updates (taken / missing) and every neuron a
    synapse end or a fiber names that the batch does not create itself.
    """
    created = {n.id for n in batch.insert_neurons} | {n.id for n in batch.ensure_neurons}
    synapses = (*batch.insert_synapses, *batch.ensure_synapses, *batch.update_synapses)
    named = {end for s in synapses for end in (s.source_id, s.target_id)}
    named.update(n for f in (*batch.insert_fibers, *batch.update_fibers) for n in f.neuron_ids)
    probed = {n.id for n in (*batch.insert_neurons, *batch.update_neurons)}
    return created, probed | (named - created)


def conflict_clause(names: list[str], on_conflict: str) -> str:
    """The ``ON CONFLICT`` clause of an insert of ``brain`` + ``names`` ("" for none).

    ``on_conflict`` is "" (fail), "ignore" or "update" (an upsert on ``(brain, <first
    column>)`` that keeps the row, and so its rowid or insertion order).
    """
    if on_conflict == "ignore":
        return " ON CONFLICT DO NOTHING"
    if on_conflict == "update":
        sets = ", ".join(f"{c} = excluded.{c}" for c in names[1:])
        return f" ON CONFLICT (brain, {names[0]}) DO UPDATE SET {sets}"
    return ""


def rows_of(brain: int, items: Iterable[_T], to_row: Callable[[int, _T], Row]) -> list[Row]:
    """The table rows of ``items`` in brain number ``brain`` (SQLite's and PostgreSQL's)."""
    return [to_row(brain, item) for item in items]


def ids_of(*groups: Iterable[Neuron | Synapse | Fiber]) -> set[str]:
    """The ids of the records in ``groups``."""
    return {record.id for group in groups for record in group}


def change_entries(batch: WriteBatch, cascaded: Iterable[str]) -> ChangeEntries:
    """One change-log entry per id ``batch`` touched: neurons, synapses, fibers, each sorted.

    ``cascaded`` are the synapses deleted with their neurons, logged with the batch's own.
    """
    return _changes(batch, cascaded, _KINDS)


def change_texts(batch: WriteBatch, cascaded: Iterable[str]) -> list[tuple[str, str]]:
    """:func:`change_entries` with each kind as its stored text (what SQL backends log)."""
    return _changes(batch, cascaded, _KIND_TEXTS)


_KINDS = (ChangeKind.NEURON, ChangeKind.SYNAPSE, ChangeKind.FIBER)
_KIND_TEXTS = tuple(kind.value for kind in _KINDS)
_Kind = TypeVar("_Kind", ChangeKind, str)


def _changes(
    batch: WriteBatch, cascaded: Iterable[str], kinds: tuple[_Kind, ...]
) -> list[tuple[_Kind, str]]:
    """``(kind, id)`` per touched id, ``kinds`` naming neurons, synapses and fibers."""
    neurons, synapses, fibers = batch.changed_ids()
    synapses.update(cascaded)
    return [
        (kind, entity_id)
        for kind, ids in zip(kinds, (neurons, synapses, fibers), strict=True)
        for entity_id in sorted(ids)
    ]


def live_deltas(
    batch: WriteBatch, looked_up: Container[str], stored: Container[str]
) -> list[tuple[str, float]]:
    """The batch's synapse deltas, less those of ids ``looked_up`` and not ``stored``.

    Deltas move only the synapses stored before the batch, so a delta of a synapse the
    checks looked up and did not find (most often one the same batch creates) is a no-op;
    leaving it out saves a key lookup per delta. The order of the rest is kept.
    """
    return [
        (synapse_id, delta)
        for synapse_id, delta in batch.synapse_deltas
        if synapse_id in stored or synapse_id not in looked_up
    ]


def grouped(pairs: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """``(key, value)`` rows as key -> the set of its values."""
    groups: dict[str, set[str]] = {}
    for key, value in pairs:
        groups.setdefault(key, set()).add(value)
    return groups


def deleted_synapse_ends(
    ends: Mapping[str, tuple[str, str]], batch: WriteBatch
) -> list[tuple[str, str]]:
    """The distinct ``(source, target)`` pairs of the stored synapses ``batch`` deletes."""
    return sorted({ends[i] for i in batch.delete_synapse_ids if i in ends})
