"""InMemoryStorage: the whole storage interface in process memory (tests, development)."""

from __future__ import annotations

import copy
import itertools
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import AlreadyExistsError, ValidationError
from neural_memory.storage import _integrity as integrity
from neural_memory.storage._core import IndexSnapshot, JSONValue
from neural_memory.storage._write_common import change_entries, neuron_lookups
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = ["InMemoryStorage"]

CHANGE_LOG_LIMIT = 50_000
"""How many change-log entries a brain keeps; older readers rebuild their indexes."""


@dataclass
class _BrainData:
    brain: Brain
    neurons: dict[str, Neuron] = field(default_factory=dict)
    synapses: dict[str, Synapse] = field(default_factory=dict)
    fibers: dict[str, Fiber] = field(default_factory=dict)
    synapses_by_neuron: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    fibers_by_neuron: defaultdict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    typed_memories: dict[str, TypedMemory] = field(default_factory=dict)
    projects: dict[str, Project] = field(default_factory=dict)
    alerts: dict[str, Alert] = field(default_factory=dict)
    recall_events: list[RecallEvent] = field(default_factory=list)
    meta: dict[str, JSONValue] = field(default_factory=dict)
    vectors: dict[str, dict[str, npt.NDArray[np.float32]]] = field(default_factory=dict)
    """model -> fiber id -> vector."""
    seq: int = 0
    record: int = 0
    """Moves with every ``save_brain`` replacing the brain (see ``BrainVersion``)."""
    generation: int = 0
    """Given when the brain is created, from the storage's counter (see ``BrainVersion``)."""
    changes: list[ChangeRecord] = field(default_factory=list)
    index_snapshot: IndexSnapshot | None = None


