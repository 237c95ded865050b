"""Find and mend what earlier versions let into a brain: dangling references, non-JSON values.

Brains written before the storage enforced :mod:`neural_memory.core.limits` and referential
integrity (``storage/_integrity.py``) may hold fibers naming deleted neurons or synapses,
fibers superseded by deleted fibers, typed memories of deleted fibers, synapses to deleted
neurons, and metadata or meta values holding NaN, infinity or more than the limits allow,
which later break recall, export and SharedStorage. :func:`scan_brain` finds them
(read-only); :func:`repair_brain` mends them in one write and records an alert saying what
it changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, TypeVar

from neural_memory.core.alert import Alert, AlertSeverity, AlertType
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import RESERVED_KEYS, check_reserved
from neural_memory.core.limits import MAX_TAGS, check_record
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import ValidationError
from neural_memory.storage._core import JSONValue
from neural_memory.storage._limits import check_meta
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["BrainDamage", "RepairReport", "repair_brain", "scan_brain"]

_R = TypeVar("_R", Neuron, Synapse, Fiber, TypedMemory)
_SHOWN = 5
_Pairs = tuple[tuple[str, str], ...]

INVALID_RESERVED_KEY = "invalid_reserved"
"""Where repair keeps a fiber's reserved metadata values of the wrong kind (key -> value)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrainDamage:
    """What :func:`scan_brain` found.

    Attributes:
        dangling: ``(fiber id, missing neuron ids)`` of fibers naming neurons that are gone.
        dangling_synapses: Ids of synapses with an endpoint neuron that is gone.
        stray_synapses: ``(fiber id, synapse ids)`` of fibers naming synapses that are gone
            (or go with a deleted neuron) or that do not join two of the fiber's neurons.
        dangling_successors: ``(fiber id, successor id)`` of fibers whose ``superseded_by``
            names a fiber that is gone (or the fiber itself).
        orphan_memories: ``(typed memory id, fiber id)`` of typed memories of a missing fiber.
        invalid: ``(record id, reason)`` of records outside the limits (NaN metadata, ...).
        invalid_meta: ``(key, reason)`` of meta values that are not JSON data within the
            limits (NaN, infinity, too large).
    """

    dangling: tuple[tuple[str, tuple[str, ...]], ...] = ()
    dangling_synapses: tuple[str, ...] = ()
    stray_synapses: tuple[tuple[str, tuple[str, ...]], ...] = ()
    dangling_successors: _Pairs = ()
    orphan_memories: _Pairs = ()
    invalid: _Pairs = ()
    invalid_meta: _Pairs = ()

    @property
    def is_clean(self) -> bool:
        """True when nothing was found."""
        return self.count == 0

    @property
    def count(self) -> int:
        """How many damaged records and meta values were found."""
        return sum(
            len(found)
            for found in (
                self.dangling,
                self.dangling_synapses,
                self.stray_synapses,
                self.dangling_successors,
                self.orphan_memories,
                self.invalid,
                self.invalid_meta,
            )
        )

    def describe(self) -> str:
        """One line for an alert: counts and the first few ids."""
        parts = [
            _listed(self.dangling, "fiber(s) naming deleted neurons"),
            _listed(self.dangling_synapses, "synapse(s) to deleted neurons"),
            _listed(self.stray_synapses, "fiber(s) naming deleted or foreign synapses"),
            _listed(self.dangling_successors, "fiber(s) superseded by deleted fibers"),
            _listed(self.orphan_memories, "typed memory(ies) of deleted fibers"),
            _listed(self.invalid, "record(s) outside the limits"),
            _listed(self.invalid_meta, "meta value(s) that are not JSON data within the limits"),
        ]
        return "; ".join(part for part in parts if part) or "no damage"


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairReport:
    """What :func:`repair_brain` changed.

    Attributes:
        damage: What the scan found before the repair.
        rewritten_fibers: Fibers rewritten without their deleted neurons, deleted or foreign
            synapses and deleted successors (``superseded_by`` cleared).
        deleted_fibers: Fibers deleted because none of their neurons was left.
        deleted_synapses: Synapses deleted because an endpoint neuron was gone.
        deleted_memories: Typed memories deleted because their fiber was gone (or deleted).
        sanitized: Records whose metadata, tags or text were brought within the limits.
        mended_meta: Meta keys whose values were made JSON data (NaN and infinity became
            null) or, when that was not enough, reset to null.
        unrepaired: Ids of damaged records left as they are (an id too long, ...).
        alert: The alert recording the repair (None when nothing was changed).
    """

    damage: BrainDamage
    rewritten_fibers: tuple[str, ...] = ()
    deleted_fibers: tuple[str, ...] = ()
    deleted_synapses: tuple[str, ...] = ()
    deleted_memories: tuple[str, ...] = ()
    sanitized: tuple[str, ...] = ()
    mended_meta: tuple[str, ...] = ()
    unrepaired: tuple[str, ...] = ()
    alert: Alert | None = None


