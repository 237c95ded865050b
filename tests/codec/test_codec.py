"""The one JSON form of the core records: lossless, strict on the way in, one field table."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from neural_memory.codec import (
    FIELD_NAMES,
    MAX_TAGS,
    SCHEMAS,
    TIME_FIELDS,
    decode_change,
    decode_record,
    decode_records,
    encode_change,
    encode_record,
)
from neural_memory.core import (
    Alert,
    AlertSeverity,
    AlertType,
    Brain,
    BrainConfig,
    BrainStats,
    ChangeKind,
    ChangeRecord,
    Direction,
    Fiber,
    MemoryType,
    Neuron,
    NeuronType,
    Priority,
    Project,
    RecallEvent,
    Synapse,
    SynapseType,
    TypedMemory,
)
from neural_memory.errors import SnapshotFormatError, ValidationError
from neural_memory.storage import _redis_codec
from tests.storage.helpers import at

RECORDS: list[Any] = [
    Brain(
        id="b-1",
        name="work",
        config=BrainConfig(decay_rate=0.2, max_spread_hops=3),
        created_at=at(0),
        updated_at=at(1),
    ),
    Neuron(
        id="n-1",
        type=NeuronType.ENTITY,
        content="Alice Müller",
        metadata={"langs": ["python"], "nested": {"n": 1.5}},
        created_at=at(0),
        activation=0.73,
        access_count=4,
        last_accessed=at(5),
    ),
    Synapse(
        id="s-1",
        source_id="n-1",
        target_id="n-2",
        type=SynapseType.INVOLVES,
        weight=0.81,
        direction=Direction.BIDIRECTIONAL,
        metadata={"why": "meeting"},
        created_at=at(1),
        last_activated=at(6),
        reinforced_count=3,
    ),
    Fiber.create(
        ["n-1", "n-2"],
        ["s-1"],
        pathway=["n-1", "n-2"],
        content="Alice proposed REST",
        tags={"api", "meeting"},
        occurred_at=at(-60),
        created_at=at(2),
        fiber_id="f-1",
    ).superseded("f-2"),
    TypedMemory(
        id="tm-1",
        fiber_id="f-1",
        memory_type=MemoryType.DECISION,
        priority=Priority.HIGH,
        source="user_input",
        expires_at=at(600),
        tags=frozenset({"auth"}),
        project_id="p-1",
        created_at=at(3),
        metadata={"confidence": 0.9},
    ),
    Project(id="p-1", name="Q1", description="sprint", tags=frozenset({"q1"}), created_at=at(0)),
    Alert.create(
        AlertType.LOW_CONNECTIVITY, AlertSeverity.WARNING, "sparse", created_at=at(1)
    ).mark_seen(at(2)),
    RecallEvent.create("q", ["f-2", "f-1"], confidence=0.5, created_at=at(3)),
    BrainStats(neuron_count=3, oldest_unused_fiber_at=at(4), change_seq=9),
]


def as_json(value: Any) -> Any:
    return json.loads(json.dumps(value, allow_nan=False))


def test_field_table_matches_the_core_model() -> None:
    # A field added to a core record without a shape in the codec's table fails here.
    for kind in SCHEMAS:
        fields = dataclasses.fields(kind)
        assert FIELD_NAMES[kind] == tuple(f.name for f in fields), kind.__name__
        times = tuple(f.name for f in fields if "datetime" in str(f.type))
        assert TIME_FIELDS[kind] == times, kind.__name__
    assert {type(r) for r in RECORDS} | {BrainConfig} == set(SCHEMAS)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_every_record_survives_json_and_both_readers_agree(record: Any) -> None:
    text = json.dumps(encode_record(record))
    kind = type(record)
    assert decode_record(kind, json.loads(text), "record") == record
    # The Redis backend reads the same JSON on its trusted path.
    assert _redis_codec.decode(kind, text) == record
    assert json.loads(_redis_codec.encode(record)) == json.loads(text)


def test_encoding_is_plain_json_in_field_order() -> None:
    brain, neuron = RECORDS[0], RECORDS[1]
    body = encode_record(brain)
    assert list(body) == ["id", "name", "config", "created_at", "updated_at"]
    assert body["config"]["max_spread_hops"] == 3
    assert body["created_at"] == "2024-05-01T12:00:00+00:00"
    fiber = encode_record(RECORDS[3])
    assert fiber["tags"] == ["api", "meeting"]  # sets are sorted
    assert encode_record(neuron)["type"] == "entity"
    assert encode_record(RECORDS[4])["priority"] == 7
    with pytest.raises(ValidationError, match="not a core record"):
        encode_record(object())


def good(kind: type) -> dict[str, Any]:
    record = next(r for r in RECORDS if type(r) is kind)
    body: dict[str, Any] = as_json(encode_record(record))
    return body


def changed(kind: type, **fields: Any) -> dict[str, Any]:
    return {**good(kind), **fields}


BAD: dict[str, tuple[type, dict[str, Any], str]] = {
    "missing": (Neuron, {k: v for k, v in good(Neuron).items() if k != "content"}, "missing"),
    "unknown": (Neuron, changed(Neuron, evil=True), "unknown field(s) ['evil']"),
    "text": (Neuron, changed(Neuron, content=3), "x.content must be a string"),
    "number": (Neuron, changed(Neuron, activation="high"), "x.activation must be a number"),
    "bool number": (Synapse, changed(Synapse, weight=True), "x.weight must be a number"),
    "integer": (Neuron, changed(Neuron, access_count=1.5), "x.access_count must be an integer"),
    "enum": (Neuron, changed(Neuron, type="demon"), "x.type must be one of"),
    "naive time": (Neuron, changed(Neuron, created_at="2024-05-01T12:00:00"), "UTC offset"),
    "bad time": (Alert, changed(Alert, seen_at="yesterday"), "x.seen_at is not an ISO 8601"),
    "tags": (Fiber, changed(Fiber, tags="api"), "x.tags must be a list"),
    "many tags": (Project, changed(Project, tags=["t"] * (MAX_TAGS + 1)), "more than"),
    "members": (RecallEvent, changed(RecallEvent, fiber_ids=[1]), "only strings"),
    "metadata": (Synapse, changed(Synapse, metadata=[]), "x.metadata must be an object"),
    "reserved metadata": (
        Fiber,
        changed(Fiber, metadata={"role": 1, "mentions": 0}),
        "x: metadata['mentions'] must be a positive integer, got 0",
    ),
    "config": (Brain, changed(Brain, config={**good(Brain)["config"], "decay_rate": "1"}), ""),
    "range": (Synapse, changed(Synapse, weight=7), "x: "),
    "not an object": (BrainStats, [], "x must be an object, got a list"),
    # the records' own invariants (checked by column for neurons, synapses and fibers)
    "blank id": (Synapse, changed(Synapse, id=" "), "x: synapse id must not be empty"),
    "self loop": (Synapse, changed(Synapse, target_id="n-1"), "x: a synapse cannot connect"),
    "negative count": (Synapse, changed(Synapse, reinforced_count=-1), "x: reinforced_count"),
    "blank content": (Neuron, changed(Neuron, content=""), "x: neuron content must not be"),
    "activation": (Neuron, changed(Neuron, activation=-0.1), "x: activation must be between"),
    "anchor": (Fiber, changed(Fiber, anchor_neuron_id="n-9"), "x: anchor_neuron_id must be"),
    "pathway": (Fiber, changed(Fiber, pathway=["n-1", "n-9"]), "x: pathway names neurons"),
    "salience": (Fiber, changed(Fiber, salience=1.5), "x: salience must be between 0 and 1"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_records_are_refused_naming_the_path(case: str) -> None:
    kind, value, needle = BAD[case]
    with pytest.raises(SnapshotFormatError) as raised:
        decode_record(kind, value, "x")
    assert needle in str(raised.value)
    if case == "config":
        assert str(raised.value) == "x.config.decay_rate must be a number, got '1'"


def test_lists_of_records_name_each_item() -> None:
    neurons = [good(Neuron), changed(Neuron, id=7)]
    with pytest.raises(SnapshotFormatError, match=r"items\[1\]\.id must be a string"):
        decode_records(Neuron, neurons, "items")
    with pytest.raises(SnapshotFormatError, match="items must be a list"):
        decode_records(Neuron, {"n": good(Neuron)}, "items")
    with pytest.raises(ValidationError, match="not a core record"):
        decode_record(ChangeRecord, {}, "x")


def test_change_records_travel_as_triples() -> None:
    change = ChangeRecord(7, ChangeKind.SYNAPSE, "s-1")
    assert encode_change(change) == [7, "synapse", "s-1"]
    assert decode_change(as_json(encode_change(change))) == change
    for bad in ([1, "neuron"], [-1, "neuron", "n"], [1, "cat", "n"], [1, ["x"], "n"]):
        with pytest.raises(SnapshotFormatError):
            decode_change(bad)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_a_list_of_records_reads_as_each_record_does(record: Any) -> None:
    # Lists are read column by column; the records must be those read one by one, with
    # optional fields present in some items and null in others, and times in other offsets.
    kind = type(record)
    body = good(kind)
    emptied = {k: None for k, v in body.items() if v is not None and k in TIME_FIELDS[kind]}
    emptied.update({k: None for k in ("superseded_by", "project_id") if k in body})
    shifted = {k: body[k].replace("+00:00", "+02:00") for k in TIME_FIELDS[kind] if body[k]}
    items = [body, {**body, **emptied}, {**body, "id": "other", **shifted}]
    items = [item for item in items if _decodes(kind, item)]
    assert decode_records(kind, items, "items") == [
        decode_record(kind, item, f"items[{i}]") for i, item in enumerate(items)
    ]


def _decodes(kind: type, item: dict[str, Any]) -> bool:
    try:
        decode_record(kind, item, "x")
    except SnapshotFormatError:
        return False
    return True


@pytest.mark.parametrize("case", sorted(BAD))
def test_a_bad_record_in_a_list_is_named_by_its_index(case: str) -> None:
    kind, value, needle = BAD[case]
    items = [good(kind), good(kind), value] if isinstance(value, dict) else [good(kind), value]
    with pytest.raises(SnapshotFormatError) as raised:
        decode_records(kind, items, "items")
    assert str(raised.value).startswith(f"items[{len(items) - 1}]")
    assert needle.replace("x", f"items[{len(items) - 1}]", 1) in str(raised.value)


def test_integral_numbers_read_as_floats_in_lists() -> None:
    body = changed(Synapse, weight=1)
    (synapse,) = decode_records(Synapse, [body], "items")
    assert type(synapse.weight) is float and synapse.weight == 1.0
