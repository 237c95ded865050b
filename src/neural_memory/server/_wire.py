"""The JSON wire format shared by the HTTP server and :class:`SharedStorage` (pure, no I/O).

Brains, neurons, synapses, fibers, typed memories and projects travel in the strict format of
the sharing codec (:mod:`neural_memory.sharing._codec`): ``encode_entity`` on the way out,
its validating decoders on the way in. This module adds what only the storage protocol
carries: alerts, recall events, change records, statistics, write batches, and the error
envelope ``{"error": <type>, "message": <text>}`` with its HTTP status codes.

Decoders raise :class:`~neural_memory.errors.SnapshotFormatError` (a ValidationError) naming
the offending path, so bad input becomes HTTP 422 on the server.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from typing import Any

import neural_memory.errors as errors_module
from neural_memory.core.alert import Alert, AlertSeverity, AlertStatus, AlertType
from neural_memory.core.events import BrainStats, ChangeKind, ChangeRecord, RecallEvent
from neural_memory.errors import (
    AlreadyExistsError,
    BrainNotSetError,
    ConfigError,
    NeuralMemoryError,
    NotFoundError,
    SnapshotFormatError,
    StorageClosedError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.sharing._codec import DECODERS, _build, _Fields, decode_time, encode_entity
from neural_memory.sharing.limits import MAX_FIBER_MEMBERS
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "PROTOCOL_VERSION",
    "REQUEST_TOO_LARGE",
    "STORAGE_PREFIX",
    "check_response",
    "decode_alert",
    "decode_change",
    "decode_entities",
    "decode_recall_event",
    "decode_stats",
    "decode_write_batch",
    "dump_json",
    "encode_change",
    "encode_write_batch",
    "error_body",
    "error_from_body",
    "error_status",
]

PROTOCOL_VERSION = 1
"""Version of the ``/v1/storage`` protocol; the health route reports it."""

STORAGE_PREFIX = "/v1/storage"
"""Path prefix of the storage RPC routes."""

REQUEST_TOO_LARGE = "RequestTooLarge"
"""Error type of an HTTP 413 answer (the client raises ValidationError for it)."""

_BATCH_SECTIONS: dict[str, str] = {
    "insert_neurons": "neurons",
    "ensure_neurons": "neurons",
    "update_neurons": "neurons",
    "insert_synapses": "synapses",
    "ensure_synapses": "synapses",
    "update_synapses": "synapses",
    "insert_fibers": "fibers",
    "update_fibers": "fibers",
    "put_typed_memories": "typed_memories",
    "put_projects": "projects",
}
_BATCH_ID_LISTS = (
    "delete_fiber_ids",
    "delete_synapse_ids",
    "delete_neuron_ids",
    "delete_typed_memory_ids",
    "delete_project_ids",
)

# Most specific first: the first class an exception is an instance of decides its status.
_STATUS: tuple[tuple[type[NeuralMemoryError], int], ...] = (
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (ValidationError, 422),
    (ConfigError, 422),
    (BrainNotSetError, 422),
    (StorageUnavailableError, 503),
    (StorageClosedError, 503),
)


# -- JSON ----------------------------------------------------------------------------------


def dump_json(value: Any) -> bytes:
    """Compact UTF-8 JSON; ValidationError when ``value`` is not JSON data (NaN included)."""
    try:
        return json.dumps(
            value, allow_nan=False, ensure_ascii=False, separators=(",", ":")
        ).encode()
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"value is not JSON data: {exc}") from None


# -- entities ------------------------------------------------------------------------------


def decode_entities(section: str, values: Any, path: str) -> list[Any]:
    """A JSON list of ``section`` entities (``"neurons"``, ``"fibers"``, ...), validated."""
    decode = DECODERS[section]
    if not isinstance(values, list):
        raise SnapshotFormatError(f"{path} must be a list")
    return [decode(item, f"{path}[{i}]") for i, item in enumerate(values)]


def decode_alert(value: Any, path: str = "alert") -> Alert:
    """One alert, every field required."""
    f = _Fields(value, path, Alert)
    return _build(
        path,
        Alert,
        id=f.text("id"),
        alert_type=f.enum("alert_type", AlertType),
        severity=f.enum("severity", AlertSeverity),
        message=f.text("message"),
        status=f.enum("status", AlertStatus),
        metric_value=f.number("metric_value"),
        threshold=f.number("threshold"),
        created_at=f.time("created_at"),
        seen_at=f.optional_time("seen_at"),
        acknowledged_at=f.optional_time("acknowledged_at"),
        resolved_at=f.optional_time("resolved_at"),
    )


def decode_recall_event(value: Any, path: str = "event") -> RecallEvent:
    """One recall event, every field required."""
    f = _Fields(value, path, RecallEvent)
    return _build(
        path,
        RecallEvent,
        id=f.text("id"),
        query=f.text("query"),
        fiber_ids=tuple(f.strings("fiber_ids", MAX_FIBER_MEMBERS)),
        confidence=f.number("confidence"),
        created_at=f.time("created_at"),
    )


def decode_stats(value: Any, path: str = "stats") -> BrainStats:
    """Brain statistics, every field required."""
    f = _Fields(value, path, BrainStats)
    counts = {
        field.name: f.integer(field.name)
        for field in dataclasses.fields(BrainStats)
        if field.name != "oldest_unused_fiber_at"
    }
    return _build(
        path, BrainStats, oldest_unused_fiber_at=f.optional_time("oldest_unused_fiber_at"), **counts
    )


def encode_change(change: ChangeRecord) -> list[Any]:
    """A change record as a compact ``[seq, kind, entity_id]`` triple."""
    return [change.seq, change.kind.value, change.entity_id]


def decode_change(value: Any, path: str = "change") -> ChangeRecord:
    """A ``[seq, kind, entity_id]`` triple."""
    if not isinstance(value, list) or len(value) != 3:
        raise SnapshotFormatError(f"{path} must be a [seq, kind, entity_id] list")
    seq, kind, entity_id = value
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 0:
        raise SnapshotFormatError(f"{path}[0] must be a non-negative integer, got {seq!r}")
    if kind not in {member.value for member in ChangeKind}:
        raise SnapshotFormatError(f"{path}[1] is not a change kind: {kind!r}")
    if not isinstance(entity_id, str):
        raise SnapshotFormatError(f"{path}[2] must be a string")
    return ChangeRecord(seq, ChangeKind(kind), entity_id)


# -- write batches -------------------------------------------------------------------------


def encode_write_batch(batch: WriteBatch) -> dict[str, Any]:
    """A WriteBatch as JSON; empty sections are left out (``deltas_at`` always written)."""
    body: dict[str, Any] = {"deltas_at": batch.deltas_at.isoformat()}
    for name in _BATCH_SECTIONS:
        items = getattr(batch, name)
        if items:
            body[name] = [encode_entity(item) for item in items]
    if batch.synapse_deltas:
        body["synapse_deltas"] = [[sid, delta] for sid, delta in batch.synapse_deltas]
    for name in _BATCH_ID_LISTS:
        ids = getattr(batch, name)
        if ids:
            body[name] = list(ids)
    return body


def decode_write_batch(value: Any, path: str = "batch") -> WriteBatch:
    """A WriteBatch from JSON (missing sections are empty); strict about everything else."""
    if not isinstance(value, Mapping):
        raise SnapshotFormatError(f"{path} must be an object")
    known = {f.name for f in dataclasses.fields(WriteBatch)}
    unknown = value.keys() - known
    if unknown:
        raise SnapshotFormatError(f"{path} has unknown field(s) {sorted(unknown)}")
    parts: dict[str, Any] = {
        name: tuple(decode_entities(section, value[name], f"{path}.{name}"))
        for name, section in _BATCH_SECTIONS.items()
        if name in value
    }
    for name in _BATCH_ID_LISTS:
        if name in value:
            parts[name] = tuple(_strings(value[name], f"{path}.{name}"))
    if "synapse_deltas" in value:
        parts["synapse_deltas"] = _deltas(value["synapse_deltas"], f"{path}.synapse_deltas")
    if "deltas_at" in value:
        parts["deltas_at"] = decode_time(value["deltas_at"], f"{path}.deltas_at")
    return WriteBatch(**parts)


def _strings(value: Any, path: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise SnapshotFormatError(f"{path} must be a list of strings")
    return value


def _deltas(value: Any, path: str) -> tuple[tuple[str, float], ...]:
    if not isinstance(value, list):
        raise SnapshotFormatError(f"{path} must be a list of [synapse_id, delta] pairs")
    pairs: list[tuple[str, float]] = []
    for i, item in enumerate(value):
        ok = isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
        delta = item[1] if ok else None
        if not ok or isinstance(delta, bool) or not isinstance(delta, int | float):
            raise SnapshotFormatError(f"{path}[{i}] must be a [synapse_id, delta] pair")
        if not math.isfinite(delta):
            raise SnapshotFormatError(f"{path}[{i}] delta must be finite")
        pairs.append((item[0], float(delta)))
    return tuple(pairs)


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
        return ValidationError(text)
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
