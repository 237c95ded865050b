"""A recall answer is serialised without models into exactly the bytes the models give.

The route builds a plain :class:`RecallWire` dict and serialises it with ``RECALL_JSON``
(session 13: building eleven models per recall cost more than serialising them). The bytes
must be those ``RecallResponse.model_construct(...).model_dump_json()`` gave before.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_memory.server.engine_models import (
    RECALL_JSON,
    PathStepModel,
    RecalledFiber,
    RecalledFiberWire,
    RecallResponse,
    RecallWire,
    WhyModel,
)
from tests.server.test_http_api import create_brain, remember

text = st.text(max_size=40)
number = st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | number | text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
moments = st.none() | st.datetimes(
    min_value=datetime(1, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
)
steps = st.builds(
    PathStepModel,
    neuron_id=text,
    label=text,
    via=st.sampled_from(["anchor", "synapse", "memory"]),
    through_memory=st.none() | text,
)
whys = st.none() | st.builds(
    WhyModel, anchors=st.lists(text, max_size=3), path=st.lists(steps, max_size=3)
)


@st.composite
def fibers(draw: st.DrawFn) -> RecalledFiberWire:
    return {
        "fiber_id": draw(text),
        "content": draw(text),
        "score": draw(number),
        "lexical": draw(number),
        "activation": draw(number),
        "semantic": draw(number),
        "occurred_at": draw(moments),
        "metadata": draw(st.dictionaries(text, json_values, max_size=4)),
        "why": draw(whys),
    }


@st.composite
def answers(draw: st.DrawFn) -> RecallWire:
    return {
        "query": draw(text),
        "context": draw(st.text(max_size=200)),
        "confidence": draw(number),
        "depth_used": draw(st.sampled_from(["instant", "context", "habit", "deep"])),
        "neurons_activated": draw(st.integers(0, 2**40)),
        "tokens_used": draw(st.integers(0, 2**40)),
        "latency_ms": draw(number),
        "fibers": draw(st.lists(fibers(), max_size=4)),
    }


def _as_models(answer: RecallWire) -> RecallResponse:
    """The answer as the route built it before: models made with ``model_construct``."""
    values: dict[str, Any] = dict(answer)
    values["fibers"] = [RecalledFiber.model_construct(**f) for f in answer["fibers"]]
    return RecallResponse.model_construct(**values)


@settings(max_examples=300, deadline=None)
@given(answers())
def test_the_wire_dict_serialises_to_the_bytes_of_the_models(answer: RecallWire) -> None:
    assert RECALL_JSON.dump_json(answer) == _as_models(answer).model_dump_json().encode()


def test_the_wire_dicts_have_the_models_fields_in_their_order() -> None:
    assert list(RecallWire.__annotations__) == list(RecallResponse.model_fields)
    assert list(RecalledFiberWire.__annotations__) == list(RecalledFiber.model_fields)


async def test_a_recall_answers_the_bytes_its_models_give(http: httpx.AsyncClient) -> None:
    brain_id = await create_brain(http)
    await remember(http, brain_id, text="Alice chose PostgreSQL for billing", speaker="Bob")
    await remember(http, brain_id, text="Alice and Bob reviewed the billing schema on Monday")
    for body in ({"query": "What did Alice choose?"}, {"query": "Why billing?", "explain": True}):
        response = await http.post(f"/brains/{brain_id}/recall", json=body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        answer = RecallResponse.model_validate_json(response.content)
        assert answer.fibers
        assert response.content == answer.model_dump_json().encode()