@dataclass(frozen=True, slots=True)
class _Contents:
    neurons: list[Neuron]
    synapses: list[Synapse]
    fibers: list[Fiber]
    typed_memories: list[TypedMemory]
    meta: list[tuple[str, JSONValue | ValidationError]]
    """Each meta key with its value, or the error reading it raised."""


async def scan_brain(storage: Storage) -> BrainDamage:
    """Dangling references and out-of-limit records and meta values of the current brain."""
    return _damage(await _read(storage))


async def repair_brain(storage: Storage, *, now: datetime | None = None) -> RepairReport:
    """Mend the current brain in one write and record an INFO alert saying what changed.

    A fiber naming deleted neurons is rewritten without them (deleted when none is left),
    and without the synapses that are gone or do not join two of its remaining neurons; a
    ``superseded_by`` naming a deleted fiber is cleared; typed memories of deleted fibers
    and synapses to deleted neurons are deleted. Metadata and meta values holding NaN,
    infinity or other non-JSON values have them replaced by null (a meta value still
    outside the limits is reset to null), tags beyond the limit are dropped and over-long
    texts are cut. A fiber's reserved metadata values of the wrong kind (stored by an
    earlier release, see ``core.fiber_metadata``) move under
    ``metadata["invalid_reserved"]``. A record that cannot be mended that way is left and
    listed in ``unrepaired``.
    """
    moment = as_utc(now) if now is not None else utcnow()
    contents = await _read(storage)
    damage = _damage(contents)
    if damage.is_clean:
        return RepairReport(damage=damage)
    neuron_ids = {neuron.id for neuron in contents.neurons}
    gone = set(damage.dangling_synapses)
    ends = {s.id: (s.source_id, s.target_id) for s in contents.synapses if s.id not in gone}
    deleted = sorted(f.id for f in contents.fibers if not f.neuron_ids & neuron_ids)
    kept_fibers = {f.id for f in contents.fibers} - set(deleted)
    rewritten = [
        mended
        for fiber in contents.fibers
        if fiber.id in kept_fibers
        and (mended := _mended_fiber(fiber, neuron_ids, ends, kept_fibers)) != fiber
    ]
    invalid_ids = {record_id for record_id, _ in damage.invalid}
    fibers = {f.id: f for f in contents.fibers if f.id in invalid_ids and f.id in kept_fibers}
    fibers.update((fiber.id, fiber) for fiber in rewritten)
    neurons, failed_n = _sanitized([n for n in contents.neurons if n.id in invalid_ids])
    synapses, failed_s = _sanitized(
        [s for s in contents.synapses if s.id in invalid_ids and s.id not in gone]
    )
    dropped = sorted(m.id for m in contents.typed_memories if m.fiber_id not in kept_fibers)
    memories, failed_t = _sanitized(
        [t for t in contents.typed_memories if t.id in invalid_ids and t.id not in dropped]
    )
    mended_fibers, failed_f = _sanitized(list(fibers.values()))
    unrepaired = sorted({*failed_n, *failed_s, *failed_t, *failed_f})
    sanitized = sorted(invalid_ids - set(deleted) - gone - set(dropped) - set(unrepaired))
    meta = _mended_meta(dict(damage.invalid_meta), contents.meta)
    report = RepairReport(
        damage=damage,
        rewritten_fibers=tuple(sorted(f.id for f in rewritten)),
        deleted_fibers=tuple(deleted),
        deleted_synapses=damage.dangling_synapses,
        deleted_memories=tuple(dropped),
        sanitized=tuple(sanitized),
        mended_meta=tuple(key for key, _ in meta),
        unrepaired=tuple(unrepaired),
    )
    await storage.write(
        WriteBatch(
            update_neurons=tuple(neurons),
            update_synapses=tuple(synapses),
            update_fibers=tuple(mended_fibers),
            put_typed_memories=tuple(memories),
            delete_fiber_ids=tuple(deleted),
            delete_synapse_ids=damage.dangling_synapses,
            delete_typed_memory_ids=tuple(dropped),
            put_meta=meta,
        )
    )
    alert = _alert(report, moment)
    await storage.add_alerts([alert])
    return replace(report, alert=alert)