class InMemoryStorage(Storage):
    """Keeps everything in dictionaries; nothing survives the process.

    Needs no ``initialize()`` (it opens itself on first use) and holds no resources.
    Writes are atomic: a batch is validated in full before anything is applied.
    """

    warn_if_unclosed: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._brains: dict[str, _BrainData] = {}
        self._generations = itertools.count(1)

    async def _open(self) -> None:
        return None

    async def _close(self) -> None:
        self._brains.clear()

    # -- brains ------------------------------------------------------------------------------

    async def _save_brain(self, brain: Brain) -> None:
        data = self._brains.get(brain.id)
        if data is None:
            self._brains[brain.id] = _BrainData(brain=brain, generation=next(self._generations))
        else:
            data.brain = brain
            data.record += 1

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        # No await between the check and the last write: one transaction for the event loop.
        if brain.id in self._brains:
            raise AlreadyExistsError(f"brain {brain.id!r} already exists")
        data = _BrainData(brain=brain)
        _check(data, contents)
        data.generation = next(self._generations)
        self._brains[brain.id] = data
        return _apply_logged(data, contents) if not contents.is_empty else 0

    async def _get_brain(self, brain_id: str) -> Brain | None:
        data = self._brains.get(brain_id)
        return data.brain if data else None

    async def _get_brain_version(self, brain_id: str) -> BrainVersion | None:
        data = self._brains.get(brain_id)
        return BrainVersion(data.seq, data.record, data.generation) if data else None

    async def _list_brains(self) -> list[Brain]:
        return sorted((d.brain for d in self._brains.values()), key=lambda b: b.created_at)

    async def _delete_brain(self, brain_id: str) -> bool:
        return self._brains.pop(brain_id, None) is not None

    # -- graph writes --------------------------------------------------------------------------

    def _applies_access_deltas(self) -> bool:
        return True

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        data = self._brains[brain_id]
        _check(data, batch)
        return _apply_logged(data, batch)

    # -- graph reads ---------------------------------------------------------------------------

    async def _get_neurons(self, brain_id: str, ids: frozenset[str]) -> dict[str, Neuron]:
        neurons = self._brains[brain_id].neurons
        return {i: neurons[i] for i in ids if i in neurons}

    async def _find_neurons(self, brain_id: str, query: NeuronFilter) -> list[Neuron]:
        wanted = query.content.casefold() if query.content is not None else None
        found = (
            n
            for n in self._brains[brain_id].neurons.values()
            if (query.type is None or n.type == query.type)
            and (wanted is None or n.content.casefold() == wanted)
        )
        return list(itertools.islice(found, query.limit))

    async def _get_synapses(self, brain_id: str, ids: frozenset[str]) -> dict[str, Synapse]:
        synapses = self._brains[brain_id].synapses
        return {i: synapses[i] for i in ids if i in synapses}

    async def _find_synapses(self, brain_id: str, query: SynapseFilter) -> list[Synapse]:
        data = self._brains[brain_id]
        endpoint = query.source_id or query.target_id
        pool = (
            (data.synapses[i] for i in sorted(data.synapses_by_neuron.get(endpoint, ())))
            if endpoint is not None
            else iter(data.synapses.values())
        )
        found = (
            s
            for s in pool
            if (query.source_id is None or s.source_id == query.source_id)
            and (query.target_id is None or s.target_id == query.target_id)
            and (query.type is None or s.type == query.type)
        )
        ordered = sorted(found, key=lambda s: (s.created_at, s.id))
        return ordered[: query.limit] if query.limit is not None else ordered

    async def _synapses_touching(self, brain_id: str, neuron_ids: frozenset[str]) -> list[Synapse]:
        data = self._brains[brain_id]
        ids = {s for n in neuron_ids for s in data.synapses_by_neuron.get(n, ())}
        return [data.synapses[i] for i in sorted(ids)]

    async def _get_fibers(self, brain_id: str, ids: frozenset[str]) -> dict[str, Fiber]:
        fibers = self._brains[brain_id].fibers
        return {i: fibers[i] for i in ids if i in fibers}

    async def _find_fibers(self, brain_id: str, query: FiberFilter) -> list[Fiber]:
        data = self._brains[brain_id]
        pool = (
            (data.fibers[i] for i in data.fibers_by_neuron.get(query.neuron_id, ()))
            if query.neuron_id is not None
            else iter(data.fibers.values())
        )
        found = sorted(
            (f for f in pool if _fiber_matches(f, query)), key=lambda f: (f.created_at, f.id)
        )
        return found[: query.limit] if query.limit is not None else found

    # -- which ids exist -----------------------------------------------------------------------

    async def _existing_neuron_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return set(ids.intersection(self._brains[brain_id].neurons))

    async def _existing_synapse_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return set(ids.intersection(self._brains[brain_id].synapses))

    # -- knowledge -------------------------------------------------------------------------

    async def _get_typed_memories(
        self, brain_id: str, ids: frozenset[str]
    ) -> dict[str, TypedMemory]:
        memories = self._brains[brain_id].typed_memories
        return {i: memories[i] for i in ids if i in memories}

    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]:
        found = [
            m
            for m in self._brains[brain_id].typed_memories.values()
            if _typed_memory_matches(m, query)
        ]
        found.sort(key=lambda m: (-m.priority, -m.created_at.timestamp(), m.id))
        return found[: query.limit] if query.limit is not None else found

    async def _get_projects(self, brain_id: str, ids: frozenset[str] | None) -> list[Project]:
        projects = self._brains[brain_id].projects.values()
        found = [p for p in projects if ids is None or p.id in ids]
        return sorted(found, key=lambda p: (p.created_at, p.id))

    async def _put_alerts(self, brain_id: str, alerts: tuple[Alert, ...]) -> None:
        self._brains[brain_id].alerts.update((a.id, a) for a in alerts)

    async def _find_alerts(self, brain_id: str, query: AlertFilter) -> list[Alert]:
        found = [
            a
            for a in self._brains[brain_id].alerts.values()
            if (query.ids is None or a.id in query.ids)
            and (query.statuses is None or a.status in query.statuses)
            and (query.types is None or a.alert_type in query.types)
        ]
        found.sort(key=lambda a: (a.created_at, a.id), reverse=True)
        return found[: query.limit] if query.limit is not None else found

    async def _add_recall_event(self, brain_id: str, event: RecallEvent) -> None:
        self._brains[brain_id].recall_events.append(event)

    async def _get_recall_events(
        self, brain_id: str, since: datetime | None, limit: int | None
    ) -> list[RecallEvent]:
        events = sorted(self._brains[brain_id].recall_events, key=lambda e: e.created_at)
        found = [e for e in events if since is None or e.created_at >= since]
        return found[-limit:] if limit else ([] if limit == 0 else found)

    async def _get_meta(self, brain_id: str, key: str) -> JSONValue | None:
        return copy.deepcopy(self._brains[brain_id].meta.get(key))

    async def _set_meta(self, brain_id: str, key: str, value: JSONValue) -> None:
        self._brains[brain_id].meta[key] = copy.deepcopy(value)

    async def _meta_keys(self, brain_id: str) -> list[str]:
        return sorted(self._brains[brain_id].meta)

    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        stored = self._brains[brain_id].vectors.get(model, {})
        if ids is None:
            return dict(stored)
        return {fiber_id: stored[fiber_id] for fiber_id in ids if fiber_id in stored}

    async def _get_index_snapshot(self, brain_id: str) -> IndexSnapshot | None:
        return self._brains[brain_id].index_snapshot

    async def _put_index_snapshot(self, brain_id: str, snapshot: IndexSnapshot) -> bool:
        data = self._brains[brain_id]
        if data.index_snapshot is not None and data.index_snapshot.seq > snapshot.seq:
            return False
        data.index_snapshot = snapshot
        return True

    # -- change log, statistics ------------------------------------------------------------

    async def _get_change_seq(self, brain_id: str) -> int:
        return self._brains[brain_id].seq

    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        data = self._brains[brain_id]
        if since >= data.seq:
            return []
        if not data.changes or data.changes[0].seq > since + 1:
            return None
        start = since + 1 - data.changes[0].seq
        return data.changes[start:]

    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats:
        data = self._brains[brain_id]
        oldest = min((f.last_used for f in data.fibers.values()), default=None)
        return BrainStats(
            neuron_count=len(data.neurons),
            synapse_count=len(data.synapses),
            fiber_count=len(data.fibers),
            typed_memory_count=len(data.typed_memories),
            project_count=len(data.projects),
            orphan_neuron_count=sum(1 for n in data.neurons if not data.synapses_by_neuron.get(n)),
            expired_memory_count=sum(1 for m in data.typed_memories.values() if m.is_expired(now)),
            oldest_unused_fiber_at=oldest,
            change_seq=data.seq,
        )


