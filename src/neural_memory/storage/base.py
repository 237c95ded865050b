"""Storage: the one async interface every backend offers, grouped by aggregate."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import freeze_strings, require_enum, require_text
from neural_memory.core.alert import Alert, AlertStatus, AlertType
from neural_memory.core.brain import Brain
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import check_record
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse, SynapseType
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory
from neural_memory.errors import (
    AlreadyExistsError,
    BrainNotFoundError,
    NotFoundError,
    ValidationError,
)
from neural_memory.storage._accesses import as_record_updates
from neural_memory.storage._core import (
    FiberRows,
    GraphRows,
    IndexSnapshot,
    JSONValue,
    StorageCore,
)
from neural_memory.storage._limits import check_batch, check_meta
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = ["Storage"]

_T = TypeVar("_T")
_AlertChange = Callable[[Alert, datetime | None], Alert]
_OPEN_STATUSES = frozenset({AlertStatus.ACTIVE, AlertStatus.SEEN})


class Storage(StorageCore):
    """Async storage of brains and their graph, typed memories, projects and alerts.

    Brain-scoped methods work on the brain chosen with ``set_brain()``. Getters return None
    (or leave ids out of the mapping) for missing ids; ``update_*`` raises NotFoundError.
    Every write goes through :meth:`write`, which a backend applies as one transaction.
    """

    # -- brains ------------------------------------------------------------------------------

    async def save_brain(self, brain: Brain) -> None:
        """Insert ``brain`` or replace its name and config (its memories are kept)."""
        if not isinstance(brain, Brain):
            raise ValidationError(f"expected a Brain, got {type(brain).__name__}")
        check_record(brain)
        await self._ensure_open()
        await self._save_brain(brain)
        self._known_brains.add(brain.id)

    async def create_brain(self, brain: Brain, contents: WriteBatch | None = None) -> int:
        """Create ``brain`` holding ``contents`` in one transaction; return its change seq.

        Either the brain and everything in ``contents`` appear together or nothing does: a
        failing batch, or a process killed mid-way, leaves no brain. AlreadyExistsError
        (nothing written) when the id is taken, so of two concurrent creations of one id
        exactly one succeeds.
        """
        if not isinstance(brain, Brain):
            raise ValidationError(f"expected a Brain, got {type(brain).__name__}")
        batch = WriteBatch() if contents is None else contents
        if not isinstance(batch, WriteBatch):
            raise ValidationError(f"expected a WriteBatch, got {type(batch).__name__}")
        check_record(brain)
        check_batch(batch)
        # Access deltas move stored records only, and a new brain has none.
        batch = replace(batch, neuron_accesses=(), fiber_conducts=())
        await self._ensure_open()
        seq = await self._create_brain(brain, batch)
        self._known_brains.add(brain.id)
        return seq

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        """Create a brain and apply ``contents`` to it; AlreadyExistsError when it exists.

        This fallback is atomic only for the failure of the batch (the new brain is deleted
        again); two concurrent callers can both pass its existence check. InMemoryStorage,
        SQLiteStorage, RedisStorage and SharedStorage override it with one transaction.
        """
        if await self._get_brain(brain.id) is not None:
            raise AlreadyExistsError(f"brain {brain.id!r} already exists")
        await self._save_brain(brain)
        if contents.is_empty:
            return 0
        try:
            return await self._write(brain.id, contents)
        except BaseException:
            await self._delete_brain(brain.id)
            raise

    async def get_brain(self, brain_id: str) -> Brain | None:
        """The brain with ``brain_id``, or None."""
        await self._ensure_open()
        return await self._get_brain(require_text(brain_id, "brain_id"))

    async def get_brain_version(self, brain_id: str) -> BrainVersion:
        """The brain's change seq, record version and generation, in one round trip.

        Both counters only grow while the brain exists: ``change_seq`` with every write to
        its contents, ``record`` with every ``save_brain`` of it. A brain deleted and created
        again under the same id counts from zero again under a new, larger ``generation``.
        A process keeping the brain's record or recall index compares them to what it holds
        instead of re-reading. BrainNotFoundError for an unknown brain.
        """
        await self._ensure_open()
        version = await self._get_brain_version(require_text(brain_id, "brain_id"))
        if version is None:
            self._known_brains.discard(brain_id)
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
        self._known_brains.add(brain_id)
        return version

    async def list_brains(self) -> list[Brain]:
        """Every brain in this storage, oldest first."""
        await self._ensure_open()
        return await self._list_brains()

    async def delete_brain(self, brain_id: str) -> bool:
        """Delete a brain and all its memories; False when it did not exist."""
        await self._ensure_open()
        self._known_brains.discard(brain_id)
        return await self._delete_brain(require_text(brain_id, "brain_id"))

    # -- batch -------------------------------------------------------------------------------

    async def write(self, batch: WriteBatch) -> int:
        """Apply ``batch`` to the current brain in one transaction; return the new change seq."""
        if not isinstance(batch, WriteBatch):
            raise ValidationError(f"expected a WriteBatch, got {type(batch).__name__}")
        check_batch(batch)
        brain_id = await self._current_brain()
        if batch.is_empty:
            return await self._get_change_seq(brain_id)
        if batch.has_access_deltas and not self._applies_access_deltas():
            neurons = frozenset(neuron_id for neuron_id, _ in batch.neuron_accesses)
            fibers = frozenset(batch.fiber_conducts)
            batch = as_record_updates(
                batch,
                await self._get_neurons(brain_id, neurons) if neurons else {},
                await self._get_fibers(brain_id, fibers) if fibers else {},
            )
        return await self._write(brain_id, batch)

    def _applies_access_deltas(self) -> bool:
        """True when ``_write`` applies ``neuron_accesses`` and ``fiber_conducts`` itself.

        Otherwise :meth:`write` rewrites them as record updates first (``_accesses.py``).
        """
        return False

    # -- neurons -----------------------------------------------------------------------------

    async def add_neuron(self, neuron: Neuron) -> None:
        """Insert ``neuron``; AlreadyExistsError when its id is taken."""
        await self.write(WriteBatch(insert_neurons=(_expect(neuron, Neuron),)))

    async def add_neurons(self, neurons: Iterable[Neuron]) -> None:
        """Insert several neurons at once (all or none)."""
        await self.write(WriteBatch(insert_neurons=tuple(_expect(n, Neuron) for n in neurons)))

    async def get_neuron(self, neuron_id: str) -> Neuron | None:
        """The neuron with ``neuron_id``, or None."""
        return (await self.get_neurons([neuron_id])).get(neuron_id)

    async def get_neurons(self, neuron_ids: Iterable[str]) -> dict[str, Neuron]:
        """The neurons that exist among ``neuron_ids``, by id."""
        ids = freeze_strings(neuron_ids, "neuron_ids")
        return await self._get_neurons(await self._current_brain(), ids) if ids else {}

    async def find_neurons(
        self,
        type: NeuronType | None = None,
        content: str | None = None,
        *,
        limit: int | None = None,
    ) -> list[Neuron]:
        """Neurons of ``type`` and/or with ``content`` (case-insensitive), oldest first."""
        kind = require_enum(type, NeuronType, "type") if type is not None else None
        query = NeuronFilter(type=kind, content=content, limit=_limit(limit))
        return await self._find_neurons(await self._current_brain(), query)

    async def update_neuron(self, neuron: Neuron) -> None:
        """Replace a stored neuron; NotFoundError when it does not exist."""
        await self.write(WriteBatch(update_neurons=(_expect(neuron, Neuron),)))

    async def delete_neuron(self, neuron_id: str) -> bool:
        """Delete a neuron and its synapses; refused while a fiber still binds it."""
        if await self.get_neuron(neuron_id) is None:
            return False
        if await self.find_fibers(neuron_id=neuron_id, limit=1):
            raise ValidationError(f"neuron {neuron_id!r} is bound by a fiber; delete it first")
        await self.write(WriteBatch(delete_neuron_ids=(neuron_id,)))
        return True

    # -- synapses ----------------------------------------------------------------------------

    async def add_synapse(self, synapse: Synapse) -> None:
        """Insert ``synapse``; NotFoundError when an endpoint neuron is missing."""
        await self.write(WriteBatch(insert_synapses=(_expect(synapse, Synapse),)))

    async def add_synapses(self, synapses: Iterable[Synapse]) -> None:
        """Insert several synapses at once (all or none)."""
        batch = WriteBatch(insert_synapses=tuple(_expect(s, Synapse) for s in synapses))
        await self.write(batch)

    async def get_synapse(self, synapse_id: str) -> Synapse | None:
        """The synapse with ``synapse_id``, or None."""
        ids = frozenset({require_text(synapse_id, "synapse_id")})
        return (await self._get_synapses(await self._current_brain(), ids)).get(synapse_id)

    async def get_synapses_by_id(self, synapse_ids: Iterable[str]) -> dict[str, Synapse]:
        """The synapses that exist among ``synapse_ids``, by id (one round-trip)."""
        ids = freeze_strings(synapse_ids, "synapse_ids")
        return await self._get_synapses(await self._current_brain(), ids) if ids else {}

    async def get_synapses(
        self,
        source_id: str | None = None,
        target_id: str | None = None,
        type: SynapseType | None = None,
        *,
        limit: int | None = None,
    ) -> list[Synapse]:
        """Synapses leaving ``source_id`` and/or reaching ``target_id``, of ``type``."""
        kind = require_enum(type, SynapseType, "type") if type is not None else None
        query = SynapseFilter(
            source_id=source_id, target_id=target_id, type=kind, limit=_limit(limit)
        )
        return await self._find_synapses(await self._current_brain(), query)

    async def get_synapses_for_neurons(self, neuron_ids: Iterable[str]) -> list[Synapse]:
        """Every synapse with either endpoint among ``neuron_ids`` (one round-trip)."""
        ids = freeze_strings(neuron_ids, "neuron_ids")
        return await self._synapses_touching(await self._current_brain(), ids) if ids else []

    async def update_synapse(self, synapse: Synapse) -> None:
        """Replace a stored synapse; NotFoundError when it does not exist."""
        await self.write(WriteBatch(update_synapses=(_expect(synapse, Synapse),)))

    async def delete_synapse(self, synapse_id: str) -> bool:
        """Delete a synapse; False when it did not exist."""
        if await self.get_synapse(synapse_id) is None:
            return False
        await self.write(WriteBatch(delete_synapse_ids=(synapse_id,)))
        return True

    # -- which ids exist ---------------------------------------------------------------------

    async def existing_neuron_ids(self, neuron_ids: Iterable[str]) -> set[str]:
        """The ids among ``neuron_ids`` of neurons the brain holds (one round-trip).

        Cheaper than :meth:`get_neurons` when only existence matters: no record is read.
        """
        ids = freeze_strings(neuron_ids, "neuron_ids")
        return await self._existing_neuron_ids(await self._current_brain(), ids) if ids else set()

    async def existing_synapse_ids(self, synapse_ids: Iterable[str]) -> set[str]:
        """The ids among ``synapse_ids`` of synapses the brain holds (one round-trip)."""
        ids = freeze_strings(synapse_ids, "synapse_ids")
        return await self._existing_synapse_ids(await self._current_brain(), ids) if ids else set()

    # -- fibers ------------------------------------------------------------------------------

    async def add_fiber(self, fiber: Fiber) -> None:
        """Insert ``fiber``; NotFoundError when one of its neurons is missing."""
        await self.write(WriteBatch(insert_fibers=(_expect(fiber, Fiber),)))

    async def get_fiber(self, fiber_id: str) -> Fiber | None:
        """The fiber with ``fiber_id``, or None."""
        return (await self.get_fibers([fiber_id])).get(fiber_id)

    async def get_fibers(self, fiber_ids: Iterable[str]) -> dict[str, Fiber]:
        """The fibers that exist among ``fiber_ids``, by id."""
        ids = freeze_strings(fiber_ids, "fiber_ids")
        return await self._get_fibers(await self._current_brain(), ids) if ids else {}

    async def find_fibers(
        self,
        neuron_id: str | None = None,
        tags: Iterable[str] | None = None,
        *,
        limit: int | None = None,
    ) -> list[Fiber]:
        """Fibers binding ``neuron_id`` and carrying all ``tags``, oldest first."""
        query = FiberFilter(
            neuron_id=neuron_id, tags=freeze_strings(tags, "tags"), limit=_limit(limit)
        )
        return await self._find_fibers(await self._current_brain(), query)

    async def update_fiber(self, fiber: Fiber) -> None:
        """Replace a stored fiber; NotFoundError when it does not exist."""
        await self.write(WriteBatch(update_fibers=(_expect(fiber, Fiber),)))

    async def delete_fiber(self, fiber_id: str) -> bool:
        """Delete a fiber (its neurons stay); False when it did not exist."""
        if await self.get_fiber(fiber_id) is None:
            return False
        await self.write(WriteBatch(delete_fiber_ids=(fiber_id,)))
        return True

    # -- typed memories ------------------------------------------------------------------------

    async def add_typed_memory(self, memory: TypedMemory) -> None:
        """Store ``memory`` (replacing one with the same id)."""
        await self.write(WriteBatch(put_typed_memories=(_expect(memory, TypedMemory),)))

    async def get_typed_memory(self, memory_id: str) -> TypedMemory | None:
        """The typed memory with ``memory_id``, or None."""
        ids = frozenset({require_text(memory_id, "memory_id")})
        found = await self._get_typed_memories(await self._current_brain(), ids)
        return found.get(memory_id)

    async def get_typed_memories(self, memory_ids: Iterable[str]) -> dict[str, TypedMemory]:
        """The typed memories that exist among ``memory_ids``, by id (one round-trip)."""
        ids = freeze_strings(memory_ids, "memory_ids")
        return await self._get_typed_memories(await self._current_brain(), ids) if ids else {}

    async def find_typed_memories(
        self,
        memory_type: MemoryType | None = None,
        min_priority: Priority | int | None = None,
        *,
        tags: Iterable[str] | None = None,
        project_id: str | None = None,
        include_expired: bool = False,
        now: datetime | None = None,
        limit: int | None = None,
        fiber_ids: Iterable[str] | None = None,
    ) -> list[TypedMemory]:
        """Typed memories matching every criterion, highest priority first, then newest.

        ``min_priority`` is any priority from 0 to 10 (levels between the named ones are
        valid thresholds: 6 keeps HIGH and CRITICAL memories); ``fiber_ids`` (None: any)
        keeps the memories of those fibers.
        """
        query = TypedMemoryFilter(
            memory_type=require_enum(memory_type, MemoryType, "memory_type")
            if memory_type is not None
            else None,
            min_priority=_min_priority(min_priority),
            tags=freeze_strings(tags, "tags"),
            project_id=project_id,
            fiber_ids=freeze_strings(fiber_ids, "fiber_ids") if fiber_ids is not None else None,
            not_expired_at=None if include_expired else as_utc(now or utcnow()),
            limit=_limit(limit),
        )
        return await self._find_typed_memories(await self._current_brain(), query)

    async def get_typed_memories_for_fibers(
        self, fiber_ids: Iterable[str]
    ) -> dict[str, TypedMemory]:
        """The typed memory of each fiber that has one, by fiber id (expired included)."""
        ids = freeze_strings(fiber_ids, "fiber_ids")
        if not ids:
            return {}
        query = TypedMemoryFilter(fiber_ids=ids)
        found = await self._find_typed_memories(await self._current_brain(), query)
        return {memory.fiber_id: memory for memory in found}

    async def update_typed_memory(self, memory: TypedMemory) -> None:
        """Replace a stored typed memory; NotFoundError when it does not exist."""
        if await self.get_typed_memory(memory.id) is None:
            raise NotFoundError(f"typed memory {memory.id!r} does not exist")
        await self.add_typed_memory(memory)

    async def delete_typed_memory(self, memory_id: str) -> bool:
        """Delete a typed memory (its fiber stays); False when it did not exist."""
        if await self.get_typed_memory(memory_id) is None:
            return False
        await self.write(WriteBatch(delete_typed_memory_ids=(memory_id,)))
        return True

    # -- projects ------------------------------------------------------------------------------

    async def add_project(self, project: Project) -> None:
        """Store ``project`` (replacing one with the same id)."""
        await self.write(WriteBatch(put_projects=(_expect(project, Project),)))

    async def get_project(self, project_id: str) -> Project | None:
        """The project with ``project_id``, or None."""
        ids = frozenset({require_text(project_id, "project_id")})
        found = await self._get_projects(await self._current_brain(), ids)
        return found[0] if found else None

    async def get_projects(self, project_ids: Iterable[str]) -> list[Project]:
        """The projects that exist among ``project_ids``, oldest first (one round-trip)."""
        ids = freeze_strings(project_ids, "project_ids")
        return await self._get_projects(await self._current_brain(), ids) if ids else []

    async def list_projects(self) -> list[Project]:
        """Every project of the brain, oldest first."""
        return await self._get_projects(await self._current_brain(), None)

    async def get_project_memories(
        self, project_id: str, *, include_expired: bool = False
    ) -> list[TypedMemory]:
        """The typed memories of a project, highest priority first."""
        return await self.find_typed_memories(
            project_id=require_text(project_id, "project_id"), include_expired=include_expired
        )

    async def delete_project(self, project_id: str) -> bool:
        """Delete a project (its memories stay, unassigned); False when it did not exist."""
        if await self.get_project(project_id) is None:
            return False
        await self.write(WriteBatch(delete_project_ids=(project_id,)))
        return True

    # -- alerts --------------------------------------------------------------------------------

    async def add_alerts(self, alerts: Iterable[Alert]) -> None:
        """Store new alerts (or replace ones with the same id)."""
        items = tuple(_expect(alert, Alert) for alert in alerts)
        for alert in items:
            check_record(alert)
        if items:
            await self._put_alerts(await self._current_brain(), items)

    async def get_alerts(
        self,
        *,
        statuses: Iterable[AlertStatus] | None = None,
        types: Iterable[AlertType | str] | None = None,
        limit: int | None = None,
        ids: Iterable[str] | None = None,
    ) -> list[Alert]:
        """Alerts with any of ``statuses``, ``types`` and ``ids`` (None: all), newest first."""
        query = AlertFilter(
            ids=freeze_strings(ids, "ids") if ids is not None else None,
            statuses=frozenset(require_enum(s, AlertStatus, "status") for s in statuses)
            if statuses is not None
            else None,
            types=_alert_types(types) if types is not None else None,
            limit=_limit(limit),
        )
        return await self._find_alerts(await self._current_brain(), query)

    async def get_active_alerts(self, limit: int = 50) -> list[Alert]:
        """Alerts still open (active or seen), newest first."""
        return await self.get_alerts(statuses=_OPEN_STATUSES, limit=limit)

    async def mark_alerts_seen(self, alert_ids: Sequence[str]) -> int:
        """Move active alerts to ``seen``; return how many changed."""
        return await self._transition(alert_ids, Alert.mark_seen)

    async def mark_alert_acknowledged(self, alert_id: str) -> bool:
        """Acknowledge an alert (it will not be auto-resolved); False when unknown."""
        return await self._transition([alert_id], Alert.acknowledge) == 1

    async def resolve_alerts_by_type(self, alert_types: Iterable[AlertType | str]) -> int:
        """Resolve open (active or seen, not acknowledged) alerts of these types."""
        brain_id = await self._current_brain()
        query = AlertFilter(statuses=_OPEN_STATUSES, types=_alert_types(alert_types))
        now = utcnow()
        resolved = tuple(alert.resolve(now) for alert in await self._find_alerts(brain_id, query))
        if resolved:
            await self._put_alerts(brain_id, resolved)
        return len(resolved)

    async def _transition(self, alert_ids: Sequence[str], change: _AlertChange) -> int:
        brain_id = await self._current_brain()
        ids = freeze_strings(alert_ids, "alert_ids")
        if not ids:
            return 0
        now = utcnow()
        found = await self._find_alerts(brain_id, AlertFilter(ids=ids))
        changed = tuple(new for old in found if (new := change(old, now)) != old)
        if changed:
            await self._put_alerts(brain_id, changed)
        return len(changed)

    # -- recall events, metadata -----------------------------------------------------------

    async def add_recall_event(self, event: RecallEvent) -> None:
        """Record one query and what it recalled."""
        check_record(_expect(event, RecallEvent))
        await self._add_recall_event(await self._current_brain(), event)

    async def get_recall_events(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RecallEvent]:
        """Recall events at or after ``since``, oldest first (the newest ``limit``)."""
        moment = as_utc(since) if since else None
        return await self._get_recall_events(await self._current_brain(), moment, _limit(limit))

    async def get_meta(self, key: str) -> JSONValue | None:
        """A JSON value stored under ``key`` for the current brain, or None."""
        return await self._get_meta(await self._current_brain(), require_text(key, "key"))

    async def set_meta(self, key: str, value: JSONValue) -> None:
        """Store a JSON-serialisable value under ``key`` for the current brain."""
        check_meta(require_text(key, "key"), value)
        await self._set_meta(await self._current_brain(), key, value)

    async def meta_keys(self) -> list[str]:
        """The keys of the current brain's meta values, sorted."""
        return await self._meta_keys(await self._current_brain())

    # -- vectors -------------------------------------------------------------------------------

    async def get_vectors(
        self, model: str, fiber_ids: Iterable[str] | None = None
    ) -> dict[str, npt.NDArray[np.float32]]:
        """The stored embeddings of ``model``, by fiber id (``fiber_ids`` None: all of them).

        Vectors are written with ``WriteBatch(put_vectors=...)``, in the same transaction as
        their memory, and deleted with it.
        """
        name = require_text(model, "model")
        ids = freeze_strings(fiber_ids, "fiber_ids") if fiber_ids is not None else None
        if ids is not None and not ids:
            return {}
        return await self._get_vectors(await self._current_brain(), name, ids)

    # -- change log, statistics ------------------------------------------------------------

    async def get_change_seq(self) -> int:
        """The current brain's latest change sequence number."""
        return await self._get_change_seq(await self._current_brain())

    async def get_changes(self, since: int) -> list[ChangeRecord] | None:
        """Change-log entries after ``since``; None when the log was trimmed past it."""
        return await self._get_changes(await self._current_brain(), since)

    async def get_graph_rows(self) -> GraphRows:
        """The current brain's neurons and synapses as plain tuples (for recall indexes)."""
        return await self._graph_rows(await self._current_brain())

    async def get_fiber_rows(self) -> FiberRows:
        """The current brain's memories as plain columns, oldest first (for recall indexes)."""
        return await self._fiber_rows(await self._current_brain())

    # -- recall-index snapshots ------------------------------------------------------------

    async def get_index_snapshot(self) -> IndexSnapshot | None:
        """The current brain's stored recall-index snapshot, or None.

        The engine saves its index here (:meth:`put_index_snapshot`) so that a new process
        loads it and replays the change log since, instead of rebuilding from every row.
        Deleted with the brain. A backend may keep none (then this is always None).
        """
        return await self._get_index_snapshot(await self._current_brain())

    async def put_index_snapshot(self, snapshot: IndexSnapshot) -> bool:
        """Store ``snapshot`` for the current brain, replacing the stored one.

        A stored snapshot of a later seq is kept instead (False is returned); True when
        ``snapshot`` was stored. The bytes are opaque to storage.
        """
        if not isinstance(snapshot, IndexSnapshot):
            raise ValidationError(f"expected an IndexSnapshot, got {type(snapshot).__name__}")
        seq = snapshot.seq
        if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
            raise ValidationError(f"snapshot seq must be a non-negative integer, got {seq!r}")
        if not isinstance(snapshot.data, bytes):
            raise ValidationError("snapshot data must be bytes")
        return await self._put_index_snapshot(await self._current_brain(), snapshot)

    async def get_stats(self, *, now: datetime | None = None) -> BrainStats:
        """Counts for the current brain (expiry judged at ``now``, default now)."""
        return await self._get_stats(await self._current_brain(), as_utc(now or utcnow()))


def _expect(value: object, kind: type[_T]) -> _T:
    if not isinstance(value, kind):
        raise ValidationError(f"expected a {kind.__name__}, got {type(value).__name__}")
    return value


def _limit(limit: int | None) -> int | None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(f"limit must be a non-negative integer, got {limit!r}")
    return limit


def _min_priority(value: Priority | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ValidationError(f"min_priority must be an integer from 0 to 10, got {value!r}")
    return int(value)


def _alert_types(types: Iterable[AlertType | str]) -> frozenset[AlertType]:
    if isinstance(types, str):
        raise ValidationError("alert types must be a list, not a single string")
    return frozenset(require_enum(t, AlertType, "alert type") for t in types)
