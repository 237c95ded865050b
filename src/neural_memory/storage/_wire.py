"""The storage RPC protocol that SharedStorage and the HTTP server share (pure, no I/O).

Records travel in the one JSON form of :mod:`neural_memory.codec`. This module adds what only
the protocol carries: its version and path prefix, write batches, the query filters of the
``find_*`` primitives, and the error envelope ``{"error": <type>, "message": <text>}`` with
its HTTP status codes. It lives in the storage layer because SharedStorage (a backend) is one
end of the protocol; the server (an interface) imports it from here, never the other way.

Decoders raise :class:`~neural_memory.errors.SnapshotFormatError` (a ValidationError) naming
the offending path, so bad input becomes HTTP 422 on the server.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import neural_memory.errors as errors_module
from neural_memory.codec import (
    decode_records,
    decode_time,
    encode_record,
    encode_time,
    require_fields,
)
from neural_memory.core.alert import AlertStatus, AlertType
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import (
    AccessDeniedError,
    AlreadyExistsError,
    BrainNotSetError,
    ConfigError,
    LimitExceededError,
    NeuralMemoryError,
    NotFoundError,
    SnapshotFormatError,
    StorageClosedError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage._limits import check_batch
from neural_memory.storage._vectors import vector_from_text, vector_to_text
from neural_memory.storage.batch import FiberVector, WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = [
    "PROTOCOL_VERSION",
    "REQUEST_TOO_LARGE",
    "STORAGE_PREFIX",
    "check_response",
    "decode_vector",
    "decode_write_batch",
    "dump_json",
    "encode_alert_filter",
    "encode_fiber_filter",
    "encode_neuron_filter",
    "encode_synapse_filter",
    "encode_typed_memory_filter",
    "encode_vector",
    "encode_write_batch",
    "error_body",
    "error_from_body",
    "error_status",
    "optional_time",
]

PROTOCOL_VERSION = 3
"""Version of the ``/v1/storage`` protocol; the health route reports it.

2: access deltas in write batches and the ``existing_neuron_ids`` / ``existing_synapse_ids``
routes. 3: the ``get_brain_version`` route. A client and a server of different versions
refuse each other when the client starts, instead of failing on the first call the other
side does not know."""

STORAGE_PREFIX = "/v1/storage"
"""Path prefix of the storage RPC routes."""

REQUEST_TOO_LARGE = "RequestTooLarge"
"""Error type of an HTTP 413 answer (the client raises LimitExceededError for it)."""

_BATCH_SECTIONS: dict[str, type] = {
    "insert_neurons": Neuron,
    "ensure_neurons": Neuron,
    "update_neurons": Neuron,
    "insert_synapses": Synapse,
    "ensure_synapses": Synapse,
    "update_synapses": Synapse,
    "insert_fibers": Fiber,
    "update_fibers": Fiber,
    "put_typed_memories": TypedMemory,
    "put_projects": Project,
}
_BATCH_DELTAS = ("neuron_accesses", "synapse_deltas")
_BATCH_FIELDS = frozenset(f.name for f in dataclasses.fields(WriteBatch))
_BATCH_ID_LISTS = (
    "fiber_conducts",
    "delete_fiber_ids",
    "delete_synapse_ids",
    "delete_neuron_ids",
    "delete_typed_memory_ids",
    "delete_project_ids",
)

# Most specific first: the first class an exception is an instance of decides its status.
_STATUS: tuple[tuple[type[NeuralMemoryError], int], ...] = (
    (NotFoundError, 404),
    (AccessDeniedError, 403),
    (AlreadyExistsError, 409),
    (LimitExceededError, 413),
    (ValidationError, 422),
    (ConfigError, 422),
    (BrainNotSetError, 422),
    (StorageUnavailableError, 503),
    (StorageClosedError, 503),
)


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; ValidationError when ``value`` is not JSON data (NaN included)."""
    try:
        return json.dumps(
            value, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        ).encode()
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value is not JSON data: {exc}") from None


def optional_time(moment: datetime | None) -> str | None:
    """A timestamp field of a request: ISO 8601 text, or null."""
    return encode_time(moment) if moment is not None else None


# -- write batches -------------------------------------------------------------------------


