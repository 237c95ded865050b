"""Storage: the one async interface every backend offers, grouped by aggregate."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import freeze_strings, require_enum, require_text
from neural_memory.core.brain import Brain
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import check_record
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.synapse import Synapse, SynapseType
from neural_memory.errors import AlreadyExistsError, BrainNotFoundError, ValidationError
from neural_memory.storage._accesses import as_record_updates
from neural_memory.storage._core import FiberRows, GraphRows, IndexSnapshot
from neural_memory.storage._knowledge_api import KnowledgeStorage, expect, valid_limit
from neural_memory.storage._limits import check_batch, is_large
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import FiberFilter, NeuronFilter, SynapseFilter

__all__ = ["Storage"]


class Storage(KnowledgeStorage):
    """Async storage of brains and their graph, typed memories, projects and alerts.

    Brain-scoped methods work on the brain chosen with ``set_brain()``. Getters return None
    (or leave ids out of the mapping) for missing ids; ``update_*`` raises NotFoundError.
    Every write goes through :meth:`write`, which a backend applies as one transaction.
    Typed memories, projects, alerts, recall events and meta values are read and written
    through the methods of its base class ``KnowledgeStorage`` (``_knowledge_api.py``).
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
        """Apply ``batch`` to the current brain in one transaction; return the new change seq.

        A large batch is checked in a worker thread, so the event loop stays free meanwhile.
        """
        if not isinstance(batch, WriteBatch):
            raise ValidationError(f"expected a WriteBatch, got {type(batch).__name__}")
        if is_large(batch):
            await asyncio.to_thread(check_batch, batch)
        else:
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
        await self.write(WriteBatch(insert_neurons=(expect(neuron, Neuron),)))

    async def add_neurons(self, neurons: Iterable[Neuron]) -> None:
        """Insert several neurons at once (all or none)."""
        await self.write(WriteBatch(insert_neurons=tuple(expect(n, Neuron) for n in neurons)))

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
        query = NeuronFilter(type=kind, content=content, limit=valid_limit(limit))
        return await self._find_neurons(await self._current_brain(), query)

    async def update_neuron(self, neuron: Neuron) -> None:
        """Replace a stored neuron; NotFoundError when it does not exist."""
        await self.write(WriteBatch(update_neurons=(expect(neuron, Neuron),)))

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
        await self.write(WriteBatch(insert_synapses=(expect(synapse, Synapse),)))

    async def add_synapses(self, synapses: Iterable[Synapse]) -> None:
        """Insert several synapses at once (all or none)."""
        batch = WriteBatch(insert_synapses=tuple(expect(s, Synapse) for s in synapses))
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
            source_id=source_id, target_id=target_id, type=kind, limit=valid_limit(limit)
        )
        return await self._find_synapses(await self._current_brain(), query)

    async def get_synapses_for_neurons(self, neuron_ids: Iterable[str]) -> list[Synapse]:
        """Every synapse with either endpoint among ``neuron_ids`` (one round-trip)."""
        ids = freeze_strings(neuron_ids, "neuron_ids")
        return await self._synapses_touching(await self._current_brain(), ids) if ids else []

    async def update_synapse(self, synapse: Synapse) -> None:
        """Replace a stored synapse; NotFoundError when it does not exist."""
        await self.write(WriteBatch(update_synapses=(expect(synapse, Synapse),)))

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
        await self.write(WriteBatch(insert_fibers=(expect(fiber, Fiber),)))

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
        current: bool = False,
        limit: int | None = None,
    ) -> list[Fiber]:
        """Fibers binding ``neuron_id`` and carrying all ``tags``, oldest first.

        ``current=True`` leaves out fibers another fiber supersedes (older values of an
        updated fact), in the query itself: a fact stated many times costs only its current
        statements.
        """
        if not isinstance(current, bool):
            raise ValidationError(f"current must be a bool, got {type(current).__name__}")
        query = FiberFilter(
            neuron_id=neuron_id,
            tags=freeze_strings(tags, "tags"),
            current=current,
            limit=valid_limit(limit),
        )
        return await self._find_fibers(await self._current_brain(), query)

    async def update_fiber(self, fiber: Fiber) -> None:
        """Replace a stored fiber; NotFoundError when it does not exist."""
        await self.write(WriteBatch(update_fibers=(expect(fiber, Fiber),)))

    async def delete_fiber(self, fiber_id: str) -> bool:
        """Delete a fiber (its neurons stay); False when it did not exist."""
        if await self.get_fiber(fiber_id) is None:
            return False
        await self.write(WriteBatch(delete_fiber_ids=(fiber_id,)))
        return True

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