def _typed_memory_matches(memory: TypedMemory, query: TypedMemoryFilter) -> bool:
    return (
        (query.memory_type is None or memory.memory_type == query.memory_type)
        and (query.min_priority is None or memory.priority >= query.min_priority)
        and query.tags <= memory.tags
        and (query.project_id is None or memory.project_id == query.project_id)
        and (query.fiber_ids is None or memory.fiber_id in query.fiber_ids)
        and (query.not_expired_at is None or not memory.is_expired(query.not_expired_at))
    )


def _apply_logged(data: _BrainData, batch: WriteBatch) -> int:
    """Apply a checked batch and log its changes; the brain's new change seq."""
    for kind, entity_id in change_entries(batch, _apply(data, batch)):
        data.seq += 1
        data.changes.append(ChangeRecord(data.seq, kind, entity_id))
    if len(data.changes) > CHANGE_LOG_LIMIT:
        del data.changes[: len(data.changes) - CHANGE_LOG_LIMIT]
    return data.seq


def _check(data: _BrainData, batch: WriteBatch) -> None:
    """Raise before anything is applied, so a failing batch leaves no trace."""
    known = integrity.refuse_bad_neurons(batch, neuron_lookups(batch), data.neurons)
    integrity.refuse_conflicts(
        batch.insert_synapses, batch.update_synapses, data.synapses, "synapse"
    )
    integrity.refuse_conflicts(batch.insert_fibers, batch.update_fibers, data.fibers, "fiber")
    integrity.refuse_missing_members(batch, known)
    for key, value in batch.put_meta:
        _check_json(key, value)
    users = {n: data.fibers_by_neuron.get(n, set()) for n in batch.delete_neuron_ids}
    integrity.refuse_neurons_in_use(batch, users)
    integrity.refuse_dangling(batch, _stored_references(data, batch))


def _stored_references(data: _BrainData, batch: WriteBatch) -> integrity.StoredReferences:
    """What :func:`integrity.refuse_dangling` needs to know of the brain before ``batch``."""
    ends = {
        s.id: (s.source_id, s.target_id)
        for synapse_id in integrity.synapse_references(batch)
        if (s := data.synapses.get(synapse_id)) is not None
    }
    deleted = set(batch.delete_fiber_ids)
    successors: dict[str, set[str]] = {}
    if deleted:
        for fiber in data.fibers.values():
            if fiber.superseded_by in deleted:
                successors.setdefault(fiber.superseded_by, set()).add(fiber.id)
    candidates = {
        fiber_id
        for synapse_id in batch.delete_synapse_ids
        if synapse_id in ends
        for fiber_id in data.fibers_by_neuron.get(ends[synapse_id][0], set())
        & data.fibers_by_neuron.get(ends[synapse_id][1], set())
    }
    return integrity.StoredReferences(
        fibers=frozenset(i for i in integrity.fiber_references(batch) if i in data.fibers),
        synapse_ends=ends,
        successors=successors,
        synapse_users=integrity.synapse_users(
            ends, batch.delete_synapse_ids, {i: data.fibers[i].synapse_ids for i in candidates}
        ),
    )


