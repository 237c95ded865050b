"""Hostile JSON through the HTTP server: typed 413/422 answers, and the brain stays usable."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from neural_memory import Brain
from neural_memory.core import Neuron, NeuronType
from neural_memory.core.limits import (
    MAX_META_VALUE_CHARS,
    MAX_NAME_LENGTH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
)
from neural_memory.sharing import BrainExporter
from neural_memory.storage import WriteBatch
from neural_memory.storage._wire import encode_write_batch
from tests.server.conftest import Served

_NAN_METADATA = b'{"text": "Alice adopted a cat", "metadata": {"score": NaN}}'


async def _brain(http: httpx.AsyncClient) -> str:
    response = await http.post("/brains", json={"name": "hostile"})
    assert response.status_code == 201, response.text
    brain_id: str = response.json()["id"]
    stored = await http.post(f"/brains/{brain_id}/memories", json={"text": "Bob owns a red kite"})
    assert stored.status_code == 201, stored.text
    return brain_id


def _refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] in {"ValidationError", "LimitExceededError"}


async def _assert_usable(http: httpx.AsyncClient, served: Served, brain_id: str) -> None:
    recall = await http.post(f"/brains/{brain_id}/recall", json={"query": "Bob kite"})
    assert recall.status_code == 200, recall.text
    assert "kite" in recall.text
    snapshot = await BrainExporter().export(served.storage, brain_id)
    assert len(snapshot.fibers) == 1


@pytest.mark.parametrize(
    "body",
    [
        _NAN_METADATA,
        b'{"text": "x", "metadata": {"v": [1, Infinity]}}',
        b'{"text": "broken \\ud800 text"}',
        b'{"text": "x", "timestamp": "0001-01-01T00:00:00Z"}',
        b'{"text": "x", "timestamp": "9999-12-31T23:59:59Z"}',
        b'{"text": "x", "tags": "not a list"}',
        b'{"text": 12}',
        b'{"text": "x", "salience": NaN}',
    ],
)
async def test_hostile_memories_are_422(
    http: httpx.AsyncClient, served: Served, body: bytes
) -> None:
    brain_id = await _brain(http)
    response = await http.post(
        f"/brains/{brain_id}/memories", content=body, headers={"content-type": "application/json"}
    )
    _refused(response, 422)
    await _assert_usable(http, served, brain_id)


async def test_hostile_storage_rpc_writes_are_refused(
    http: httpx.AsyncClient, served: Served
) -> None:
    brain_id = await _brain(http)
    neuron = Neuron.create(NeuronType.CONCEPT, "fine")
    encoded: dict[str, Any] = encode_write_batch(WriteBatch(insert_neurons=(neuron,)))
    encoded["insert_neurons"][0]["metadata"] = {"x": "\ud800"}
    surrogate = json.dumps({"brain_id": brain_id, "batch": encoded}).encode()  # ASCII escapes
    headers = {"content-type": "application/json"}
    _refused(await http.post("/v1/storage/write", content=surrogate, headers=headers), 422)
    raw = b'{"brain_id": "%s", "batch": {"put_meta": [["k", NaN]]}}' % brain_id.encode()
    _refused(await http.post("/v1/storage/write", content=raw, headers=headers), 422)
    meta = b'{"brain_id": "%s", "key": "k", "value": [NaN]}' % brain_id.encode()
    _refused(await http.post("/v1/storage/set_meta", content=meta, headers=headers), 422)
    huge = {"brain_id": brain_id, "key": "k", "value": "x" * (MAX_META_VALUE_CHARS + 1)}
    _refused(await http.post("/v1/storage/set_meta", json=huge), 413)
    served.storage.set_brain(brain_id)
    assert await served.storage.get_meta("k") is None
    assert await served.storage.get_neuron(neuron.id) is None
    await _assert_usable(http, served, brain_id)


async def test_a_brain_with_a_nan_config_is_refused(http: httpx.AsyncClient) -> None:
    body = b'{"name": "b", "config": {"decay_rate": NaN}}'
    response = await http.post(
        "/brains", content=body, headers={"content-type": "application/json"}
    )
    _refused(response, 422)
    assert Brain.create("ok").config.decay_rate > 0


@pytest.mark.parametrize(
    "body",
    [
        {"text": "x" * (MAX_TEXT_LENGTH + 1)},
        {"text": "x", "tags": ["t"] * (MAX_TAGS + 1)},
        {"text": "x", "tags": ["t" * (MAX_NAME_LENGTH + 1)]},
    ],
    ids=["text", "tag count", "tag length"],
)
async def test_oversized_engine_requests_are_413(
    http: httpx.AsyncClient, served: Served, body: dict[str, Any]
) -> None:
    brain_id = await _brain(http)
    response = await http.post(f"/brains/{brain_id}/memories", json=body)
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "LimitExceededError"
    too_long_query = {"query": "q" * (MAX_TEXT_LENGTH + 1)}
    recall = await http.post(f"/brains/{brain_id}/recall", json=too_long_query)
    assert (recall.status_code, recall.json()["error"]) == (413, "LimitExceededError")
    await _assert_usable(http, served, brain_id)