async def _read(storage: Storage) -> _Contents:
    meta: list[tuple[str, JSONValue | ValidationError]] = []
    for key in await storage.meta_keys():
        try:
            meta.append((key, await storage.get_meta(key)))
        except ValidationError as error:  # a value the backend cannot even decode
            meta.append((key, error))
    return _Contents(
        neurons=await storage.find_neurons(),
        synapses=await storage.get_synapses(),
        fibers=await storage.find_fibers(),
        typed_memories=await storage.find_typed_memories(include_expired=True),
        meta=meta,
    )


def _damage(contents: _Contents) -> BrainDamage:
    neuron_ids = {neuron.id for neuron in contents.neurons}
    fiber_ids = {fiber.id for fiber in contents.fibers}
    dangling_synapses = tuple(
        sorted(
            synapse.id
            for synapse in contents.synapses
            if not {synapse.source_id, synapse.target_id} <= neuron_ids
        )
    )
    gone = set(dangling_synapses)
    ends = {s.id: (s.source_id, s.target_id) for s in contents.synapses if s.id not in gone}
    return BrainDamage(
        dangling=tuple(
            (fiber.id, tuple(sorted(fiber.neuron_ids - neuron_ids)))
            for fiber in contents.fibers
            if not fiber.neuron_ids <= neuron_ids
        ),
        dangling_synapses=dangling_synapses,
        stray_synapses=tuple(
            (fiber.id, stray)
            for fiber in contents.fibers
            if (stray := _stray_synapses(fiber, fiber.neuron_ids, ends))
        ),
        dangling_successors=tuple(
            (fiber.id, fiber.superseded_by)
            for fiber in contents.fibers
            if fiber.superseded_by is not None
            and (fiber.superseded_by not in fiber_ids or fiber.superseded_by == fiber.id)
        ),
        orphan_memories=tuple(
            (memory.id, memory.fiber_id)
            for memory in contents.typed_memories
            if memory.fiber_id not in fiber_ids
        ),
        invalid=tuple(_invalid_records(contents)),
        invalid_meta=tuple(_invalid_meta(contents.meta)),
    )


def _invalid_records(contents: _Contents) -> Iterable[tuple[str, str]]:
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
                if isinstance(record, Fiber):
                    check_reserved(record.metadata)
            except ValidationError as error:
                yield record.id, str(error)


def _invalid_meta(
    meta: Iterable[tuple[str, JSONValue | ValidationError]],
) -> Iterable[tuple[str, str]]:
    for key, value in meta:
        if isinstance(value, ValidationError):
            yield key, str(value)
            continue
        try:
            check_meta(key, value)
        except ValidationError as error:
            yield key, str(error)


def _stray_synapses(
    fiber: Fiber, neuron_ids: frozenset[str], ends: Mapping[str, tuple[str, str]]
) -> tuple[str, ...]:
    """The synapses ``fiber`` names that are gone or do not join two of ``neuron_ids``."""
    return tuple(
        sorted(
            synapse_id
            for synapse_id in fiber.synapse_ids
            if synapse_id not in ends or not set(ends[synapse_id]) <= neuron_ids
        )
    )


