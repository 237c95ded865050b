"""JSON Schemas of the records the storage RPC carries, derived from the codec's field table.

The codec (:data:`neural_memory.codec.schema.SCHEMAS`) is the one description of every
record's JSON form; this module turns it into JSON Schema for the OpenAPI document, so the
storage bodies are typed there field by field (and cannot drift from what is decoded).
Constraints the record constructors enforce beyond the JSON shape (ranges, non-blank ids)
are added where the codec alone cannot say them; a fiber's metadata lists the engine's
reserved keys (:data:`neural_memory.core.fiber_metadata.RESERVED_KEYS`) with their types.
What JSON Schema cannot say at all is left to the decoder (422): a fiber's anchor and
pathway must be among its ``neuron_ids``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from neural_memory.codec.schema import MAX_FIBER_MEMBERS, MAX_TAGS, SCHEMAS, FieldSpec, Shape
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import RESERVED_KEYS, MetadataKey, ValueKind
from neural_memory.core.limits import MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_TEXT_LENGTH
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.server._types import TIME_PATTERN

__all__ = [
    "ALERT",
    "BRAIN",
    "FIBER",
    "FIBER_METADATA",
    "NEURON",
    "NOT_BLANK",
    "NOT_BLANK_NO_NUL",
    "PROJECT",
    "RECALL_EVENT",
    "STATS",
    "SYNAPSE",
    "TYPED_MEMORY",
    "WRITE_BATCH",
    "record_schema",
]

NOT_BLANK = (
    r"[^\t\n\u000b\f\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
"""A pattern matching text with at least one character Python does not count as space
(spelled out: ``\\s`` differs between Python and the ECMA regexes of JSON Schema)."""

_STORABLE = "[^\\u0000\\ud800-\\udfff]"
"""A character storage accepts: no NUL, no lone surrogate (``core.limits``)."""

NOT_BLANK_NO_NUL = f"^{_STORABLE}*" + NOT_BLANK[:-1] + f"\\u0000\\ud800-\\udfff]{_STORABLE}*$"
"""Like :data:`NOT_BLANK`, and no NUL character nor lone surrogate anywhere (``core.limits``
refuses both)."""

_ANY_TEXT = f"^{_STORABLE}*$"
_MAX_INT64 = 2**63 - 1


def _text(max_length: int, *, blank: bool = True, min_length: int = 0) -> dict[str, Any]:
    """Storable text of at most ``max_length`` characters (``blank``: may be all spaces)."""
    schema: dict[str, Any] = {
        "type": "string",
        "maxLength": max_length,
        "pattern": _ANY_TEXT if blank else NOT_BLANK_NO_NUL,
    }
    if min_length or not blank:
        schema["minLength"] = max(min_length, 1)
    return schema


_TIME = {"type": "string", "format": "date-time", "pattern": TIME_PATTERN}
_ID = _text(MAX_ID_LENGTH, blank=False)
"""An id a record constructor requires: not blank."""
_ANY_ID = _text(MAX_ID_LENGTH, min_length=1)
"""An id storage checks only for length: not empty."""
_NAME = _text(MAX_NAME_LENGTH, blank=False)
_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
_COUNT = {"type": "integer", "minimum": 0, "maximum": _MAX_INT64}
_POSITIVE = {"type": "integer", "minimum": 1}
_EXTRA: dict[str, dict[str, Any]] = {
    "id": _ID,
    "source_id": _ID,
    "target_id": _ID,
    "fiber_id": _ID,
    "name": _NAME,
    "source": _text(MAX_NAME_LENGTH),
    "query": _text(MAX_TEXT_LENGTH, blank=False),
    "message": _text(MAX_TEXT_LENGTH, blank=False),
    "content": _text(MAX_TEXT_LENGTH),
    "description": _text(MAX_TEXT_LENGTH),
    "decay_rate": _UNIT,
    "reinforcement_delta": _UNIT,
    "activation_threshold": _UNIT,
    "max_spread_hops": _POSITIVE,
    "max_context_tokens": _POSITIVE,
    "activation": _UNIT,
    "weight": _UNIT,
    "conductivity": _UNIT,
    "salience": _UNIT,
    "confidence": _UNIT,
    "access_count": _COUNT,
    "reinforced_count": _COUNT,
    "priority": {"type": "integer", "minimum": 0, "maximum": 10},
}
"""Per-field refinements, by field name, of what the shape alone says."""


def _metadata_schema(keys: Mapping[str, MetadataKey[Any]]) -> dict[str, Any]:
    """A metadata object whose reserved ``keys`` are typed (every other key stays free-form)."""
    schema = dict(_SHAPES[Shape.METADATA])
    schema["properties"] = {
        name: {**_KIND_SCHEMAS[key.kind], "description": key.meaning} for name, key in keys.items()
    }
    return schema


def _record_field(kind: type, spec: FieldSpec) -> dict[str, Any]:
    if kind is Neuron and spec.name == "content":
        return _text(MAX_TEXT_LENGTH, blank=False)
    if kind is Fiber and spec.name == "metadata":
        return FIBER_METADATA
    return _field_schema(spec)


def record_schema(kind: type) -> dict[str, Any]:
    """The JSON Schema of one record type's JSON object (every field required)."""
    properties = {spec.name: _record_field(kind, spec) for spec in SCHEMAS[kind]}
    return {
        "type": "object",
        "title": kind.__name__,
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _field_schema(spec: FieldSpec) -> dict[str, Any]:
    shape = spec.shape
    if shape is Shape.ENUM and spec.enum is not None:
        return {"enum": [member.value for member in spec.enum]}
    if shape is Shape.RECORD and spec.record is not None:
        return record_schema(spec.record)
    base = _SHAPES[shape]
    if spec.name in _EXTRA and shape in _REFINABLE:
        return dict(_EXTRA[spec.name])
    if spec.name == "project_id" and shape is Shape.OPTIONAL_TEXT:
        return {"anyOf": [_ID, {"type": "null"}]}
    if shape is Shape.OPTIONAL_TEXT:
        return {"anyOf": [_ANY_ID, {"type": "null"}]}
    return dict(base)


_REFINABLE = (Shape.TEXT, Shape.NUMBER, Shape.CONFIG_NUMBER, Shape.INTEGER)
_KEY = _text(MAX_TEXT_LENGTH)
_SCALAR = [_KEY, {"type": ["number", "boolean", "null"]}]
_JSON_INNER: dict[str, Any] = {
    "anyOf": [
        *_SCALAR,
        {"type": "array"},
        {"type": "object", "propertyNames": _KEY},
    ]
}
_JSON_VALUE: dict[str, Any] = {
    "anyOf": [
        *_SCALAR,
        {"type": "array", "items": _JSON_INNER},
        {
            "type": "object",
            "propertyNames": _KEY,
            "additionalProperties": _JSON_INNER,
        },
    ]
}
"""Plain JSON data as storage keeps it (storable strings, two levels spelled out; deeper
levels, the depth and the total size are checked by the server)."""
_SHAPES: dict[Shape, dict[str, Any]] = {
    Shape.TEXT: _ANY_ID,  # any other text field is an id
    Shape.OPTIONAL_TEXT: {"anyOf": [_ANY_ID, {"type": "null"}]},
    Shape.NUMBER: {"type": "number"},
    Shape.CONFIG_NUMBER: {"type": "number"},
    Shape.INTEGER: {"type": "integer", "minimum": -_MAX_INT64 - 1, "maximum": _MAX_INT64},
    Shape.TIME: _TIME,
    Shape.OPTIONAL_TIME: {"anyOf": [_TIME, {"type": "null"}]},
    Shape.MEMBERS: {
        "type": "array",
        "items": _text(MAX_ID_LENGTH),
        "maxItems": MAX_FIBER_MEMBERS,
    },
    Shape.TAGS: {"type": "array", "items": _text(MAX_NAME_LENGTH), "maxItems": MAX_TAGS},
    Shape.METADATA: {
        "type": "object",
        "propertyNames": _KEY,
        "additionalProperties": _JSON_VALUE,
    },
}
_ANY_ID_TEXT = _text(MAX_TEXT_LENGTH, blank=False)
_KIND_SCHEMAS: dict[ValueKind, dict[str, Any]] = {
    ValueKind.TEXT: _KEY,
    ValueKind.ID: _ANY_ID_TEXT,
    ValueKind.COUNT: {"type": "integer", "minimum": 1, "maximum": _MAX_INT64},
    ValueKind.FLAG: {"type": "boolean"},
    ValueKind.TIME: _TIME,
    ValueKind.IDS: {"type": "array", "items": _ANY_ID_TEXT},
}
"""The JSON Schema of each kind of reserved metadata value (``core.fiber_metadata``)."""

FIBER_METADATA = _metadata_schema(RESERVED_KEYS)
"""A fiber's metadata: free-form JSON, with the engine's reserved keys typed."""

BRAIN = record_schema(Brain)
NEURON = record_schema(Neuron)
SYNAPSE = record_schema(Synapse)
FIBER = record_schema(Fiber)
TYPED_MEMORY = record_schema(TypedMemory)
PROJECT = record_schema(Project)
ALERT = record_schema(Alert)
RECALL_EVENT = record_schema(RecallEvent)
STATS = record_schema(BrainStats)


def _list_of(schema: dict[str, Any]) -> dict[str, Any]:
    return {"type": "array", "items": schema}


_IDS = _list_of(_ANY_ID)
_DELTA = {
    "type": "array",
    "prefixItems": [{"type": "string"}, {"type": "number"}],
    "minItems": 2,
    "maxItems": 2,
}

WRITE_BATCH: dict[str, Any] = {
    "type": "object",
    "title": "WriteBatch",
    "description": "One atomic write; every section is optional (empty when left out).",
    "properties": {
        "insert_neurons": _list_of(NEURON),
        "ensure_neurons": _list_of(NEURON),
        "update_neurons": _list_of(NEURON),
        "insert_synapses": _list_of(SYNAPSE),
        "ensure_synapses": _list_of(SYNAPSE),
        "update_synapses": _list_of(SYNAPSE),
        "synapse_deltas": _list_of(_DELTA),
        "neuron_accesses": _list_of(_DELTA),
        "fiber_conducts": _IDS,
        "deltas_at": _TIME,
        "insert_fibers": _list_of(FIBER),
        "update_fibers": _list_of(FIBER),
        "put_typed_memories": _list_of(TYPED_MEMORY),
        "put_projects": _list_of(PROJECT),
        "delete_fiber_ids": _IDS,
        "delete_synapse_ids": _IDS,
        "delete_neuron_ids": _IDS,
        "delete_typed_memory_ids": _IDS,
        "delete_project_ids": _IDS,
    },
    "additionalProperties": False,
}
"""The JSON Schema of a WriteBatch (``_write``)."""