def encode_write_batch(batch: WriteBatch) -> dict[str, Any]:
    """A WriteBatch as JSON; empty sections are left out (``deltas_at`` always written)."""
    body: dict[str, Any] = {"deltas_at": encode_time(batch.deltas_at)}
    for name in _BATCH_SECTIONS:
        items = getattr(batch, name)
        if items:
            body[name] = [encode_record(item) for item in items]
    for name in _BATCH_DELTAS:
        pairs = getattr(batch, name)
        if pairs:
            body[name] = [[entity_id, delta] for entity_id, delta in pairs]
    for name in _BATCH_ID_LISTS:
        ids = getattr(batch, name)
        if ids:
            body[name] = list(ids)
    if batch.put_vectors:
        body["put_vectors"] = [encode_vector(v) for v in batch.put_vectors]
    if batch.put_meta:
        body["put_meta"] = [[key, value] for key, value in batch.put_meta]
    return body


def encode_vector(vector: FiberVector) -> dict[str, str]:
    """A FiberVector as JSON: ids, and the vector as base64 of little-endian float32."""
    text = vector_to_text(vector.vector)
    return {"fiber_id": vector.fiber_id, "model": vector.model, "vector": text}


def decode_vector(value: Any, path: str) -> FiberVector:
    """A FiberVector written by :func:`encode_vector`."""
    if not isinstance(value, Mapping) or set(value) != {"fiber_id", "model", "vector"}:
        raise SnapshotFormatError(f"{path} must be an object with fiber_id, model and vector")
    if not all(isinstance(value[name], str) for name in ("fiber_id", "model", "vector")):
        raise SnapshotFormatError(f"{path}: fiber_id, model and vector must be strings")
    try:
        return FiberVector(value["fiber_id"], value["model"], vector_from_text(value["vector"]))
    except ValidationError as exc:
        raise SnapshotFormatError(f"{path}: {exc}") from None


def decode_write_batch(value: Any, path: str = "batch") -> WriteBatch:
    """A WriteBatch from JSON (missing sections are empty); strict about everything else."""
    if not isinstance(value, Mapping):
        raise SnapshotFormatError(f"{path} must be an object")
    require_fields(value, _BATCH_FIELDS, path, all_required=False)
    parts: dict[str, Any] = {
        name: tuple(decode_records(kind, value[name], f"{path}.{name}"))
        for name, kind in _BATCH_SECTIONS.items()
        if name in value
    }
    for name in _BATCH_ID_LISTS:
        if name in value:
            parts[name] = tuple(_strings(value[name], f"{path}.{name}"))
    for name in _BATCH_DELTAS:
        if name in value:
            parts[name] = _deltas(value[name], f"{path}.{name}")
    if "deltas_at" in value:
        parts["deltas_at"] = decode_time(value["deltas_at"], f"{path}.deltas_at")
    if "put_vectors" in value:
        where = f"{path}.put_vectors"
        vectors = _list_of(value["put_vectors"], where)
        parts["put_vectors"] = tuple(
            decode_vector(v, f"{where}[{i}]") for i, v in enumerate(vectors)
        )
    if "put_meta" in value:
        parts["put_meta"] = _meta_pairs(value["put_meta"], f"{path}.put_meta")
    batch = WriteBatch(**parts)
    check_batch(batch)
    return batch


