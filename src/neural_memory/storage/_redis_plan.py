"""Pure helpers of the Redis backend: key layout, write payloads, script results (no I/O)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from neural_memory.core.events import ChangeKind, ChangeRecord
from neural_memory.core.fiber import Fiber
from neural_memory.core.synapse import Synapse
from neural_memory.errors import (
    AlreadyExistsError,
    BrainNotFoundError,
    ConfigError,
    NeuralMemoryError,
    NotFoundError,
    StorageError,
    ValidationError,
)
from neural_memory.storage._integrity import StoredReferences, in_use_error, refuse_dangling
from neural_memory.storage._redis_codec import decode, encode, encode_value, micros
from neural_memory.storage._vectors import vector_to_text
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "BrainKeys",
    "CheckedReferences",
    "check_namespace",
    "FIRST_RECORD_ARG",
    "WritePlan",
    "delta_results",
    "parse_change",
    "raise_for_write_result",
    "redact_url",
]

_NAMESPACE = re.compile(r"[A-Za-z0-9_.\-]+")


def check_namespace(namespace: object) -> str:
    """``namespace`` if it is usable as the first segment of every key, else ConfigError."""
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ConfigError(
            f"namespace must be letters, digits, '_', '.' or '-' (no ':'), got {namespace!r}"
        )
    return namespace


def redact_url(url: str) -> str:
    """``url`` with its password (if any) replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True, slots=True)
class BrainKeys:
    """The Redis key names of one brain (see the key layout in ``storage/redis.py``)."""

    prefix: str

    @classmethod
    def of(cls, namespace: str, brain_id: str) -> BrainKeys:
        """Return the keys of ``brain_id`` in ``namespace``.

        The id is percent-encoded, so no brain's prefix is a prefix of another's and SCAN
        patterns need no escaping.
        """
        return cls(f"{namespace}:b:{{{quote(brain_id, safe='')}}}:")

    @property
    def pattern(self) -> str:
        """SCAN pattern matching every key of the brain."""
        return self.prefix + "*"

    def key(self, suffix: str) -> str:
        """Return the key ``prefix + suffix`` (``n``, ``s``, ``f``, ``seq``, ...)."""
        return self.prefix + suffix

    def synapses_of(self, neuron_id: str) -> str:
        """Set of the ids of the synapses touching ``neuron_id``."""
        return f"{self.prefix}sn:{neuron_id}"

    def fibers_of(self, neuron_id: str) -> str:
        """Set of the ids of the fibers binding ``neuron_id``."""
        return f"{self.prefix}fn:{neuron_id}"

    def memories_of_fiber(self, fiber_id: str) -> str:
        """Set of the ids of the typed memories of ``fiber_id``."""
        return f"{self.prefix}tf:{fiber_id}"

    def superseded_by(self, fiber_id: str) -> str:
        """Set of the ids of the fibers ``fiber_id`` supersedes (their ``superseded_by``)."""
        return f"{self.prefix}sb:{fiber_id}"

    def memories_of_project(self, project_id: str) -> str:
        """Set of the ids of the typed memories of ``project_id``."""
        return f"{self.prefix}tp:{project_id}"


def delta_results(
    batch: WriteBatch, stored: Mapping[str, str | None]
) -> tuple[list[list[object]], list[list[str]]]:
    """Apply ``batch.synapse_deltas`` in Python exactly as InMemoryStorage does.

    ``stored`` maps every delta synapse id to its stored JSON (None: absent). Returns the
    compare-and-set guard ``[[id, stored JSON or False], ...]`` and the moved synapses
    ``[[id, JSON], ...]`` the write script stores before the batch's own synapse writes.
    """
    state: dict[str, Synapse | None] = {
        i: decode(Synapse, raw) if raw is not None else None for i, raw in stored.items()
    }
    moved: dict[str, Synapse] = {}
    for synapse_id, delta in batch.synapse_deltas:  # on the stored synapses, before the batch's
        current = state.get(synapse_id)
        if current is not None:
            result = current.with_weight(current.weight + delta)
            if delta > 0:
                result = result.reinforce(0.0, at=batch.deltas_at)
            state[synapse_id] = moved[synapse_id] = result
    guard: list[list[object]] = [
        [i, raw if raw is not None else False] for i, raw in stored.items()
    ]
    return guard, [[i, encode(s)] for i, s in moved.items()]


@dataclass(frozen=True, slots=True)
class CheckedReferences:
    """The outcome of :func:`refuse_dangling` for one write, handed to the write script.

    The script refuses the write with ``refusal`` once its own checks pass (so errors come
    in the order of the other backends), and asks for a retry when the brain's change seq
    is no longer ``seq``, the one read before the stored state the check used.
    """

    seq: str | None
    refusal: NeuralMemoryError | None

    @classmethod
    def of(cls, batch: WriteBatch, stored: StoredReferences, seq: str | None) -> CheckedReferences:
        """Check ``batch`` against ``stored`` (read after the change seq ``seq``)."""
        try:
            refuse_dangling(batch, stored)
        except (NotFoundError, ValidationError) as refusal:
            return cls(seq, refusal)
        return cls(seq, None)


FIRST_RECORD_ARG = 5
"""ARGV index (1-based) of the first record JSON; ARGV[1..4] are brain id, prefix, header,
change-log limit."""