def _apply_accesses(data: _BrainData, batch: WriteBatch) -> None:
    """The access deltas, on the records stored before the batch (unknown ids skipped)."""
    for neuron_id, delta in batch.neuron_accesses:
        neuron = data.neurons.get(neuron_id)
        if neuron is not None:
            data.neurons[neuron_id] = neuron.accessed(delta=delta, at=batch.deltas_at)
    for fiber_id in batch.fiber_conducts:
        fiber = data.fibers.get(fiber_id)
        if fiber is not None:
            data.fibers[fiber_id] = fiber.conduct(conducted_at=batch.deltas_at)


def _apply(data: _BrainData, batch: WriteBatch) -> set[str]:
    """Apply a checked batch; return the ids of synapses deleted with their neurons."""
    _apply_accesses(data, batch)
    for neuron in batch.ensure_neurons:
        data.neurons.setdefault(neuron.id, neuron)
    for neuron in (*batch.insert_neurons, *batch.update_neurons):
        data.neurons[neuron.id] = neuron
    for synapse_id, delta in batch.synapse_deltas:
        current = data.synapses.get(synapse_id)
        if current is not None:
            moved = current.with_weight(current.weight + delta)
            if delta > 0:
                moved = moved.reinforce(0.0, at=batch.deltas_at)
            data.synapses[synapse_id] = moved
    for synapse in batch.ensure_synapses:
        if synapse.id not in data.synapses:
            _put_synapse(data, synapse)
    for synapse in (*batch.insert_synapses, *batch.update_synapses):
        _put_synapse(data, synapse)
    for fiber in (*batch.insert_fibers, *batch.update_fibers):
        old = data.fibers.get(fiber.id)
        if old is not None:
            for neuron_id in old.neuron_ids:
                data.fibers_by_neuron[neuron_id].discard(fiber.id)
        data.fibers[fiber.id] = fiber
        for neuron_id in fiber.neuron_ids:
            data.fibers_by_neuron[neuron_id].add(fiber.id)
    for vector in batch.put_vectors:
        data.vectors.setdefault(vector.model, {})[vector.fiber_id] = vector.vector
    data.typed_memories.update((m.id, m) for m in batch.put_typed_memories)
    data.projects.update((p.id, p) for p in batch.put_projects)
    for fiber_id in batch.delete_fiber_ids:
        removed = data.fibers.pop(fiber_id, None)
        for neuron_id in removed.neuron_ids if removed else ():
            data.fibers_by_neuron[neuron_id].discard(fiber_id)
        for by_fiber in data.vectors.values():
            by_fiber.pop(fiber_id, None)
    if batch.delete_fiber_ids:  # a typed memory goes with its fiber
        gone = set(batch.delete_fiber_ids)
        for memory in [m for m in data.typed_memories.values() if m.fiber_id in gone]:
            del data.typed_memories[memory.id]
    for synapse_id in batch.delete_synapse_ids:
        _drop_synapse(data, synapse_id)
    cascaded: set[str] = set()
    for neuron_id in batch.delete_neuron_ids:
        if data.neurons.pop(neuron_id, None) is not None:
            for synapse_id in list(data.synapses_by_neuron.get(neuron_id, ())):
                _drop_synapse(data, synapse_id)
                cascaded.add(synapse_id)
            data.synapses_by_neuron.pop(neuron_id, None)
    for memory_id in batch.delete_typed_memory_ids:
        data.typed_memories.pop(memory_id, None)
    for project_id in batch.delete_project_ids:
        data.projects.pop(project_id, None)
    for key, value in batch.put_meta:
        data.meta[key] = copy.deepcopy(value)
    return cascaded


def _check_json(key: str, value: JSONValue) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"meta value of {key!r} must be JSON data: {exc}") from None


def _put_synapse(data: _BrainData, synapse: Synapse) -> None:
    data.synapses[synapse.id] = synapse
    data.synapses_by_neuron[synapse.source_id].add(synapse.id)
    data.synapses_by_neuron[synapse.target_id].add(synapse.id)


def _drop_synapse(data: _BrainData, synapse_id: str) -> None:
    synapse = data.synapses.pop(synapse_id, None)
    if synapse is not None:
        data.synapses_by_neuron[synapse.source_id].discard(synapse_id)
        data.synapses_by_neuron[synapse.target_id].discard(synapse_id)


def _fiber_matches(fiber: Fiber, query: FiberFilter) -> bool:
    """Whether ``fiber`` carries the query's tags (and is current, when asked)."""
    return query.tags <= fiber.tags and not (query.current and fiber.superseded_by is not None)