def _list_of(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise SnapshotFormatError(f"{path} must be a list")
    return value


def _meta_pairs(value: Any, path: str) -> tuple[tuple[str, Any], ...]:
    pairs = []
    for i, item in enumerate(_list_of(value, path)):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
            raise SnapshotFormatError(f"{path}[{i}] must be a [key, value] pair")
        pairs.append((item[0], item[1]))
    return tuple(pairs)


def _strings(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SnapshotFormatError(f"{path} must be a list of strings")
    return value


def _deltas(value: Any, path: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, list):
        raise SnapshotFormatError(f"{path} must be a list of [id, delta] pairs")
    pairs: list[tuple[str, float]] = []
    for i, item in enumerate(value):
        ok = isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
        delta = item[1] if ok else None
        if not ok or isinstance(delta, bool) or not isinstance(delta, int | float):
            raise SnapshotFormatError(f"{path}[{i}] must be an [id, delta] pair")
        if not math.isfinite(delta):
            raise SnapshotFormatError(f"{path}[{i}] delta must be finite")
        pairs.append((item[0], float(delta)))
    return tuple(pairs)


# -- query filters (the server reads them with its request models) --------------------------


def encode_neuron_filter(query: NeuronFilter) -> dict[str, Any]:
    """The fields of a ``find_neurons`` request."""
    kind = query.type.value if query.type is not None else None
    return {"type": kind, "content": query.content, "limit": query.limit}


def encode_synapse_filter(query: SynapseFilter) -> dict[str, Any]:
    """The fields of a ``find_synapses`` request."""
    return {
        "source_id": query.source_id,
        "target_id": query.target_id,
        "type": query.type.value if query.type is not None else None,
        "limit": query.limit,
    }


def encode_fiber_filter(query: FiberFilter) -> dict[str, Any]:
    """The fields of a ``find_fibers`` request."""
    fields = {"neuron_id": query.neuron_id, "tags": sorted(query.tags), "limit": query.limit}
    # sent only when set, so a server from before the field answers every other request
    return {**fields, "current": True} if query.current else fields


def encode_typed_memory_filter(query: TypedMemoryFilter) -> dict[str, Any]:
    """The fields of a ``find_typed_memories`` request."""
    return {
        "memory_type": query.memory_type.value if query.memory_type is not None else None,
        "min_priority": query.min_priority,
        "tags": sorted(query.tags),
        "project_id": query.project_id,
        "fiber_ids": sorted(query.fiber_ids) if query.fiber_ids is not None else None,
        "not_expired_at": optional_time(query.not_expired_at),
        "limit": query.limit,
    }


def encode_alert_filter(query: AlertFilter) -> dict[str, Any]:
    """The fields of a ``find_alerts`` request."""
    return {
        "ids": sorted(query.ids) if query.ids is not None else None,
        "statuses": _values(query.statuses),
        "types": _values(query.types),
        "limit": query.limit,
    }


def _values(members: frozenset[AlertStatus] | frozenset[AlertType] | None) -> list[str] | None:
    return sorted(m.value for m in members) if members is not None else None


# -- errors --------------------------------------------------------------------------------


def error_status(exc: NeuralMemoryError) -> tuple[int, str]:
    """The HTTP status and the public error type for ``exc``.

    The type is the most specific class of :mod:`neural_memory.errors` the exception is an
    instance of, except that a SnapshotFormatError from decoding a request is reported as
    ValidationError and the server's closed storage as StorageUnavailableError (a client
    must not think itself closed). Storage failures without a better code are 500.
    """
    status = next((code for kind, code in _STATUS if isinstance(exc, kind)), 500)
    if isinstance(exc, SnapshotFormatError):
        return status, "ValidationError"
    if isinstance(exc, StorageClosedError):
        return status, "StorageUnavailableError"  # the server's storage, not the client's
    public = {getattr(errors_module, name) for name in errors_module.__all__}
    kind = next((k for k in type(exc).__mro__ if k in public), NeuralMemoryError)
    return status, kind.__name__


def error_body(error_type: str, message: str) -> dict[str, str]:
    """The JSON body of every error answer."""
    return {"error": error_type, "message": message}


def error_from_body(status: int, body: Any) -> NeuralMemoryError:
    """The typed exception an error answer stands for (StorageError when unknown)."""
    error_type = body.get("error") if isinstance(body, dict) else None
    message = body.get("message") if isinstance(body, dict) else None
    text = message if isinstance(message, str) else f"the server answered HTTP {status}"
    if error_type == REQUEST_TOO_LARGE:
        return LimitExceededError(text)
    if isinstance(error_type, str) and error_type in errors_module.__all__:
        kind = getattr(errors_module, error_type)
        if isinstance(kind, type) and issubclass(kind, NeuralMemoryError):
            return kind(text)
    if status == 503:
        return StorageUnavailableError(text)
    return StorageError(f"HTTP {status}: {text}" if isinstance(message, str) else text)


def check_response(section: str, payload: Any, key: str) -> Any:
    """``payload[key]`` of a server answer; SnapshotFormatError when it is missing."""
    if not isinstance(payload, dict) or key not in payload:
        raise SnapshotFormatError(f"{section} answer has no {key!r} field")
    return payload[key]
