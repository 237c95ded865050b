"""Value objects <-> SQLite rows (pure functions, no I/O).

Timestamps are stored as integer microseconds since the Unix epoch (exact, sortable) and read
back as aware UTC datetimes. Sets are stored as sorted JSON arrays, mappings as JSON objects,
enum members (StrEnum, bound by sqlite3 as their text value) as text.
The column order of each ``*_row`` function matches the ``*_COLUMNS`` string beside it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain, BrainConfig
from neural_memory.core.events import BrainStats, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.text import TERMS_VERSION, document_terms
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import ValidationError
from neural_memory.storage._core import FiberRows

__all__ = [
    "ALERT_COLUMNS",
    "BRAIN_COLUMNS",
    "FIBER_COLUMNS",
    "FIBER_WRITE_COLUMNS",
    "NEURON_COLUMNS",
    "PROJECT_COLUMNS",
    "RECALL_COLUMNS",
    "SYNAPSE_COLUMNS",
    "TYPED_MEMORY_COLUMNS",
    "Row",
    "alert_from_row",
    "alert_row",
    "brain_from_row",
    "brain_row",
    "dump_json",
    "fiber_from_row",
    "fiber_row",
    "fiber_rows_from",
    "from_micros",
    "id_list",
    "load_json",
    "neuron_from_row",
    "neuron_row",
    "project_from_row",
    "project_row",
    "recall_from_row",
    "recall_row",
    "stats_from_row",
    "stored_terms",
    "synapse_from_row",
    "synapse_row",
    "to_micros",
    "typed_memory_from_row",
    "typed_memory_row",
]

Row = tuple[Any, ...]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(BrainConfig))


# -- scalars -------------------------------------------------------------------------------


def to_micros(moment: datetime) -> int:
    """Return the microseconds since the epoch of an aware datetime (exact)."""
    return (moment - _EPOCH) // _MICROSECOND


def _opt_micros(moment: datetime | None) -> int | None:
    return None if moment is None else (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime:
    """Return the aware UTC datetime ``micros`` microseconds after the epoch."""
    return _EPOCH + timedelta(microseconds=micros)


def _opt_dt(micros: int | None) -> datetime | None:
    return None if micros is None else _EPOCH + timedelta(microseconds=micros)


def dump_json(value: object, what: str = "value") -> str:
    """Serialise ``value`` as compact JSON; ValidationError when it is not JSON data."""
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} must be JSON-serialisable: {exc}") from None


def load_json(text: str) -> Any:
    """Parse JSON written by :func:`dump_json`."""
    return json.loads(text)


def _mapping(value: Mapping[str, Any], what: str) -> str:
    return dump_json(dict(value), what) if value else "{}"


def stats_from_row(row: Row) -> BrainStats:
    """BrainStats from the counts row of the stats query (SQLite's and PostgreSQL's)."""
    return BrainStats(
        neuron_count=row[0],
        synapse_count=row[1],
        fiber_count=row[2],
        typed_memory_count=row[3],
        project_count=row[4],
        orphan_neuron_count=row[5],
        expired_memory_count=row[6],
        oldest_unused_fiber_at=from_micros(row[7]) if row[7] is not None else None,
        change_seq=row[8],
    )


def id_list(ids: Iterable[str]) -> str:
    """Encode strings as a sorted JSON array (sets, and ``json_each`` parameters)."""
    return json.dumps(sorted(ids), ensure_ascii=False) if ids else "[]"


# -- brains --------------------------------------------------------------------------------

BRAIN_COLUMNS = "id, name, config, created_at, updated_at"


def brain_row(brain: Brain) -> Row:
    """Return the ``BRAIN_COLUMNS`` of ``brain``."""
    config = dump_json(dataclasses.asdict(brain.config), "brain config")
    updated = brain.updated_at or brain.created_at
    return (brain.id, brain.name, config, to_micros(brain.created_at), to_micros(updated))


def brain_from_row(row: Row) -> Brain:
    """Rebuild a Brain from its ``BRAIN_COLUMNS``."""
    raw = load_json(row[2])
    config = BrainConfig(**{k: v for k, v in raw.items() if k in _CONFIG_FIELDS})
    return Brain(
        id=row[0],
        name=row[1],
        config=config,
        created_at=from_micros(row[3]),
        updated_at=from_micros(row[4]),
    )


# -- graph ---------------------------------------------------------------------------------

NEURON_COLUMNS = (
    "id, type, content, content_key, metadata, created_at, activation, access_count, last_accessed"
)


def neuron_row(brain: int, n: Neuron) -> Row:
    """Return the brain number followed by the ``NEURON_COLUMNS`` of ``n``."""
    return (
        brain,
        n.id,
        n.type,
        n.content,
        n.content.casefold(),
        _mapping(n.metadata, "neuron metadata"),
        (n.created_at - _EPOCH) // _MICROSECOND,
        n.activation,
        n.access_count,
        _opt_micros(n.last_accessed),
    )


def neuron_from_row(row: Row) -> Neuron:
    """Rebuild a Neuron from its ``NEURON_COLUMNS``."""
    return Neuron(
        id=row[0],
        type=row[1],
        content=row[2],
        metadata=load_json(row[4]),
        created_at=from_micros(row[5]),
        activation=row[6],
        access_count=row[7],
        last_accessed=_opt_dt(row[8]),
    )


SYNAPSE_COLUMNS = (
    "id, source_id, target_id, type, weight, direction, metadata, created_at, "
    "last_activated, reinforced_count"
)


def synapse_row(brain: int, s: Synapse) -> Row:
    """Return the brain number followed by the ``SYNAPSE_COLUMNS`` of ``s``."""
    return (
        brain,
        s.id,
        s.source_id,
        s.target_id,
        s.type,
        s.weight,
        s.direction,
        _mapping(s.metadata, "synapse metadata"),
        (s.created_at - _EPOCH) // _MICROSECOND,
        _opt_micros(s.last_activated),
        s.reinforced_count,
    )


def synapse_from_row(row: Row) -> Synapse:
    """Rebuild a Synapse from its ``SYNAPSE_COLUMNS``."""
    return Synapse(
        id=row[0],
        source_id=row[1],
        target_id=row[2],
        type=row[3],
        weight=row[4],
        direction=row[5],
        metadata=load_json(row[6]),
        created_at=from_micros(row[7]),
        last_activated=_opt_dt(row[8]),
        reinforced_count=row[9],
    )


FIBER_COLUMNS = (
    "id, neuron_ids, synapse_ids, anchor_neuron_id, pathway, content, conductivity, salience, "
    "last_conducted, access_count, tags, metadata, occurred_at, created_at, superseded_by"
)


FIBER_WRITE_COLUMNS = FIBER_COLUMNS + ", terms"
"""What a fiber write stores: its columns, then its lexical terms (see :func:`stored_terms`)."""

TERMS_PREFIX = TERMS_VERSION + " "
"""How stored terms start: the fingerprint of the tokeniser that computed them, a space."""


def stored_terms(content: str, speaker: object) -> str:
    """A memory's lexical terms as stored with it: ``TERMS_PREFIX`` + space-separated terms.

    ``speaker`` is its metadata's speaker (counted only when it is text). Recall indexes
    read them back instead of tokenising every memory when a brain is opened.
    """
    words = document_terms(content, speaker if isinstance(speaker, str) else None)
    return TERMS_PREFIX + " ".join(words)


def fiber_row(brain: int, f: Fiber) -> Row:
    """Return the brain number followed by the ``FIBER_WRITE_COLUMNS`` of ``f``."""
    return (
        brain,
        f.id,
        id_list(f.neuron_ids),
        id_list(f.synapse_ids),
        f.anchor_neuron_id,
        json.dumps(f.pathway, ensure_ascii=False) if f.pathway else "[]",
        f.content,
        f.conductivity,
        f.salience,
        _opt_micros(f.last_conducted),
        f.access_count,
        id_list(f.tags),
        _mapping(f.metadata, "fiber metadata"),
        _opt_micros(f.occurred_at),
        to_micros(f.created_at),
        f.superseded_by,
        stored_terms(f.content, f.metadata.get("speaker")),
    )


_EPOCH_DAY = datetime(1970, 1, 1).toordinal()
_DAY = 86_400_000_000


def fiber_rows_from(found: list[Row]) -> FiberRows:
    """:class:`FiberRows` from rows read with the backend's fiber-rows query.

    Each row is: id, pathway (JSON), neuron ids (JSON; None when the pathway names them
    all), event time (epoch microseconds), conductivity, suppressed, asks, speaker,
    follows, the stored terms (without ``TERMS_PREFIX``; None when missing or stale) and
    the content (None when the terms are there).
    """
    if not found:
        return FiberRows([], [], [], [], [], [], [], [], [], [])
    ids, paths, extra, times, conductivity, suppressed, asks, speakers, follows, terms, texts = (
        list(column) for column in zip(*found, strict=True)
    )
    pathways: list[list[str]] = json.loads("[" + ",".join(paths) + "]")
    days = np.floor_divide(np.array(times, dtype=np.int64), _DAY) + _EPOCH_DAY
    return FiberRows(
        ids=ids,
        neuron_ids=[
            tuple(path) if more is None else _neuron_order(path, more)
            for path, more in zip(pathways, extra, strict=True)
        ],
        days=days.tolist(),
        conductivity=conductivity,
        suppressed=np.array(suppressed, dtype=np.bool_).tolist(),
        asks=np.array(asks, dtype=np.bool_).tolist(),
        speakers=speakers,
        follows=follows,
        terms=terms,
        contents=texts,
    )


def _neuron_order(pathway: list[str], neuron_ids: str) -> tuple[str, ...]:
    return (*pathway, *sorted(set(load_json(neuron_ids)).difference(pathway)))


def fiber_from_row(row: Row) -> Fiber:
    """Rebuild a Fiber from its ``FIBER_COLUMNS``."""
    return Fiber(
        id=row[0],
        neuron_ids=frozenset(load_json(row[1])),
        synapse_ids=frozenset(load_json(row[2])),
        anchor_neuron_id=row[3],
        pathway=tuple(load_json(row[4])),
        content=row[5],
        conductivity=row[6],
        salience=row[7],
        last_conducted=_opt_dt(row[8]),
        access_count=row[9],
        tags=frozenset(load_json(row[10])),
        metadata=load_json(row[11]),
        occurred_at=_opt_dt(row[12]),
        created_at=from_micros(row[13]),
        superseded_by=row[14],
    )


# -- knowledge -----------------------------------------------------------------------------

TYPED_MEMORY_COLUMNS = (
    "id, fiber_id, memory_type, priority, source, expires_at, tags, project_id, created_at, "
    "metadata"
)


def typed_memory_row(brain: int, m: TypedMemory) -> Row:
    """Return the brain number followed by the ``TYPED_MEMORY_COLUMNS`` of ``m``."""
    return (
        brain,
        m.id,
        m.fiber_id,
        m.memory_type,
        int(m.priority),
        m.source,
        _opt_micros(m.expires_at),
        id_list(m.tags),
        m.project_id,
        to_micros(m.created_at),
        _mapping(m.metadata, "typed memory metadata"),
    )


def typed_memory_from_row(row: Row) -> TypedMemory:
    """Rebuild a TypedMemory from its ``TYPED_MEMORY_COLUMNS``."""
    return TypedMemory(
        id=row[0],
        fiber_id=row[1],
        memory_type=row[2],
        priority=row[3],
        source=row[4],
        expires_at=_opt_dt(row[5]),
        tags=frozenset(load_json(row[6])),
        project_id=row[7],
        created_at=from_micros(row[8]),
        metadata=load_json(row[9]),
    )


PROJECT_COLUMNS = "id, name, description, tags, created_at, ends_at"


def project_row(brain: int, p: Project) -> Row:
    """Return the brain number followed by the ``PROJECT_COLUMNS`` of ``p``."""
    return (
        brain,
        p.id,
        p.name,
        p.description,
        id_list(p.tags),
        to_micros(p.created_at),
        _opt_micros(p.ends_at),
    )


def project_from_row(row: Row) -> Project:
    """Rebuild a Project from its ``PROJECT_COLUMNS``."""
    return Project(
        id=row[0],
        name=row[1],
        description=row[2],
        tags=frozenset(load_json(row[3])),
        created_at=from_micros(row[4]),
        ends_at=_opt_dt(row[5]),
    )


ALERT_COLUMNS = (
    "id, alert_type, severity, message, status, metric_value, threshold, created_at, seen_at, "
    "acknowledged_at, resolved_at"
)


def alert_row(brain: int, a: Alert) -> Row:
    """Return the brain number followed by the ``ALERT_COLUMNS`` of ``a``."""
    return (
        brain,
        a.id,
        a.alert_type,
        a.severity,
        a.message,
        a.status,
        float(a.metric_value),
        float(a.threshold),
        to_micros(a.created_at),
        _opt_micros(a.seen_at),
        _opt_micros(a.acknowledged_at),
        _opt_micros(a.resolved_at),
    )


def alert_from_row(row: Row) -> Alert:
    """Rebuild an Alert from its ``ALERT_COLUMNS``."""
    return Alert(
        id=row[0],
        alert_type=row[1],
        severity=row[2],
        message=row[3],
        status=row[4],
        metric_value=row[5],
        threshold=row[6],
        created_at=from_micros(row[7]),
        seen_at=_opt_dt(row[8]),
        acknowledged_at=_opt_dt(row[9]),
        resolved_at=_opt_dt(row[10]),
    )


RECALL_COLUMNS = "id, query, fiber_ids, confidence, created_at"


def recall_row(brain: int, e: RecallEvent) -> Row:
    """Return the brain number followed by the ``RECALL_COLUMNS`` of ``e``."""
    fiber_ids = json.dumps(list(e.fiber_ids), ensure_ascii=False)
    return (brain, e.id, e.query, fiber_ids, float(e.confidence), to_micros(e.created_at))


def recall_from_row(row: Row) -> RecallEvent:
    """Rebuild a RecallEvent from its ``RECALL_COLUMNS``."""
    return RecallEvent(
        id=row[0],
        query=row[1],
        fiber_ids=tuple(load_json(row[2])),
        confidence=row[3],
        created_at=from_micros(row[4]),
    )
