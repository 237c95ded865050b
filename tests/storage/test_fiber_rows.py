"""get_fiber_rows: memories as recall indexes load them, the same from every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from neural_memory.core import Fiber
from neural_memory.engine.text import document_terms
from neural_memory.storage import Storage, WriteBatch
from neural_memory.storage._core import fiber_rows_of
from tests.storage.helpers import neuron

WHEN = datetime(2024, 5, 2, 23, 30, tzinfo=UTC)


def _terms(storage_terms: str | None, content: str | None, speaker: str | None) -> list[str]:
    if storage_terms is not None:
        return storage_terms.split()
    return document_terms(content or "", speaker)


async def test_fiber_rows_hold_what_the_index_needs(storage: Storage) -> None:
    a, b, c = neuron("alice"), neuron("bakery"), neuron("tuesday")
    first = Fiber(
        id="f-1",
        neuron_ids=frozenset({a.id, b.id, c.id}),
        anchor_neuron_id=b.id,
        pathway=(b.id, a.id),
        content="Did Alice open the bakery?",
        conductivity=0.5,
        metadata={"speaker": "Ann Lee", "follows": "f-0", "concept_of": a.id},
        occurred_at=WHEN,
        created_at=WHEN,
    )
    second = Fiber(
        id="f-2",
        neuron_ids=frozenset({a.id}),
        anchor_neuron_id=a.id,
        pathway=(a.id,),
        content="She did, on Tuesday.",
        metadata={"who": ["not", "a", "speaker"]},
        created_at=datetime(2024, 5, 3, tzinfo=UTC),
        superseded_by="f-3",
    )
    third = replace(second, id="f-3", superseded_by=None, metadata={}, content="")
    fibers = [first, second, third]
    await storage.write(WriteBatch(insert_neurons=(a, b, c), insert_fibers=tuple(fibers)))
    rows = await storage.get_fiber_rows()
    expected = fiber_rows_of(fibers)
    assert rows.ids == ["f-1", "f-2", "f-3"]
    assert rows.neuron_ids == expected.neuron_ids
    assert rows.neuron_ids[0] == (b.id, a.id, c.id)  # the pathway, then the rest sorted
    assert rows.days == [WHEN.toordinal(), *expected.days[1:]]
    assert rows.conductivity == [0.5, 1.0, 1.0]
    assert rows.suppressed == [True, True, False]
    assert rows.asks == [True, False, False]
    assert rows.speakers == ["Ann Lee", None, None]
    assert rows.follows == ["f-0", None, None]
    stored = zip(rows.terms, rows.contents, rows.speakers, strict=True)
    assert [_terms(*row) for row in stored] == [
        document_terms(f.content, s) for f, s in zip(fibers, rows.speakers, strict=True)
    ]


async def test_fiber_rows_of_an_empty_brain_are_empty(storage: Storage) -> None:
    rows = await storage.get_fiber_rows()
    assert rows.ids == [] and rows.terms == []
