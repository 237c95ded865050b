"""Find and mend what earlier versions let into a brain: dangling references, non-JSON values.

Brains written before the storage enforced :mod:`neural_memory.core.limits` and referential
integrity may hold fibers naming deleted neurons, or metadata holding NaN or infinity, which
later break recall, export and SharedStorage. :func:`scan_brain` finds them (read-only);
:func:`repair_brain` mends them in one write and records an alert saying what it changed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from neural_memory.core.alert import Alert, AlertSeverity, AlertType
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import MAX_TAGS, check_record
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["BrainDamage", "RepairReport", "repair_brain", "scan_brain"]

_R = TypeVar("_R", Neuron, Synapse, Fiber, TypedMemory)
_SHOWN = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class BrainDamage:
    """What :func:`scan_brain` found.

    Attributes:
        dangling: ``(fiber id, missing neuron ids)`` of fibers naming neurons that are gone.
        dangling_synapses: Ids of synapses with an endpoint neuron that is gone.
        invalid: ``(record id, reason)`` of records outside the limits (NaN metadata, ...).
    """

    dangling: tuple[tuple[str, tuple[str, ...]], ...] = ()
    dangling_synapses: tuple[str, ...] = ()
    invalid: tuple[tuple[str, str], ...] = ()

    @property
    def is_clean(self) -> bool:
        """True when nothing was found."""
        return not self.dangling and not self.dangling_synapses and not self.invalid

    def describe(self) -> str:
        """One line for an alert: counts and the first few ids."""
        parts = []
        if self.dangling:
            shown = ", ".join(fiber_id for fiber_id, _ in self.dangling[:_SHOWN])
            parts.append(f"{len(self.dangling)} fiber(s) naming deleted neurons ({shown})")
        if self.dangling_synapses:
            shown = ", ".join(self.dangling_synapses[:_SHOWN])
            parts.append(f"{len(self.dangling_synapses)} synapse(s) to deleted neurons ({shown})")
        if self.invalid:
            shown = ", ".join(record_id for record_id, _ in self.invalid[:_SHOWN])
            parts.append(f"{len(self.invalid)} record(s) outside the limits ({shown})")
        return "; ".join(parts) or "no damage"


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairReport:
    """What :func:`repair_brain` changed.

    Attributes:
        damage: What the scan found before the repair.
        rewritten_fibers: Fibers rewritten without their deleted neurons.
        deleted_fibers: Fibers deleted because none of their neurons was left.
        deleted_synapses: Synapses deleted because an endpoint neuron was gone.
        sanitized: Records whose metadata, tags or text were brought within the limits.
        unrepaired: Ids of damaged records left as they are (an id too long, ...).
        alert: The alert recording the repair (None when nothing was changed).
    """

    damage: BrainDamage
    rewritten_fibers: tuple[str, ...] = ()
    deleted_fibers: tuple[str, ...] = ()
    deleted_synapses: tuple[str, ...] = ()
    sanitized: tuple[str, ...] = ()
    unrepaired: tuple[str, ...] = ()
    alert: Alert | None = None


@dataclass(frozen=True, slots=True)
class _Contents:
    neurons: list[Neuron]
    synapses: list[Synapse]
    fibers: list[Fiber]
    typed_memories: list[TypedMemory]


async def scan_brain(storage: Storage) -> BrainDamage:
    """Dangling fiber references and out-of-limit records of the current brain (read-only)."""
    contents = await _read(storage)
    return _damage(contents)


async def repair_brain(storage: Storage, *, now: datetime | None = None) -> RepairReport:
    """Mend the current brain in one write and record an INFO alert saying what changed.

    A fiber naming deleted neurons is rewritten without them (deleted when none is left);
    metadata holding NaN, infinity or other non-JSON values has them replaced by null,
    tags beyond the limit are dropped and over-long texts are cut. A record that cannot be
    mended that way is left and listed in ``unrepaired``.
    """
    moment = as_utc(now) if now is not None else utcnow()
    contents = await _read(storage)
    damage = _damage(contents)
    if damage.is_clean:
        return RepairReport(damage=damage)
    neuron_ids = {neuron.id for neuron in contents.neurons}
    rewritten, deleted = _mend_fibers(contents.fibers, neuron_ids)
    invalid_ids = {record_id for record_id, _ in damage.invalid}
    fibers = {f.id: f for f in contents.fibers if f.id in invalid_ids and f.id not in deleted}
    fibers.update((fiber.id, fiber) for fiber in rewritten)
    neurons, failed_n = _sanitized([n for n in contents.neurons if n.id in invalid_ids])
    gone = set(damage.dangling_synapses)
    synapses, failed_s = _sanitized(
        [s for s in contents.synapses if s.id in invalid_ids and s.id not in gone]
    )
    memories, failed_t = _sanitized([t for t in contents.typed_memories if t.id in invalid_ids])
    mended_fibers, failed_f = _sanitized(list(fibers.values()))
    unrepaired = sorted({*failed_n, *failed_s, *failed_t, *failed_f})
    sanitized = sorted(invalid_ids - set(deleted) - gone - set(unrepaired))
    alert = _alert(damage, [f.id for f in rewritten], deleted, sanitized, unrepaired, moment)
    await storage.write(
        WriteBatch(
            update_neurons=tuple(neurons),
            update_synapses=tuple(synapses),
            update_fibers=tuple(f for f in mended_fibers if f.id not in deleted),
            put_typed_memories=tuple(memories),
            delete_fiber_ids=tuple(deleted),
            delete_synapse_ids=damage.dangling_synapses,
        )
    )
    await storage.add_alerts([alert])
    return RepairReport(
        damage=damage,
        rewritten_fibers=tuple(f.id for f in rewritten),
        deleted_fibers=tuple(deleted),
        deleted_synapses=damage.dangling_synapses,
        sanitized=tuple(sanitized),
        unrepaired=tuple(unrepaired),
        alert=alert,
    )


async def _read(storage: Storage) -> _Contents:
    neurons = await storage.find_neurons()
    ids = [neuron.id for neuron in neurons]
    synapses = await storage.get_synapses_for_neurons(ids) if ids else []
    return _Contents(
        neurons=neurons,
        synapses=synapses,
        fibers=await storage.find_fibers(),
        typed_memories=await storage.find_typed_memories(include_expired=True),
    )


def _damage(contents: _Contents) -> BrainDamage:
    neuron_ids = {neuron.id for neuron in contents.neurons}
    dangling = tuple(
        (fiber.id, tuple(sorted(fiber.neuron_ids - neuron_ids)))
        for fiber in contents.fibers
        if not fiber.neuron_ids <= neuron_ids
    )
    dangling_synapses = tuple(
        sorted(
            synapse.id
            for synapse in contents.synapses
            if not {synapse.source_id, synapse.target_id} <= neuron_ids
        )
    )
    invalid: list[tuple[str, str]] = []
    records: tuple[list[Any], ...] = (
        contents.neurons,
        contents.synapses,
        contents.fibers,
        contents.typed_memories,
    )
    for group in records:
        for record in group:
            try:
                check_record(record)
            except ValidationError as error:
                invalid.append((record.id, str(error)))
    return BrainDamage(
        dangling=dangling, dangling_synapses=dangling_synapses, invalid=tuple(invalid)
    )


def _mend_fibers(fibers: list[Fiber], neuron_ids: set[str]) -> tuple[list[Fiber], list[str]]:
    """Fibers rewritten without missing neurons, and the ids of fibers with none left."""
    rewritten: list[Fiber] = []
    deleted: list[str] = []
    for fiber in fibers:
        kept = fiber.neuron_ids & neuron_ids
        if kept == fiber.neuron_ids:
            continue
        if not kept:
            deleted.append(fiber.id)
            continue
        pathway = tuple(n for n in fiber.pathway if n in kept)
        anchor = fiber.anchor_neuron_id if fiber.anchor_neuron_id in kept else None
        anchor = anchor or (pathway[0] if pathway else min(kept))
        rewritten.append(replace(fiber, neuron_ids=kept, pathway=pathway, anchor_neuron_id=anchor))
    return rewritten, deleted


def _sanitized(records: list[_R]) -> tuple[list[_R], list[str]]:
    """The records brought within the limits, and the ids of those that could not be."""
    mended: list[_R] = []
    failed: list[str] = []
    for record in records:
        changes: dict[str, Any] = {"metadata": _plain(dict(record.metadata))}
        if isinstance(record, Fiber | TypedMemory) and len(record.tags) > MAX_TAGS:
            changes["tags"] = frozenset(sorted(record.tags)[:MAX_TAGS])
        candidate = replace(record, **changes)
        try:
            check_record(candidate)
        except ValidationError:
            failed.append(record.id)
            continue
        mended.append(candidate)
    return mended, failed


def _plain(value: Any) -> Any:
    """``value`` as plain JSON data: NaN and infinity become None, tuples lists, keys text."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if value is None or isinstance(value, str | int | bool):
        return value
    return str(value)


def _alert(
    damage: BrainDamage,
    rewritten: list[str],
    deleted: list[str],
    sanitized: list[str],
    unrepaired: list[str],
    moment: datetime,
) -> Alert:
    synapses = len(damage.dangling_synapses)
    changed = len(rewritten) + len(deleted) + synapses + len(sanitized)
    message = (
        f"brain repaired: {damage.describe()}. Rewrote {len(rewritten)} fiber(s) without "
        f"their deleted neurons, deleted {len(deleted)} fiber(s) left without neurons and "
        f"{synapses} synapse(s) to deleted neurons, brought {len(sanitized)} record(s) "
        "within the limits"
    )
    if unrepaired:
        shown = ", ".join(unrepaired[:_SHOWN])
        message += f"; {len(unrepaired)} left as they are ({shown})"
    return Alert.create(
        AlertType.BRAIN_REPAIRED,
        AlertSeverity.INFO,
        message,
        metric_value=float(changed),
        threshold=0.0,
        created_at=moment,
    )
