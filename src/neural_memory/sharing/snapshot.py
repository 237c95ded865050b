"""BrainSnapshot: a whole brain as values, and its versioned JSON form.

The JSON layout is documented in ``docs/export-format.md``. :func:`snapshot_from_json`
parses and :func:`validate_snapshot` checks everything an import relies on (format and
version, JSON types, size limits, unique ids, synapse endpoints and fiber neurons present),
raising :class:`~neural_memory.errors.SnapshotFormatError` with a clear message.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from neural_memory.codec import (
    decode_record,
    decode_records,
    decode_time,
    encode_record,
    encode_time,
    require_fields,
)
from neural_memory.core.brain import Brain
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import check_record, check_records
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import SnapshotFormatError, ValidationError
from neural_memory.sharing import limits

__all__ = [
    "BrainSnapshot",
    "checked_snapshot",
    "snapshot_from_json",
    "snapshot_to_json",
    "validate_snapshot",
]

_SECTIONS: dict[str, tuple[type, int]] = {
    "neurons": (Neuron, limits.MAX_NEURONS),
    "synapses": (Synapse, limits.MAX_SYNAPSES),
    "fibers": (Fiber, limits.MAX_FIBERS),
    "typed_memories": (TypedMemory, limits.MAX_TYPED_MEMORIES),
    "projects": (Project, limits.MAX_PROJECTS),
}
_Entity = Neuron | Synapse | Fiber | TypedMemory | Project
_TOP_LEVEL = frozenset({"format", "version", "exported_at", "brain", *_SECTIONS})


@dataclass(frozen=True, slots=True, kw_only=True)
class BrainSnapshot:
    """Everything of one brain: the brain with its config and all its entities.

    Alerts, recall events and stored meta values (such as learned query patterns) are
    operational records of the source storage and are not part of a snapshot.
    """

    brain: Brain
    neurons: tuple[Neuron, ...] = ()
    synapses: tuple[Synapse, ...] = ()
    fibers: tuple[Fiber, ...] = ()
    typed_memories: tuple[TypedMemory, ...] = ()
    projects: tuple[Project, ...] = ()
    exported_at: datetime = field(default_factory=utcnow)
    version: int = limits.SNAPSHOT_FORMAT_VERSION
    _checked: bool = field(default=False, init=False, repr=False, compare=False)
    """Set by :func:`validate_snapshot` when the snapshot passed (never copied by replace)."""

    def to_json(self) -> str:
        """Return this snapshot as JSON text (see :func:`snapshot_to_json`)."""
        return snapshot_to_json(self)

    @classmethod
    def from_json(cls, text: str) -> BrainSnapshot:
        """Parse and validate JSON text (see :func:`snapshot_from_json`)."""
        return snapshot_from_json(text)


def snapshot_to_json(snapshot: BrainSnapshot) -> str:
    """Validate ``snapshot`` and write it as compact JSON text (ASCII only)."""
    checked_snapshot(snapshot)
    payload: dict[str, Any] = {
        "format": limits.SNAPSHOT_FORMAT,
        "version": limits.SNAPSHOT_FORMAT_VERSION,
        "exported_at": encode_time(snapshot.exported_at),
        "brain": encode_record(snapshot.brain),
    }
    for section in _SECTIONS:
        payload[section] = [encode_record(item) for item in getattr(snapshot, section)]
    return json.dumps(payload, allow_nan=False, separators=(",", ":"))


def snapshot_from_json(text: str) -> BrainSnapshot:
    """Parse JSON text into a validated snapshot; SnapshotFormatError when it is not one."""
    data = _parse(text)
    if not isinstance(data, dict):
        raise SnapshotFormatError("a snapshot must be a JSON object")
    if data.get("format") != limits.SNAPSHOT_FORMAT:
        raise SnapshotFormatError(
            f"not a NeuralMemory brain snapshot (format must be {limits.SNAPSHOT_FORMAT!r})"
        )
    version = data.get("version")
    if type(version) is not int or version != limits.SNAPSHOT_FORMAT_VERSION:
        raise SnapshotFormatError(
            f"unsupported snapshot version {version!r}; "
            f"this NeuralMemory reads version {limits.SNAPSHOT_FORMAT_VERSION}"
        )
    require_fields(data, _TOP_LEVEL, "the snapshot")
    sections = {
        name: _decode_section(data[name], name, kind, cap)
        for name, (kind, cap) in _SECTIONS.items()
    }
    snapshot = BrainSnapshot(
        brain=decode_record(Brain, data["brain"], "brain"),
        neurons=sections["neurons"],
        synapses=sections["synapses"],
        fibers=sections["fibers"],
        typed_memories=sections["typed_memories"],
        projects=sections["projects"],
        exported_at=as_utc(decode_time(data["exported_at"], "exported_at")),
    )
    validate_snapshot(snapshot)
    return snapshot


def validate_snapshot(snapshot: BrainSnapshot) -> None:
    """Check types, size limits, id uniqueness and references; SnapshotFormatError if bad."""
    if not isinstance(snapshot, BrainSnapshot):
        raise SnapshotFormatError(f"expected a BrainSnapshot, got {type(snapshot).__name__}")
    if snapshot.version != limits.SNAPSHOT_FORMAT_VERSION:
        raise SnapshotFormatError(f"unsupported snapshot version {snapshot.version!r}")
    if not isinstance(snapshot.brain, Brain):
        raise SnapshotFormatError("brain must be a Brain")
    if not isinstance(snapshot.exported_at, datetime):
        raise SnapshotFormatError("exported_at must be a datetime")
    _check_brain(snapshot.brain)
    for section, (kind, cap) in _SECTIONS.items():
        items: tuple[_Entity, ...] = getattr(snapshot, section)
        if not isinstance(items, tuple):
            raise SnapshotFormatError(f"{section} must be a tuple")
        if len(items) > cap:
            raise SnapshotFormatError(f"{section}: {len(items)} items exceed the limit of {cap}")
        ids: set[str] = set()
        for index, item in enumerate(items):
            if type(item) is not kind and not isinstance(item, kind):
                raise SnapshotFormatError(f"{section}[{index}] must be a {kind.__name__}")
            if item.id in ids:
                raise SnapshotFormatError(f"{section}[{index}]: duplicate id {item.id!r}")
            ids.add(item.id)
        try:
            check_records(items, section)  # column by column: as fast as a storage write
        except ValidationError as error:
            raise SnapshotFormatError(str(error)) from None
    _check_references(snapshot)
    object.__setattr__(snapshot, "_checked", True)


def checked_snapshot(snapshot: BrainSnapshot) -> BrainSnapshot:
    """``snapshot`` after :func:`validate_snapshot`, which is skipped if it passed already.

    A snapshot is immutable, so one that passed stays valid; an import of a snapshot that
    :func:`snapshot_from_json` has just read checks it once.
    """
    if not (isinstance(snapshot, BrainSnapshot) and snapshot._checked):
        validate_snapshot(snapshot)
    return snapshot


def _parse(text: str) -> Any:
    if not isinstance(text, str):
        raise SnapshotFormatError(f"snapshot JSON must be text, got {type(text).__name__}")
    if len(text) > limits.MAX_SNAPSHOT_CHARS:
        raise SnapshotFormatError(
            f"the snapshot is larger than the limit of {limits.MAX_SNAPSHOT_CHARS} characters"
        )
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_constant=_refuse_constant,
            parse_float=_finite_float,
        )
    except SnapshotFormatError:
        raise
    except RecursionError:
        raise SnapshotFormatError("the snapshot JSON is nested too deeply") from None
    except json.JSONDecodeError as error:
        raise SnapshotFormatError(
            f"the snapshot is not valid JSON (truncated or corrupt?): {error}"
        ) from None
    except ValueError as error:  # an integer with too many digits
        raise SnapshotFormatError(f"the snapshot holds an unreadable value: {error}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) < len(pairs):  # rare: find the first repeated key for the message
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise SnapshotFormatError(f"duplicate JSON key {key!r}")
            seen.add(key)
    return result


def _refuse_constant(name: str) -> Any:
    raise SnapshotFormatError(f"{name} is not a valid JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise SnapshotFormatError(f"number out of range: {text[:40]}")
    return value


def _decode_section(value: Any, name: str, kind: type, cap: int) -> tuple[Any, ...]:
    if isinstance(value, list) and len(value) > cap:
        raise SnapshotFormatError(f"{name}: {len(value)} items exceed the limit of {cap}")
    return tuple(decode_records(kind, value, name))


def _check_brain(brain: Brain) -> None:
    _check_record(brain, "brain")


def _check_record(record: object, path: str) -> None:
    """The record within :mod:`neural_memory.core.limits`: what every storage write accepts."""
    try:
        check_record(record, path)
    except ValidationError as error:
        raise SnapshotFormatError(str(error)) from None


def _check_references(snapshot: BrainSnapshot) -> None:
    neuron_ids = {neuron.id for neuron in snapshot.neurons}
    for index, synapse in enumerate(snapshot.synapses):
        for endpoint in (synapse.source_id, synapse.target_id):
            if endpoint not in neuron_ids:
                raise SnapshotFormatError(
                    f"synapses[{index}] ({synapse.id!r}) names missing neuron {endpoint!r}"
                )
    for index, fiber in enumerate(snapshot.fibers):
        missing = fiber.neuron_ids - neuron_ids
        if missing:
            raise SnapshotFormatError(
                f"fibers[{index}] ({fiber.id!r}) names missing neuron(s) {sorted(missing)[:5]}"
            )
