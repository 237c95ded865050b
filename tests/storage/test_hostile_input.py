"""Hostile input on every backend: refused with the documented error, the brain stays usable.

Each case of issue 11 and its neighbours (NaN and infinity, every limit at and one past it,
broken Unicode, far dates) is written through the public API; the write must raise the
typed error of :mod:`neural_memory.core.limits`, store nothing, and leave a brain that still
exports, re-imports and recalls.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neural_memory import Brain, LimitExceededError, ValidationError
from neural_memory.core import Alert, AlertSeverity, AlertType, Fiber, Neuron, NeuronType
from neural_memory.core.events import RecallEvent
from neural_memory.core.limits import (
    MAX_ID_LENGTH,
    MAX_METADATA_CHARS,
    MAX_METADATA_DEPTH,
    MAX_NAME_LENGTH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
    MAX_YEAR,
    MIN_YEAR,
)
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval.pipeline import ReflexPipeline
from neural_memory.sharing import BrainExporter, BrainImporter
from neural_memory.storage import InMemoryStorage, Storage, WriteBatch
from neural_memory.storage.batch import FiberVector

_GOOD = "Alice adopted a grey cat named Miso"


async def _seed(storage: Storage) -> None:
    await MemoryEncoder(storage, Brain.create("x").config).encode(_GOOD)


async def _assert_still_usable(storage: Storage) -> None:
    """The brain exports, re-imports into a fresh storage and recalls its memory."""
    brain_id = storage.brain_id
    snapshot = await BrainExporter().export(storage, brain_id)
    copy = InMemoryStorage()
    await copy.initialize()
    await BrainImporter().import_brain(copy, snapshot.to_json(), "copy")
    copy.set_brain("copy")
    assert len(await copy.find_fibers()) == len(snapshot.fibers)
    result = await ReflexPipeline(storage, Brain.create("x").config).query("Alice cat Miso")
    assert any("Miso" in scored.content for scored in result.fibers)


def _neuron(**changes: Any) -> Neuron:
    return dataclasses.replace(Neuron.create(NeuronType.CONCEPT, "hostile"), **changes)


def _meta_of_size(size: int) -> dict[str, str]:
    """A metadata object whose compact JSON is exactly ``size`` characters."""
    overhead = len('{"k":""}')
    return {"k": "x" * (size - overhead)}


def _nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"k": value}
    return value


REFUSED_NEURONS: dict[str, tuple[Callable[[], Neuron], type[Exception], str]] = {
    "metadata NaN": (lambda: _neuron(metadata={"x": math.nan}), ValidationError, "JSON"),
    "metadata inf": (lambda: _neuron(metadata={"x": [1, -math.inf]}), ValidationError, "JSON"),
    "metadata tuple": (lambda: _neuron(metadata={"x": (1, 2)}), ValidationError, "change"),
    "metadata int key": (lambda: _neuron(metadata={1: "x"}), ValidationError, "change"),
    "metadata surrogate": (lambda: _neuron(metadata={"\ud800": 1}), ValidationError, "Unicode"),
    "metadata too large": (
        lambda: _neuron(metadata=_meta_of_size(MAX_METADATA_CHARS + 1)),
        LimitExceededError,
        str(MAX_METADATA_CHARS),
    ),
    "metadata too deep": (
        lambda: _neuron(metadata=_nested(MAX_METADATA_DEPTH + 1)),
        ValidationError,
        "nested",
    ),
    "content too long": (
        lambda: _neuron(content="x" * (MAX_TEXT_LENGTH + 1)),
        LimitExceededError,
        "longer",
    ),
    "content surrogate": (lambda: _neuron(content="a\udc00b"), ValidationError, "Unicode"),
    "content NUL": (lambda: _neuron(content="a\x00b"), ValidationError, "NUL"),
    "id too long": (lambda: _neuron(id="n" * (MAX_ID_LENGTH + 1)), LimitExceededError, "longer"),
    "year 1": (
        lambda: _neuron(created_at=datetime(1, 1, 1, tzinfo=UTC)),
        ValidationError,
        "years",
    ),
    "year 9999": (
        lambda: _neuron(last_accessed=datetime(9999, 12, 31, tzinfo=UTC)),
        ValidationError,
        "years",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED_NEURONS))
async def test_a_hostile_neuron_is_refused_and_nothing_is_written(
    storage: Storage, case: str
) -> None:
    await _seed(storage)
    make, error, match = REFUSED_NEURONS[case]
    neuron = make()
    before = await storage.get_stats()
    with pytest.raises(error, match=match):
        await storage.write(WriteBatch(insert_neurons=(neuron,)))
    assert await storage.get_stats() == before
    await _assert_still_usable(storage)


ACCEPTED_NEURONS: dict[str, Callable[[], Neuron]] = {
    "metadata at the limit": lambda: _neuron(metadata=_meta_of_size(MAX_METADATA_CHARS)),
    "metadata at the depth limit": lambda: _neuron(metadata=_nested(MAX_METADATA_DEPTH)),
    "content at the limit": lambda: _neuron(content="y" * MAX_TEXT_LENGTH),
    "id at the limit": lambda: _neuron(id="n" * MAX_ID_LENGTH),
    "first supported year": lambda: _neuron(created_at=datetime(MIN_YEAR, 1, 1, tzinfo=UTC)),
    "last supported year": lambda: _neuron(created_at=datetime(MAX_YEAR, 12, 31, tzinfo=UTC)),
    "astral characters": lambda: _neuron(content="emoji 🐈 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢"),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED_NEURONS))
async def test_a_neuron_at_a_limit_is_stored_and_the_brain_stays_usable(
    storage: Storage, case: str
) -> None:
    await _seed(storage)
    neuron = ACCEPTED_NEURONS[case]()
    await storage.write(WriteBatch(insert_neurons=(neuron,)))
    assert await storage.get_neuron(neuron.id) == neuron
    await _assert_still_usable(storage)


async def test_tags_at_and_past_their_limits(storage: Storage) -> None:
    await _seed(storage)
    anchor = _neuron()
    await storage.add_neuron(anchor)

    def fiber(tags: frozenset[str]) -> Fiber:
        return Fiber.create(neuron_ids=[anchor.id], anchor_neuron_id=anchor.id, tags=tags)

    many = fiber(frozenset(f"t{i}" for i in range(MAX_TAGS)))
    await storage.add_fiber(many)
    too_many = fiber(frozenset(f"t{i}" for i in range(MAX_TAGS + 1)))
    with pytest.raises(LimitExceededError, match=str(MAX_TAGS)):
        await storage.add_fiber(too_many)
    with pytest.raises(LimitExceededError, match="longer"):
        await storage.add_fiber(fiber(frozenset({"t" * (MAX_NAME_LENGTH + 1)})))
    assert await storage.get_fiber(too_many.id) is None
    assert await storage.get_fiber(many.id) == many
    await _assert_still_usable(storage)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
async def test_non_finite_meta_values_deltas_and_alerts_are_refused(
    storage: Storage, value: float
) -> None:
    await _seed(storage)
    with pytest.raises(ValidationError, match="JSON"):
        await storage.set_meta("score", value)
    with pytest.raises(ValidationError, match="JSON"):
        await storage.write(WriteBatch(put_meta=(("score", {"x": [value]}),)))
    with pytest.raises(ValidationError, match="finite"):
        await storage.write(WriteBatch(synapse_deltas=(("s", value),)))
    alert = Alert.create(AlertType.HIGH_ORPHAN_RATIO, AlertSeverity.INFO, "odd", metric_value=value)
    with pytest.raises(ValidationError, match="finite"):
        await storage.add_alerts([alert])
    assert await storage.get_meta("score") is None
    assert await storage.get_alerts() == []
    await _assert_still_usable(storage)


async def test_bad_meta_keys_vectors_events_and_brains_are_refused(storage: Storage) -> None:
    await _seed(storage)
    with pytest.raises(ValidationError, match="Unicode"):
        await storage.set_meta("key\ud800", 1)
    with pytest.raises(LimitExceededError):
        await storage.set_meta("k" * (MAX_NAME_LENGTH + 1), 1)
    fiber_id = (await storage.find_fibers())[0].id
    huge = FiberVector(fiber_id, "model", np.ones(70_000, dtype=np.float32))
    with pytest.raises(LimitExceededError, match="dimensions"):
        await storage.write(WriteBatch(put_vectors=(huge,)))
    event = RecallEvent.create("broken \udfff query", [], confidence=0.5)
    with pytest.raises(ValidationError, match="Unicode"):
        await storage.add_recall_event(event)
    with pytest.raises(LimitExceededError):
        await storage.save_brain(Brain.create("b" * (MAX_NAME_LENGTH + 1)))
    await storage.set_meta("fine", {"nested": [1, 2.5, "ok", None, True]})
    assert await storage.get_meta("fine") == {"nested": [1, 2.5, "ok", None, True]}
    await _assert_still_usable(storage)


_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
)
_json = st.recursive(
    _json_leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    texts=st.lists(st.text(min_size=1, max_size=60), min_size=1, max_size=3),
    metadata=st.dictionaries(st.text(max_size=10), _json, max_size=3),
    tags=st.frozensets(st.text(min_size=1, max_size=12), max_size=4),
)
async def test_any_accepted_write_leaves_a_brain_that_exports_imports_and_recalls(
    storage: Storage, texts: list[str], metadata: dict[str, Any], tags: frozenset[str]
) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    await encoder.encode(_GOOD)
    for text in texts:
        try:
            await encoder.encode(text, metadata=metadata, tags=tags)
        except ValidationError:
            continue  # refused: nothing of it was written
    await _assert_still_usable(storage)
