"""ConsolidationEngine: the idle "sleep" that keeps what matters and prunes the rest."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, replace
from datetime import datetime

from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.events import RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.engine._bulk_gc import collector_paused
from neural_memory.engine.consolidation.strategies import (
    Changes,
    plan_duplicates,
    plan_expiry,
    plan_maturation,
    plan_orphans,
    plan_promotion,
    plan_replay,
    plan_successors,
    plan_supersession,
)
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.lifecycle.decay import DecayManager
from neural_memory.errors import ConfigError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["ConsolidationEngine", "ConsolidationPolicy", "ConsolidationReport", "consolidate"]

_LAST_RUN_KEY = "consolidation.last_run"
_REPLAYED_KEY = "consolidation.replayed_until"
"""When the newest recall event replayed so far was recorded (events are replayed once)."""
_PROMOTED_KEY = "consolidation.promoted"


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsolidationPolicy:
    """What a consolidation run does.

    Attributes:
        min_recalls_to_mature: Recalls after which an episodic memory becomes semantic.
        min_mentions_to_promote: Memories (over at least two days) that turn a repeated
            detail into a semantic concept memory.
        apply_decay: Also run the forgetting curve (``DecayManager``) as part of sleep.
    """

    min_recalls_to_mature: int = 3
    min_mentions_to_promote: int = 5
    apply_decay: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsolidationReport:
    """What one consolidation run changed."""

    expired: int
    duplicates_merged: int
    facts_superseded: int
    paths_strengthened: int
    memories_matured: int
    concepts_promoted: int
    orphans_linked: int
    orphans_pruned: int
    decay_applied: bool
    duration_ms: float


class ConsolidationEngine:
    """Runs every consolidation pass over the storage's current brain, in one transaction.

    Passes: expire what has expired; merge duplicate memories (never dropping a fact: the
    kept memory counts every mention); supersede older values of an updated fact (the chain
    stays reachable); strengthen paths between memories recalled together; mature often
    recalled episodic memories into semantic ones; promote details repeated across days into
    concept memories; link or prune orphan neurons; then apply decay.

    The passes' changes and the run's bookkeeping (when it ran, what it promoted) are one
    atomic write, and decay is another: a run killed half-way leaves either everything or
    nothing of each, so no recall event is replayed twice. Link strengthening is written as
    deltas, so reinforcements made meanwhile by other writers are kept; a batch refused
    because another writer changed the brain meanwhile is planned again
    (:meth:`BrainHandle.write_planned`).
    """

    def __init__(
        self,
        storage: Storage | BrainHandle,
        config: BrainConfig | None = None,
        policy: ConsolidationPolicy | None = None,
    ) -> None:
        if not isinstance(storage, Storage | BrainHandle):
            raise ConfigError(f"storage must be a Storage or a BrainHandle, got {storage!r}")
        self._storage = storage
        self._config = config or BrainConfig()
        self._policy = policy or ConsolidationPolicy()
        self._lock = asyncio.Lock()

    async def run(self, *, now: datetime | None = None) -> ConsolidationReport:
        """Consolidate the current brain as of ``now`` (default: the clock)."""
        async with self._lock:
            return await self._run(as_utc(now) if now else utcnow())

    async def _run(self, now: datetime) -> ConsolidationReport:
        started = time.perf_counter()
        handle = BrainHandle.of(self._storage)
        with collector_paused():  # reads every record of the brain: see engine._bulk_gc
            report = await handle.write_planned(lambda: self._plan(handle, now))
        if self._policy.apply_decay:
            await DecayManager(decay_rate=self._config.decay_rate).apply_decay(handle, now=now)
        return replace(report, duration_ms=(time.perf_counter() - started) * 1000)

    async def _plan(
        self, handle: BrainHandle, now: datetime
    ) -> tuple[WriteBatch, ConsolidationReport]:
        """Every pass planned on the brain as it is now: one batch, and what it changes.

        The brain is read on the event loop; the passes, pure and CPU-bound (about a second
        for 30,000 memories), run in a worker thread, so a server's health checks and other
        users' recalls are answered meanwhile.
        """
        storage = handle.storage
        fibers = await handle.memories()
        neurons = await storage.find_neurons()
        synapses = await storage.get_synapses()
        memories = await storage.find_typed_memories(include_expired=True)
        since = _moment(await storage.get_meta(_REPLAYED_KEY))
        if since is None:  # a brain consolidated by an earlier release
            since = _moment(await storage.get_meta(_LAST_RUN_KEY))
        events = [
            e
            for e in await storage.get_recall_events(since=since)
            if since is None or e.created_at > since
        ]
        promoted = set(await storage.get_meta(_PROMOTED_KEY) or [])
        brain = _Brain(fibers, neurons, synapses, memories, events, promoted)
        return await asyncio.to_thread(
            _planned, brain, since, now, self._config.reinforcement_delta, self._policy
        )


@dataclass(frozen=True, slots=True)
class _Brain:
    """What consolidation reads of a brain before it plans."""

    fibers: list[Fiber]
    neurons: list[Neuron]
    synapses: list[Synapse]
    memories: list[TypedMemory]
    events: list[RecallEvent]
    """The recall events not replayed yet."""
    promoted: set[str]


def _planned(
    brain: _Brain,
    since: datetime | None,
    now: datetime,
    reinforcement_delta: float,
    policy: ConsolidationPolicy,
) -> tuple[WriteBatch, ConsolidationReport]:
    """Every pass planned on ``brain`` (pure: no I/O): one batch, and what it changes."""
    fibers, neurons, promoted = brain.fibers, brain.neurons, set(brain.promoted)
    changes = Changes()
    expired = plan_expiry(brain.memories, now, changes)
    merged = plan_duplicates(fibers, {m.fiber_id: m for m in brain.memories}, changes)
    alive = [f for f in fibers if f.id not in changes.delete_fibers]
    superseded = plan_supersession(alive, changes)
    by_id = {f.id: f for f in alive}
    replayed = plan_replay(brain.events, by_id, reinforcement_delta, changes)
    matured = plan_maturation(alive, policy.min_recalls_to_mature, changes)
    concepts = plan_promotion(
        alive,
        {n.id: n for n in neurons},
        promoted,
        policy.min_mentions_to_promote,
        now,
        changes,
    )
    linked, pruned = plan_orphans(neurons, brain.synapses, fibers, changes)
    plan_successors(fibers, changes)
    replayed_until = max((e.created_at for e in brain.events), default=since)
    bookkeeping: tuple[tuple[str, object], ...] = (
        (_PROMOTED_KEY, sorted(promoted)),
        (_LAST_RUN_KEY, now.isoformat()),
    )
    if replayed_until is not None:
        bookkeeping += ((_REPLAYED_KEY, replayed_until.isoformat()),)
    report = ConsolidationReport(
        expired=expired,
        duplicates_merged=merged,
        facts_superseded=superseded,
        paths_strengthened=replayed,
        memories_matured=matured,
        concepts_promoted=concepts,
        orphans_linked=linked,
        orphans_pruned=pruned,
        decay_applied=policy.apply_decay,
        duration_ms=0.0,  # the run's, set once it has written
    )
    return _batch(changes, bookkeeping), report


async def consolidate(
    storage: Storage | BrainHandle,
    config: BrainConfig | None = None,
    *,
    policy: ConsolidationPolicy | None = None,
    now: datetime | None = None,
) -> ConsolidationReport:
    """Run one consolidation of the storage's current brain (see ConsolidationEngine)."""
    return await ConsolidationEngine(storage, config, policy).run(now=now)


def _moment(value: object) -> datetime | None:
    """A timestamp stored as ISO text (None for anything else)."""
    if not isinstance(value, str):
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _batch(changes: Changes, meta: tuple[tuple[str, object], ...]) -> WriteBatch:
    deleted = changes.delete_fibers
    return WriteBatch(
        ensure_neurons=tuple(changes.ensure_neurons),
        ensure_synapses=tuple(changes.ensure_synapses),
        synapse_deltas=tuple(changes.synapse_deltas.items()),
        insert_fibers=tuple(changes.insert_fibers),
        update_fibers=tuple(f for f in changes.update_fibers.values() if f.id not in deleted),
        put_typed_memories=tuple(changes.put_typed_memories),
        delete_fiber_ids=tuple(sorted(deleted)),
        delete_typed_memory_ids=tuple(sorted(changes.delete_typed_memories)),
        delete_neuron_ids=tuple(sorted(changes.delete_neurons)),
        put_meta=meta,
    )
