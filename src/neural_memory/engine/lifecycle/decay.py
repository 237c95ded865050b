"""DecayManager: Ebbinghaus forgetting for neurons, synapses and fibers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from neural_memory.core._validation import require_unit
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.engine._bulk_gc import collector_paused
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.lifecycle.curves import decay_factor, fiber_stability_days, retention
from neural_memory.errors import ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["DecayManager", "DecayReport"]

LAST_RUN_KEY = "lifecycle.decay.last_run"
_EPSILON = 1e-6


@dataclass(frozen=True, slots=True, kw_only=True)
class DecayReport:
    """What one decay pass changed (or, in a dry run, would change)."""

    neurons_decayed: int
    synapses_decayed: int
    fibers_decayed: int
    neurons_pruned: int
    synapses_pruned: int
    dry_run: bool
    duration_ms: float


class DecayManager:
    """Applies the forgetting curve to everything not used recently.

    Strength after ``t`` days of disuse is multiplied by ``e^(-decay_rate * t)``; a fiber
    decays more slowly the more often it was recalled and the more salient it is. Each pass
    only applies the time elapsed since the previous pass, so passes compose. Synapses whose
    weight falls below ``prune_threshold`` are removed, and so are weak neurons that no
    fiber binds and no synapse touches any more. Fibers are never deleted here.

    A pass is one atomic write, its "last run" mark included. Synapse weights move by
    deltas, so a link reinforced by another writer while the pass ran keeps that gain.

    Args:
        decay_rate: Fraction of strength lost per day (0-1).
        prune_threshold: Strength below which synapses and orphan neurons are pruned.
        min_age_days: Items used more recently than this are left alone.
    """

    def __init__(
        self, decay_rate: float = 0.1, prune_threshold: float = 0.01, min_age_days: float = 1.0
    ) -> None:
        self.decay_rate = require_unit(decay_rate, "decay_rate")
        self.prune_threshold = require_unit(prune_threshold, "prune_threshold")
        if isinstance(min_age_days, bool) or not isinstance(min_age_days, int | float):
            raise ValidationError("min_age_days must be a number")
        if min_age_days < 0:
            raise ValidationError("min_age_days must not be negative")
        self.min_age_days = float(min_age_days)

    async def apply_decay(
        self,
        storage: Storage | BrainHandle,
        dry_run: bool = False,
        *,
        now: datetime | None = None,
    ) -> DecayReport:
        """Decay the current brain of ``storage`` as of ``now`` (default: the clock).

        One atomic batch, synapse changes as deltas; planned again if another writer changed
        the brain meanwhile (:meth:`BrainHandle.write_planned`).
        """
        started = time.perf_counter()
        moment = as_utc(now) if now else utcnow()
        handle = BrainHandle.of(storage)
        with collector_paused():  # reads every record of the brain: see engine._bulk_gc
            report = await handle.write_planned(lambda: self._plan(handle, moment, dry_run))
        return replace(report, duration_ms=(time.perf_counter() - started) * 1000)

    async def _plan(
        self, handle: BrainHandle, moment: datetime, dry_run: bool
    ) -> tuple[WriteBatch | None, DecayReport]:
        """The brain's decay as of ``moment``: one batch (None for a dry run), and its counts.

        The brain is read on the event loop, the pass planned in a worker thread (pure and
        CPU-bound), so the loop answers others meanwhile.
        """
        storage = handle.storage
        stored = await storage.get_meta(LAST_RUN_KEY)
        last_run = datetime.fromisoformat(stored) if isinstance(stored, str) else None
        neurons = await storage.find_neurons()
        synapses = await storage.get_synapses()
        fibers = await handle.memories()
        plan = _Plan(self, moment, last_run)
        return await asyncio.to_thread(plan.batch, neurons, synapses, fibers, dry_run=dry_run)


def _without_synapses(
    fibers: Iterable[Fiber], decayed: Iterable[Fiber], pruned: set[str]
) -> tuple[Fiber, ...]:
    """The decayed fibers, and every fiber naming a pruned synapse rewritten without it.

    Storage refuses to delete a synapse a memory still names, so they go in one batch.
    """
    written = {fiber.id: fiber for fiber in decayed}
    for fiber in fibers:
        if not pruned.isdisjoint(fiber.synapse_ids):
            current = written.get(fiber.id, fiber)
            written[fiber.id] = replace(current, synapse_ids=current.synapse_ids - pruned)
    return tuple(written.values())


@dataclass(frozen=True, slots=True)
class _Plan:
    manager: DecayManager
    now: datetime
    last_run: datetime | None

    def _elapsed_days(self, last_used: datetime) -> float | None:
        """Days to decay for an item last used at ``last_used`` (None: too young)."""
        idle = (self.now - last_used).total_seconds() / 86_400
        if idle < self.manager.min_age_days:
            return None
        start = max(last_used, self.last_run) if self.last_run else last_used
        elapsed = (self.now - start).total_seconds() / 86_400
        return elapsed if elapsed > 0 else None

    def batch(
        self, neurons: list[Neuron], synapses: list[Synapse], fibers: list[Fiber], *, dry_run: bool
    ) -> tuple[WriteBatch | None, DecayReport]:
        """The pass over this brain (pure): one batch (None for a dry run), and its counts."""
        new_synapses, pruned_synapses = self.synapses(synapses)
        new_neurons = self.neurons(neurons)
        pruned_neurons = _orphans_to_prune(
            neurons, new_neurons, synapses, pruned_synapses, fibers, self.manager.prune_threshold
        )
        new_fibers = self.fibers(fibers)
        report = DecayReport(
            neurons_decayed=len(new_neurons),
            synapses_decayed=len(new_synapses),
            fibers_decayed=len(new_fibers),
            neurons_pruned=len(pruned_neurons),
            synapses_pruned=len(pruned_synapses),
            dry_run=dry_run,
            duration_ms=0.0,  # the run's, set once it has written
        )
        if dry_run:
            return None, report
        unlinked = _without_synapses(fibers, new_fibers, set(pruned_synapses))
        old = {s.id: s.weight for s in synapses}
        pruned = set(pruned_neurons)
        batch = WriteBatch(
            update_neurons=tuple(n for n in new_neurons if n.id not in pruned),
            synapse_deltas=tuple((s.id, s.weight - old[s.id]) for s in new_synapses),
            update_fibers=unlinked,
            delete_synapse_ids=tuple(pruned_synapses),
            delete_neuron_ids=tuple(pruned_neurons),
            put_meta=((LAST_RUN_KEY, self.now.isoformat()),),
        )
        return batch, report

    def neurons(self, neurons: Iterable[Neuron]) -> list[Neuron]:
        changed = []
        for neuron in neurons:
            days = self._elapsed_days(neuron.last_accessed or neuron.created_at)
            if days is not None:
                value = neuron.activation * decay_factor(self.manager.decay_rate, days)
                if neuron.activation - value > _EPSILON:
                    changed.append(neuron.with_activation(value))
        return changed

    def synapses(self, synapses: Iterable[Synapse]) -> tuple[list[Synapse], list[str]]:
        changed, pruned = [], []
        for synapse in synapses:
            days = self._elapsed_days(synapse.last_activated or synapse.created_at)
            if days is None:
                continue
            value = synapse.weight * decay_factor(self.manager.decay_rate, days)
            if value < self.manager.prune_threshold:
                pruned.append(synapse.id)
            elif synapse.weight - value > _EPSILON:
                changed.append(synapse.with_weight(value))
        return changed, pruned

    def fibers(self, fibers: Iterable[Fiber]) -> list[Fiber]:
        changed = []
        for fiber in fibers:
            days = self._elapsed_days(fiber.last_used)
            if days is None:
                continue
            stability = fiber_stability_days(
                self.manager.decay_rate, fiber.access_count, fiber.salience
            )
            value = fiber.conductivity * retention(days, stability)
            if fiber.conductivity - value > _EPSILON:
                changed.append(replace(fiber, conductivity=value))
        return changed


def _orphans_to_prune(
    neurons: list[Neuron],
    decayed: list[Neuron],
    synapses: list[Synapse],
    pruned_synapses: list[str],
    fibers: list[Fiber],
    threshold: float,
) -> list[str]:
    strength = {n.id: n.activation for n in neurons} | {n.id: n.activation for n in decayed}
    gone = set(pruned_synapses)
    connected = {end for s in synapses if s.id not in gone for end in (s.source_id, s.target_id)}
    bound = {neuron_id for fiber in fibers for neuron_id in fiber.neuron_ids}
    return sorted(
        neuron_id
        for neuron_id, value in strength.items()
        if value < threshold and neuron_id not in connected and neuron_id not in bound
    )
