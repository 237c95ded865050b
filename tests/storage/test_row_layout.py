"""SQL row layouts derived from the codec's field table: the same columns and cells on disk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from neural_memory.codec.schema import SCHEMAS
from neural_memory.core import Fiber, Neuron, NeuronType
from neural_memory.errors import ValidationError
from neural_memory.storage import _sqlite_rows as rows
from tests.codec.test_codec import RECORDS
from tests.storage.helpers import at

LAYOUTS: list[rows.RowLayout[Any]] = [
    rows.BRAIN,
    rows.NEURON,
    rows.SYNAPSE,
    rows.FIBER,
    rows.TYPED_MEMORY,
    rows.PROJECT,
    rows.ALERT,
    rows.RECALL,
    rows.STATS,
]

# The columns existing brains were written with: a layout change must keep them (or migrate).
ON_DISK = {
    "brains": "id, name, config, created_at, updated_at",
    "neurons": "id, type, content, content_key, metadata, created_at, activation, access_count, "
    "last_accessed",
    "synapses": "id, source_id, target_id, type, weight, direction, metadata, created_at, "
    "last_activated, reinforced_count",
    "fibers": "id, neuron_ids, synapse_ids, anchor_neuron_id, pathway, content, conductivity, "
    "salience, last_conducted, access_count, tags, metadata, occurred_at, created_at, "
    "superseded_by, terms",
    "typed_memories": "id, fiber_id, memory_type, priority, source, expires_at, tags, "
    "project_id, created_at, metadata",
    "projects": "id, name, description, tags, created_at, ends_at",
    "alerts": "id, alert_type, severity, message, status, metric_value, threshold, created_at, "
    "seen_at, acknowledged_at, resolved_at",
    "recall_events": "id, query, fiber_ids, confidence, created_at",
}


def test_written_columns_are_those_existing_brains_have() -> None:
    written = [layout.columns for layout in LAYOUTS[:-1]]
    assert written == list(ON_DISK.values())


def test_every_layout_selects_its_records_fields_in_table_order() -> None:
    for layout in LAYOUTS:
        assert layout.fields == tuple(spec.name for spec in SCHEMAS[layout.kind])
        assert layout.selected == ", ".join(layout.fields)


def _selected_cells(layout: rows.RowLayout[Any], record: Any) -> tuple[Any, ...]:
    """The cells of ``record`` a read selects (its written cells without derived ones)."""
    names = layout.columns.split(", ")
    cells = dict(zip(names, layout.cells(record), strict=True))
    return tuple(cells[name] for name in layout.fields)


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: type(r).__name__)
def test_every_record_survives_its_row(record: Any) -> None:
    layout = next(layout for layout in LAYOUTS if layout.kind is type(record))
    assert layout.record(_selected_cells(layout, record)) == record


def test_a_fiber_row_stores_sets_sorted_times_in_micros_and_its_terms() -> None:
    fiber = Fiber.create(
        ["n-2", "n-1"],
        pathway=["n-2"],
        content="Where is the bakery?",
        tags={"b", "a"},
        metadata={"speaker": "Ann", "note": {"k": [1]}},
        created_at=at(0),
        fiber_id="f-1",
    )
    row = rows.fiber_row(7, fiber)
    assert row[:6] == (7, "f-1", '["n-1", "n-2"]', "[]", "n-2", '["n-2"]')
    assert row[11:13] == ('["a", "b"]', '{"speaker":"Ann","note":{"k":[1]}}')
    assert row[13] == row[14] == rows.to_micros(at(0))
    assert row[-1] == rows.stored_terms(fiber.content, "Ann")


ODD_IDS = [
    ["n-1"],
    ['q"uote', "b"],
    ['a", "b'],
    ["back\\slash"],
    ["tab\t", "\x01"],
    ["ü", "\u2028"],
]


@pytest.mark.parametrize("ids", ODD_IDS)
def test_id_arrays_are_the_json_encoders_whatever_the_ids_hold(ids: list[str]) -> None:
    fiber = Fiber.create(ids, pathway=ids, fiber_id="f-1")
    row = rows.fiber_row(7, fiber)
    assert row[2] == json.dumps(sorted(ids), ensure_ascii=False)
    assert row[5] == json.dumps(ids, ensure_ascii=False)
    assert rows.id_list(set(ids)) == row[2]


def test_a_neuron_row_stores_its_content_key_after_its_content() -> None:
    neuron = Neuron.create(NeuronType.ENTITY, "Bäckerei ALICE")
    row = rows.neuron_row(3, neuron)
    assert row[3:5] == ("Bäckerei ALICE", "bäckerei alice")


def test_metadata_that_is_not_json_is_refused_naming_the_record() -> None:
    fiber = Fiber.create(["n-1"], metadata={"when": at(0)})
    with pytest.raises(ValidationError, match="fiber metadata must be JSON-serialisable"):
        rows.fiber_row(1, fiber)
