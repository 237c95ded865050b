"""Value objects <-> SQLite and PostgreSQL rows, derived from the codec's field table (pure).

Each record's row layout (:class:`RowLayout`) is generated from
:data:`neural_memory.codec.schema.SCHEMAS`: one column per field, named like the field and in
its order, stored by a small per-shape storage codec. Timestamps are stored as integer
microseconds since the Unix epoch (exact, sortable) and read back as aware UTC datetimes;
sets as sorted JSON arrays, ordered members as JSON arrays in order, mappings and nested
records as JSON objects, enum members (StrEnum, bound as their text value) as text. A layout
may add derived columns, computed from the record when it is written and never read back
(a neuron's ``content_key``, a fiber's lexical ``terms``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

import numpy as np

from neural_memory.codec.schema import SCHEMAS, FieldSpec, Shape
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import SPEAKER
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.text import TERMS_VERSION, document_terms
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import ValidationError
from neural_memory.storage._core import FiberRows

__all__ = [
    "ALERT",
    "ALERT_COLUMNS",
    "BRAIN",
    "BRAIN_COLUMNS",
    "FIBER",
    "FIBER_COLUMNS",
    "FIBER_WRITE_COLUMNS",
    "NEURON",
    "NEURON_COLUMNS",
    "PROJECT",
    "PROJECT_COLUMNS",
    "RECALL",
    "RECALL_COLUMNS",
    "STATS",
    "SYNAPSE",
    "SYNAPSE_COLUMNS",
    "TYPED_MEMORY",
    "TYPED_MEMORY_COLUMNS",
    "Derived",
    "Row",
    "RowLayout",
    "dump_json",
    "fiber_row",
    "fiber_rows_from",
    "from_micros",
    "id_list",
    "load_json",
    "neuron_row",
    "project_row",
    "stored_terms",
    "string_array",
    "synapse_row",
    "to_micros",
    "typed_memory_row",
]

Row = tuple[Any, ...]
R = TypeVar("R")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


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


# One encoder each, made once: ``json.dumps`` with options builds a new encoder per call.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_ARRAY = json.JSONEncoder(ensure_ascii=False)


def dump_json(value: object, what: str = "value") -> str:
    """Serialise ``value`` as compact JSON; ValidationError when it is not JSON data."""
    try:
        return _COMPACT.encode(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{what} must be JSON-serialisable: {exc}") from None


def load_json(text: str) -> Any:
    """Parse JSON written by :func:`dump_json`."""
    return json.loads(text)


def id_list(ids: Iterable[str]) -> str:
    """Encode strings as a sorted JSON array (sets, and ``json_each`` parameters)."""
    return string_array(sorted(ids)) if ids else "[]"


def _members(values: Collection[str]) -> str:
    """Members as a JSON array: a set sorted, a sequence in its order."""
    if isinstance(values, frozenset):
        return id_list(values)
    return string_array(list(values)) if values else "[]"


def string_array(values: list[str]) -> str:
    """``values`` (at least one) as the JSON array ``_ARRAY`` writes, joined directly.

    Ids almost never hold a quote, a backslash or a character that is not printable; when
    the joined text shows none (its quotes are the separators' own), nothing needs escaping
    and the join costs about half of the JSON encoder on a fiber's few dozen ids.
    """
    joined = '", "'.join(values)
    if joined.isprintable() and "\\" not in joined and joined.count('"') == 2 * len(values) - 2:
        return '["' + joined + '"]'
    return _ARRAY.encode(values)


# -- the storage codec of each shape ---------------------------------------------------------

Cell = Callable[[Any], Any]
"""Turns one field's value into its column's value, or a column's value back."""

_WRITE: dict[Shape, Cell | None] = {
    Shape.TEXT: None,
    Shape.OPTIONAL_TEXT: None,
    Shape.NUMBER: float,
    Shape.CONFIG_NUMBER: None,
    Shape.INTEGER: int,
    Shape.TIME: to_micros,
    Shape.OPTIONAL_TIME: _opt_micros,
    Shape.ENUM: None,
    Shape.MEMBERS: _members,
    Shape.TAGS: id_list,
}
"""How a field of each shape is written (None: as it is); METADATA and RECORD: below."""

_READ: dict[Shape, Cell | None] = {
    Shape.TIME: from_micros,
    Shape.OPTIONAL_TIME: _opt_dt,
    Shape.MEMBERS: load_json,
    Shape.TAGS: load_json,
    Shape.METADATA: load_json,
}
"""How a column of each shape is read back (missing: as it is; the record normalises it)."""


_PG_TYPES = {
    Shape.NUMBER: "float8",
    Shape.INTEGER: "int8",
    Shape.TIME: "int8",
    Shape.OPTIONAL_TIME: "int8",
}
"""The PostgreSQL type of a column of each shape that is not text (derived columns are text)."""


def _label(kind: type) -> str:
    """``TypedMemory`` -> ``typed memory`` (for error messages)."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", kind.__name__).lower()


def _writer(kind: type, spec: FieldSpec) -> Cell | None:
    what = f"{_label(kind)} {spec.name}"
    if spec.shape is Shape.METADATA:
        return lambda value: dump_json(dict(value), what) if value else "{}"
    if spec.shape is Shape.RECORD:
        return lambda value: dump_json(dataclasses.asdict(value), what)
    return _WRITE[spec.shape]


def _reader(spec: FieldSpec) -> Cell | None:
    nested = spec.record
    if spec.shape is Shape.RECORD and nested is not None:
        known = frozenset(f.name for f in SCHEMAS[nested])
        return lambda text: nested(**{k: v for k, v in load_json(text).items() if k in known})
    return _READ.get(spec.shape)


# -- row layouts -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Derived(Generic[R]):
    """A column computed from the record when it is written (never read back)."""

    name: str
    after: str
    """The field whose column it follows."""
    compute: Callable[[R], object]


class RowLayout(Generic[R]):
    """One record type's table row: its columns and the row <-> record functions.

    Attributes:
        kind: The record type.
        fields: Its field names, in table order.
        columns: What a write stores (after the brain number, for brain-scoped tables),
            derived columns included.
        selected: What a read selects: the record's fields.
        pg_types: The PostgreSQL type of each of the ``columns`` (space-separated), for
            bulk writes that send one array per column.
        cells: ``record -> row`` of its ``columns``.
        row: ``(brain number, record) -> row``: the brain number, then the ``columns``.
        record: ``row of the selected columns -> record``.

    The three functions are generated from the field table once, when the layout is made
    (as ``dataclasses`` makes ``__init__``): a row is written and read as fast as by a
    hand-written function, on every bulk write and every read.
    """

    __slots__ = ("cells", "columns", "fields", "kind", "pg_types", "record", "row", "selected")

    def __init__(self, kind: type[R], *, derived: Sequence[Derived[R]] = ()) -> None:
        specs = SCHEMAS[kind]
        self.kind = kind
        self.fields: tuple[str, ...] = tuple(spec.name for spec in specs)
        names = list(self.fields)
        for extra in derived:
            names.insert(names.index(extra.after) + 1, extra.name)
        self.columns = ", ".join(names)
        self.selected = ", ".join(self.fields)
        types = {spec.name: _PG_TYPES.get(spec.shape, "text") for spec in specs}
        self.pg_types = " ".join(types.get(name, "text") for name in names)
        scope: dict[str, Any] = {"kind": kind}
        written = {spec.name: _call(scope, _writer(kind, spec), f"r.{spec.name}") for spec in specs}
        for extra in derived:
            written[extra.name] = _call(scope, extra.compute, "r")
        cells = ", ".join(written[name] for name in names)
        read = ", ".join(
            f"{spec.name}={_call(scope, _reader(spec), f'row[{i}]')}"
            for i, spec in enumerate(specs)
        )
        self.cells: Callable[[R], Row] = _compiled("cells", "r", f"({cells},)", scope)
        self.row: Callable[[int, R], Row] = _compiled("row", "brain, r", f"(brain, {cells})", scope)
        self.record: Callable[[Row], R] = _compiled("record", "row", f"kind({read})", scope)


def _call(scope: dict[str, Any], function: Cell | None, argument: str) -> str:
    """The expression applying ``function`` (kept in ``scope``) to ``argument``."""
    if function is None:
        return argument
    name = f"_f{len(scope)}"
    scope[name] = function
    return f"{name}({argument})"


def _compiled(name: str, parameters: str, expression: str, scope: dict[str, Any]) -> Any:
    """The function ``name(parameters)`` returning ``expression``, names taken from ``scope``.

    The source is made only from the field table's names (identifiers), never from data.
    """
    exec(f"def {name}({parameters}):\n    return {expression}\n", scope)
    return scope.pop(name)


TERMS_PREFIX = TERMS_VERSION + " "
"""How stored terms start: the fingerprint of the tokeniser that computed them, a space."""


def stored_terms(content: str, speaker: object) -> str:
    """A memory's lexical terms as stored with it: ``TERMS_PREFIX`` + space-separated terms.

    ``speaker`` is its metadata's speaker (counted only when it is text). Recall indexes
    read them back instead of tokenising every memory when a brain is opened.
    """
    words = document_terms(content, speaker if isinstance(speaker, str) else None)
    return TERMS_PREFIX + " ".join(words)


def _fiber_terms(fiber: Fiber) -> str:
    return stored_terms(fiber.content, SPEAKER.get(fiber.metadata))


def _content_key(neuron: Neuron) -> str:
    return neuron.content.casefold()


BRAIN = RowLayout(Brain)
NEURON = RowLayout(Neuron, derived=[Derived("content_key", "content", _content_key)])
SYNAPSE = RowLayout(Synapse)
FIBER = RowLayout(Fiber, derived=[Derived("terms", "superseded_by", _fiber_terms)])
TYPED_MEMORY = RowLayout(TypedMemory)
PROJECT = RowLayout(Project)
ALERT = RowLayout(Alert)
RECALL = RowLayout(RecallEvent)
STATS = RowLayout(BrainStats)
"""The stats query's row (read only): the counts, then the oldest unused time, change seq."""

# The names the write paths use (their column order is the layouts').
BRAIN_COLUMNS = BRAIN.columns
NEURON_COLUMNS = NEURON.columns
SYNAPSE_COLUMNS = SYNAPSE.columns
FIBER_COLUMNS = FIBER.selected
FIBER_WRITE_COLUMNS = FIBER.columns
"""What a fiber write stores: its columns, then its lexical terms (see :func:`stored_terms`)."""
TYPED_MEMORY_COLUMNS = TYPED_MEMORY.columns
PROJECT_COLUMNS = PROJECT.columns
ALERT_COLUMNS = ALERT.columns
RECALL_COLUMNS = RECALL.columns
neuron_row = NEURON.row
synapse_row = SYNAPSE.row
fiber_row = FIBER.row
typed_memory_row = TYPED_MEMORY.row
project_row = PROJECT.row


# -- what recall indexes load -----------------------------------------------------------------

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