@dataclass(frozen=True, slots=True)
class WritePlan:
    """The write script's arguments for one batch.

    ``header`` holds ids, index data and, where a record is stored, the ARGV index of its JSON
    in ``records`` (so record JSON travels unescaped and the script decodes only the header).
    """

    header: dict[str, list[Any]]
    records: list[str]

    @classmethod
    def of(cls, batch: WriteBatch) -> WritePlan:
        """Plan ``batch`` (everything except the synapse deltas, see :func:`delta_results`)."""
        records: list[str] = []

        def ref(record: object) -> int:
            records.append(encode(record))
            return FIRST_RECORD_ARG + len(records) - 1

        def synapse(s: Synapse) -> list[Any]:
            return [s.id, s.source_id, s.target_id, ref(s)]

        def raw(text: str) -> int:
            records.append(text)
            return FIRST_RECORD_ARG + len(records) - 1

        def fiber(f: Fiber) -> list[Any]:
            return [
                f.id,
                ref(f),
                sorted(f.neuron_ids),
                str(micros(f.last_used)),
                f.superseded_by or False,
            ]

        neurons, synapses, fibers = batch.changed_ids()
        header: dict[str, list[Any]] = {
            "ni": [[n.id, ref(n)] for n in batch.insert_neurons],
            "ne": [[n.id, ref(n)] for n in batch.ensure_neurons],
            "nu": [[n.id, ref(n)] for n in batch.update_neurons],
            "si": [synapse(s) for s in batch.insert_synapses],
            "se": [synapse(s) for s in batch.ensure_synapses],
            "su": [synapse(s) for s in batch.update_synapses],
            "fi": [fiber(f) for f in batch.insert_fibers],
            "fu": [fiber(f) for f in batch.update_fibers],
            "tm": [
                [
                    m.id,
                    ref(m),
                    m.fiber_id,
                    m.project_id or False,
                    str(micros(m.expires_at)) if m.expires_at is not None else False,
                ]
                for m in batch.put_typed_memories
            ],
            "pp": [[p.id, ref(p)] for p in batch.put_projects],
            "pv": [[v.fiber_id, v.model, raw(vector_to_text(v.vector))] for v in batch.put_vectors],
            "pm": [[key, raw(encode_value(value))] for key, value in batch.put_meta],
            "df": list(batch.delete_fiber_ids),
            "ds": list(batch.delete_synapse_ids),
            "dn": list(batch.delete_neuron_ids),
            "dt": list(batch.delete_typed_memory_ids),
            "dp": list(batch.delete_project_ids),
            "cn": sorted(neurons),
            "cs": sorted(synapses),
            "cf": sorted(fibers),
        }
        return cls({name: items for name, items in header.items() if items}, records)

    def args(
        self,
        brain_id: str,
        prefix: str,
        log_limit: int,
        guard: Sequence[list[object]] = (),
        deltas: Sequence[list[str]] = (),
        new_brain: Sequence[str] = (),
        checked: CheckedReferences | None = None,
        records: Sequence[list[str]] = (),
    ) -> list[object]:
        """Return ARGV of the write script, with the deltas' guard and results if any.

        ``new_brain`` (brain JSON, brain order key, order counter key) makes the script
        create the brain in the same transaction, or fail when it exists. ``checked`` is
        the outcome of the reference checks and the change seq they read. ``records``
        (key suffix, id, stored JSON) guards the records access deltas were applied to.
        """
        header: dict[str, object] = dict(self.header)
        if new_brain:
            header["nb"] = list(new_brain)
        if checked is not None:
            if checked.seq is not None:
                header["seq"] = checked.seq
            if checked.refusal is not None:
                header["refuse"] = [type(checked.refusal).__name__, str(checked.refusal)]
        if guard:
            header["cas"] = list(guard)
        if records:
            header["casr"] = list(records)
        if deltas:
            header["sd"] = list(deltas)
        text = json.dumps(header, separators=(",", ":"), ensure_ascii=False)
        return [brain_id, prefix, text, log_limit, *self.records]


def raise_for_write_result(brain_id: str, result: Sequence[object]) -> int | None:
    """Return the new change seq from the write script (None: retry), or raise its error."""
    status, *rest = [_text(item) for item in result]
    if status == "ok":
        return int(rest[0])
    if status == "retry":
        return None
    if status == "brain":
        raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
    if status == "exists":
        raise AlreadyExistsError(f"{rest[0]} {rest[1]!r} already exists")
    if status == "missing":
        raise NotFoundError(f"{rest[0]} {rest[1]!r} does not exist")
    if status == "endpoint":
        raise NotFoundError(f"synapse {rest[0]!r} names missing neuron {rest[1]!r}")
    if status == "refused":
        raise (NotFoundError if rest[0] == NotFoundError.__name__ else ValidationError)(rest[1])
    if status == "fiber_neurons":
        raise NotFoundError(f"fiber {rest[0]!r} names missing neurons {sorted(rest[1:])}")
    if status == "in_use":
        raise in_use_error(rest[0], rest[1])
    raise StorageError(f"unexpected reply from the Redis write script: {result!r}")


def parse_change(member: str | bytes) -> ChangeRecord:
    """Parse a change-log sorted-set member ``seq|kind|entity_id``."""
    seq, kind, entity_id = _text(member).split("|", 2)
    return ChangeRecord(int(seq), ChangeKind(kind), entity_id)


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
