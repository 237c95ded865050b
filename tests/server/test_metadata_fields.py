"""The interfaces' typed metadata fields come from the one table of reserved keys."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from neural_memory.core.fiber_metadata import MENTIONS, SHOWN_KEYS, SOURCES, SPEAKER
from neural_memory.mcp.models import MemoryModel, RecalledMemory
from neural_memory.server.engine_models import MemoryRequest
from neural_memory.server.metadata_fields import (
    given_metadata,
    metadata_fields_model,
    shown_metadata,
)


@pytest.mark.parametrize("model", [MemoryRequest, RecalledMemory, MemoryModel])
def test_every_shown_key_is_a_described_field_of_the_interface_models(model: type) -> None:
    properties = model.model_json_schema()["properties"]
    for key in SHOWN_KEYS:
        assert properties[key.name]["description"].startswith(key.meaning)


def test_answers_always_carry_the_shown_keys_requests_may_leave_them_out() -> None:
    names = {key.name for key in SHOWN_KEYS}
    assert names <= set(RecalledMemory.model_json_schema()["required"])
    assert names.isdisjoint(MemoryRequest.model_json_schema().get("required", []))


def test_a_field_takes_its_type_from_the_kind_of_its_key() -> None:
    model = metadata_fields_model("Probe", keys=(SPEAKER, MENTIONS, SOURCES))
    probe = model(speaker="Ann", mentions=2, sources=["f-1"])
    assert shown_metadata({"speaker": "Ann", "mentions": 2, "sources": ["f-1"]}, (SPEAKER,)) == {
        "speaker": "Ann"
    }
    assert given_metadata(probe, (SPEAKER, MENTIONS)) == {"speaker": "Ann", "mentions": 2}
    assert given_metadata(model(), (SPEAKER, MENTIONS)) == {}
    with pytest.raises(ValidationError):
        model(mentions="many")
    with pytest.raises(ValidationError):
        model(sources="f-1, f-2")


def test_a_request_stores_its_shown_fields_as_metadata() -> None:
    request = MemoryRequest(text="We met on Tuesday", speaker="Ann")
    assert given_metadata(request) == {"speaker": "Ann"}
    with pytest.raises(ValidationError):
        MemoryRequest(text="blank speaker", speaker="  ")
