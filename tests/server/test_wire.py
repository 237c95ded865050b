"""The wire format: errors survive the trip as the same types, decoding is strict."""

from __future__ import annotations

from typing import Any

import pytest

import neural_memory.errors as errors
from neural_memory.codec import decode_change, decode_record, encode_change, encode_record
from neural_memory.core import (
    Alert,
    AlertSeverity,
    AlertType,
    BrainStats,
    ChangeKind,
    ChangeRecord,
    RecallEvent,
)
from neural_memory.errors import SnapshotFormatError, StorageError
from neural_memory.storage import WriteBatch
from neural_memory.storage._wire import (
    decode_write_batch,
    encode_alert_filter,
    encode_typed_memory_filter,
    encode_write_batch,
    error_body,
    error_from_body,
    error_status,
)
from neural_memory.storage.filters import AlertFilter, TypedMemoryFilter
from tests.storage.helpers import at, fiber, neuron, synapse

# A client must never see its own storage as closed because the server's one is.
RENAMED = {
    "SnapshotFormatError": "ValidationError",
    "StorageClosedError": "StorageUnavailableError",
}
STATUS = {
    "NotFoundError": 404,
    "BrainNotFoundError": 404,
    "AccessDeniedError": 403,
    "AlreadyExistsError": 409,
    "ValidationError": 422,
    "SnapshotFormatError": 422,
    "ConfigError": 422,
    "LimitExceededError": 413,
    "BrainNotSetError": 422,
    "StorageUnavailableError": 503,
    "StorageClosedError": 503,
}


@pytest.mark.parametrize("name", [n for n in errors.__all__ if n.endswith("Error")])
def test_every_error_type_round_trips(name: str) -> None:
    raised = getattr(errors, name)("it broke")
    status, error_type = error_status(raised)
    assert status == STATUS.get(name, 500)
    assert error_type == RENAMED.get(name, name)
    back = error_from_body(status, error_body(error_type, "it broke"))
    assert type(back).__name__ == RENAMED.get(name, name)
    assert str(back) == "it broke"


def test_unknown_or_missing_error_bodies() -> None:
    assert type(error_from_body(500, {"error": "InternalError", "message": "x"})) is StorageError
    assert type(error_from_body(503, "Service Unavailable")) is errors.StorageUnavailableError
    assert type(error_from_body(413, {"error": "RequestTooLarge", "message": "x"})) is (
        errors.LimitExceededError
    )
    assert type(error_from_body(418, {"error": "ValueError", "message": "x"})) is StorageError


def test_records_round_trip() -> None:
    alert = Alert.create(
        AlertType.LOW_CONNECTIVITY, AlertSeverity.WARNING, "sparse", created_at=at(1)
    )
    seen = alert.mark_seen(at(2))
    assert decode_record(Alert, encode_record(seen), "alert") == seen
    event = RecallEvent.create("q", ["f-2", "f-1"], confidence=0.5, created_at=at(3))
    assert decode_record(RecallEvent, encode_record(event), "event") == event
    stats = BrainStats(neuron_count=3, oldest_unused_fiber_at=at(4), change_seq=9)
    assert decode_record(BrainStats, encode_record(stats), "stats") == stats
    change = ChangeRecord(7, ChangeKind.SYNAPSE, "s-1")
    assert decode_change(encode_change(change)) == change


def test_write_batch_round_trips_and_leaves_out_empty_sections() -> None:
    a, b = neuron("a"), neuron("b")
    s = synapse(a, b)
    batch = WriteBatch(
        insert_neurons=(a,),
        ensure_neurons=(b,),
        insert_synapses=(s,),
        synapse_deltas=((s.id, -0.25),),
        deltas_at=at(5),
        insert_fibers=(fiber(a, b),),
        delete_project_ids=("p-1",),
    )
    body = encode_write_batch(batch)
    assert set(body) == {
        "insert_neurons",
        "ensure_neurons",
        "insert_synapses",
        "synapse_deltas",
        "deltas_at",
        "insert_fibers",
        "delete_project_ids",
    }
    assert decode_write_batch(body) == batch


BAD_BATCHES: dict[str, tuple[Any, str]] = {
    "not an object": ([], "must be an object"),
    "unknown section": ({"insert_cats": []}, "insert_cats"),
    "entity missing fields": ({"insert_neurons": [{"id": "n"}]}, "insert_neurons[0]"),
    "delta not a pair": ({"synapse_deltas": [["s", 1, 2]]}, "synapse_deltas[0]"),
    "delta a string": ({"synapse_deltas": [["s", "0.1"]]}, "synapse_deltas[0]"),
    "ids not strings": ({"delete_neuron_ids": [1]}, "delete_neuron_ids"),
    "naive deltas_at": ({"deltas_at": "2024-05-01T12:00:00"}, "deltas_at"),
}


@pytest.mark.parametrize("case", sorted(BAD_BATCHES))
def test_bad_batches_are_refused_with_their_path(case: str) -> None:
    value, needle = BAD_BATCHES[case]
    with pytest.raises(SnapshotFormatError, match=needle.replace("[", r"\[")):
        decode_write_batch(value)


def test_bad_change_records_are_refused() -> None:
    for bad in ([1, "neuron"], [-1, "neuron", "n"], [1, "cat", "n"], [True, "fiber", "f"]):
        with pytest.raises(SnapshotFormatError):
            decode_change(bad)
    assert decode_change([0, "fiber", "f"]).seq == 0


def test_stats_need_every_field() -> None:
    body = encode_record(BrainStats())
    del body["change_seq"]
    with pytest.raises(SnapshotFormatError, match="change_seq"):
        decode_record(BrainStats, body, "stats")


def test_filters_travel_as_plain_json() -> None:
    # An empty status set means "none of them", which is not the same as no filter (null).
    assert encode_alert_filter(AlertFilter(statuses=frozenset()))["statuses"] == []
    assert encode_alert_filter(AlertFilter())["statuses"] is None
    body = encode_typed_memory_filter(
        TypedMemoryFilter(min_priority=6, tags=frozenset({"b", "a"}), not_expired_at=at(1))
    )
    assert (body["min_priority"], body["tags"]) == (6, ["a", "b"])
    assert body["not_expired_at"] == at(1).isoformat()