def _mended_fiber(
    fiber: Fiber,
    neuron_ids: set[str],
    ends: Mapping[str, tuple[str, str]],
    fiber_ids: set[str],
) -> Fiber:
    """``fiber`` without missing neurons, stray synapses and a deleted successor."""
    kept = fiber.neuron_ids & neuron_ids
    pathway = tuple(n for n in fiber.pathway if n in kept)
    anchor = fiber.anchor_neuron_id if fiber.anchor_neuron_id in kept else None
    successor = fiber.superseded_by
    if successor is not None and (successor not in fiber_ids or successor == fiber.id):
        successor = None
    return replace(
        fiber,
        neuron_ids=kept,
        synapse_ids=fiber.synapse_ids - set(_stray_synapses(fiber, kept, ends)),
        pathway=pathway,
        anchor_neuron_id=anchor or (pathway[0] if pathway else min(kept)),
        superseded_by=successor,
    )


def _mended_meta(
    invalid: Mapping[str, str], meta: Iterable[tuple[str, JSONValue | ValidationError]]
) -> tuple[tuple[str, JSONValue], ...]:
    """The new values of the invalid meta keys: plain JSON data when that fits, else null."""
    mended: list[tuple[str, JSONValue]] = []
    for key, value in meta:
        if key not in invalid:
            continue
        plain = None if isinstance(value, ValidationError) else _plain(value)
        try:
            check_meta(key, plain)
        except ValidationError:
            plain = None
        mended.append((key, plain))
    return tuple(mended)


def _sanitized(records: list[_R]) -> tuple[list[_R], list[str]]:
    """The records brought within the limits, and the ids of those that could not be."""
    mended: list[_R] = []
    failed: list[str] = []
    for record in records:
        metadata = _plain(dict(record.metadata))
        changes: dict[str, Any] = {
            "metadata": _unreserved(metadata) if isinstance(record, Fiber) else metadata
        }
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


def _unreserved(metadata: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with reserved keys of the wrong kind moved under ``INVALID_RESERVED_KEY``.

    An earlier release stored whatever a caller passed; the values are kept, where nothing
    reads them as the engine's own.
    """
    wrong = {
        name: value
        for name, value in metadata.items()
        if name in RESERVED_KEYS and RESERVED_KEYS[name].get({name: value}) is None
    }
    if not wrong:
        return metadata
    kept = {name: value for name, value in metadata.items() if name not in wrong}
    earlier = kept.get(INVALID_RESERVED_KEY)
    moved = {**earlier, **wrong} if isinstance(earlier, dict) else wrong
    return {**kept, INVALID_RESERVED_KEY: moved}


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


def _listed(found: tuple[Any, ...], what: str) -> str:
    """``"<count> <what> (<first ids>)"``, or "" when nothing was found."""
    if not found:
        return ""
    ids = [item if isinstance(item, str) else item[0] for item in found[:_SHOWN]]
    return f"{len(found)} {what} ({', '.join(ids)})"


def _alert(report: RepairReport, moment: datetime) -> Alert:
    changes = (
        (report.rewritten_fibers, "rewrote {} fiber(s) without deleted references"),
        (report.deleted_fibers, "deleted {} fiber(s) left without neurons"),
        (report.deleted_synapses, "deleted {} synapse(s) to deleted neurons"),
        (report.deleted_memories, "deleted {} typed memory(ies) of deleted fibers"),
        (report.sanitized, "brought {} record(s) within the limits"),
        (report.mended_meta, "mended {} meta value(s)"),
    )
    done = [f"{what.format(len(ids))} ({', '.join(ids[:_SHOWN])})" for ids, what in changes if ids]
    message = f"brain repaired: {report.damage.describe()}. Changes: {'; '.join(done)}"
    if report.unrepaired:
        shown = ", ".join(report.unrepaired[:_SHOWN])
        message += f"; {len(report.unrepaired)} left as they are ({shown})"
    return Alert.create(
        AlertType.BRAIN_REPAIRED,
        AlertSeverity.INFO,
        message,
        metric_value=float(sum(len(ids) for ids, _ in changes)),
        threshold=0.0,
        created_at=moment,
    )
