"""Neurons, synapses and fibers from checked columns, their invariants checked by column.

The bulk records of a snapshot or an RPC answer (tens of thousands of synapses) are made
without running each constructor's ``__post_init__``: the column reader
(:mod:`neural_memory.codec.columns`) has checked every value's JSON type, and each function
here checks, for a whole column at once, exactly what the record's ``__post_init__`` checks
(non-blank ids, values in range, references within the record) and normalises the values as
it does (aware UTC times, read-only metadata, frozensets, tuples). A function answers None
when any record breaks an invariant; the strict reader then names it. ``test_codec`` reads
every record and every bad case both ways and requires the same records and errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

from neural_memory.codec.schema import FIELD_NAMES
from neural_memory.core._validation import EMPTY_MAPPING, assembler
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse

__all__ = ["ASSEMBLERS"]

_Columns = dict[str, list[Any]]


def _make(kind: type, columns: _Columns) -> list[Any]:
    make = _MAKERS[kind]
    fields = [columns[name] for name in FIELD_NAMES[kind]]  # the assembler's (slots') order
    return [make(*row) for row in zip(*fields, strict=True)]


def _non_blank(column: list[str]) -> bool:
    return all(value.strip() for value in column)


def _units(column: list[float]) -> bool:
    return all(0.0 <= value <= 1.0 for value in column)


def _counts(column: list[int]) -> bool:
    return all(value >= 0 for value in column)


def _utc(column: list[datetime]) -> list[datetime]:
    return [moment if moment.tzinfo is UTC else moment.astimezone(UTC) for moment in column]


def _optional_utc(column: list[datetime | None]) -> list[datetime | None]:
    return [
        moment if moment is None or moment.tzinfo is UTC else moment.astimezone(UTC)
        for moment in column
    ]


def _frozen(column: list[dict[str, Any]]) -> list[Mapping[str, Any]]:
    """Read-only copies; every empty one is the shared ``EMPTY_MAPPING`` (most synapses')."""
    return [MappingProxyType(dict(value)) if value else EMPTY_MAPPING for value in column]


def _neurons(columns: _Columns) -> list[Any] | None:
    """As ``Neuron.__post_init__``."""
    if not (
        _non_blank(columns["id"])
        and _non_blank(columns["content"])
        and _units(columns["activation"])
        and _counts(columns["access_count"])
    ):
        return None
    columns["metadata"] = _frozen(columns["metadata"])
    columns["created_at"] = _utc(columns["created_at"])
    columns["last_accessed"] = _optional_utc(columns["last_accessed"])
    return _make(Neuron, columns)


def _synapses(columns: _Columns) -> list[Any] | None:
    """As ``Synapse.__post_init__``."""
    sources, targets = columns["source_id"], columns["target_id"]
    if not (
        _non_blank(columns["id"])
        and _non_blank(sources)
        and _non_blank(targets)
        and all(source != target for source, target in zip(sources, targets, strict=True))
        and _units(columns["weight"])
        and _counts(columns["reinforced_count"])
    ):
        return None
    columns["metadata"] = _frozen(columns["metadata"])
    columns["created_at"] = _utc(columns["created_at"])
    columns["last_activated"] = _optional_utc(columns["last_activated"])
    return _make(Synapse, columns)


def _fibers(columns: _Columns) -> list[Any] | None:
    """As ``Fiber.__post_init__`` (the reserved metadata is checked by the caller)."""
    members = [frozenset(ids) for ids in columns["neuron_ids"]]
    pathways = [tuple(path) for path in columns["pathway"]]
    if not (
        _non_blank(columns["id"])
        and all(a in m for a, m in zip(columns["anchor_neuron_id"], members, strict=True))
        and all(m.issuperset(p) for m, p in zip(members, pathways, strict=True))
        and _units(columns["conductivity"])
        and _units(columns["salience"])
        and _counts(columns["access_count"])
    ):
        return None
    created = _utc(columns["created_at"])
    occurred = columns["occurred_at"]
    columns.update(
        neuron_ids=members,
        synapse_ids=[frozenset(ids) for ids in columns["synapse_ids"]],
        pathway=pathways,
        last_conducted=_optional_utc(columns["last_conducted"]),
        tags=[frozenset(tags) for tags in columns["tags"]],
        metadata=_frozen(columns["metadata"]),
        created_at=created,
        occurred_at=_utc([o or c for o, c in zip(occurred, created, strict=True)]),
    )
    return _make(Fiber, columns)


_MAKERS: dict[type, Callable[..., Any]] = {
    kind: assembler(kind, positional=True) for kind in (Neuron, Synapse, Fiber)
}

ASSEMBLERS: dict[type, Callable[[_Columns], list[Any] | None]] = {
    Neuron: _neurons,
    Synapse: _synapses,
    Fiber: _fibers,
}
"""Record type -> the function making its records from checked columns (by field name)."""
