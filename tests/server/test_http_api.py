"""The HTTP server over real HTTP: engine API round trips, error mapping, limits, seed sample."""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import socket
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from neural_memory import Brain
from neural_memory.codec import encode_record
from neural_memory.core import Alert, AlertSeverity, AlertType, Neuron, NeuronType
from neural_memory.errors import NeuralMemoryError, StorageUnavailableError, ValidationError
from neural_memory.server import create_app
from neural_memory.server.config import ServerConfig
from neural_memory.storage import InMemoryStorage, SharedStorage, SQLiteStorage, WriteBatch
from neural_memory.storage._core import StorageCore
from neural_memory.storage._wire import encode_write_batch
from tests.http_server import ADMIN_KEY, admin_headers
from tests.seed_exec import assert_verbatim
from tests.server.conftest import Served

Json = dict[str, Any]


async def create_brain(http: httpx.AsyncClient, name: str = "work", **extra: Any) -> str:
    response = await http.post("/brains", json={"name": name, **extra})
    assert response.status_code == 201, response.text
    brain_id: str = response.json()["id"]
    return brain_id


async def remember(http: httpx.AsyncClient, brain_id: str, **body: Any) -> Json:
    response = await http.post(f"/brains/{brain_id}/memories", json=body)
    assert response.status_code == 201, response.text
    answer: Json = response.json()
    return answer


async def stats(http: httpx.AsyncClient, brain_id: str) -> Json:
    response = await http.get(f"/brains/{brain_id}/stats")
    assert response.status_code == 200, response.text
    answer: Json = response.json()
    return answer


def assert_error(response: httpx.Response, status: int, error: str, *needles: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message"}
    assert body["error"] == error
    for needle in needles:
        assert needle in body["message"]


# -- engine API ----------------------------------------------------------------------------


async def test_encode_then_recall_round_trip(http: httpx.AsyncClient) -> None:
    brain_id = await create_brain(http, config={"max_context_tokens": 300})
    first = await remember(
        http,
        brain_id,
        text="Alice decided to use PostgreSQL for the billing service",
        timestamp="2024-05-01T10:00:00+00:00",
        speaker="Bob",
        tags=["db"],
    )
    await remember(http, brain_id, text="The office cat is called Miso")
    assert first["neurons_created"] > 0 and not first["merged"]
    again = await remember(
        http,
        brain_id,
        text="Alice decided to use PostgreSQL for the billing service",
        timestamp="2024-05-01T10:00:00+00:00",
        speaker="Bob",
    )
    assert again["merged"] and again["fiber_id"] == first["fiber_id"]

    response = await http.post(
        f"/brains/{brain_id}/recall",
        json={"query": "Which database did Alice choose for billing?", "max_fibers": 3},
    )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert "PostgreSQL" in answer["context"].splitlines()[0]
    assert "Bob" in answer["context"]
    assert answer["fibers"][0]["fiber_id"] == first["fiber_id"]
    assert answer["fibers"][0]["metadata"]["speaker"] == "Bob"
    assert answer["fibers"][0]["occurred_at"].startswith("2024-05-01T10:00:00")
    assert 0 < answer["confidence"] <= 1
    assert answer["depth_used"] in {"instant", "context", "habit", "deep"}
    assert answer["tokens_used"] <= 300
    counts = await stats(http, brain_id)
    assert counts["fiber_count"] == 2
    assert counts["neuron_count"] > 0 and counts["change_seq"] > 0


async def test_brains_are_listed_read_and_deleted(http: httpx.AsyncClient) -> None:
    assert (await http.get("/brains")).json() == {"brains": []}
    first = await create_brain(http, "first")
    second = await create_brain(http, "second", config={"decay_rate": 0.3})
    listed = (await http.get("/brains")).json()["brains"]
    assert [b["id"] for b in listed] == [first, second]
    one = (await http.get(f"/brains/{second}")).json()
    assert one["name"] == "second" and one["config"]["decay_rate"] == 0.3

    assert (await http.delete(f"/brains/{first}")).json() == {"deleted": True}
    assert_error(await http.get(f"/brains/{first}"), 404, "BrainNotFoundError", first)
    assert_error(await http.delete(f"/brains/{first}"), 404, "BrainNotFoundError")
    assert [b["id"] for b in (await http.get("/brains")).json()["brains"]] == [second]


async def test_consolidate_and_decay(http: httpx.AsyncClient) -> None:
    brain_id = await create_brain(http)
    for text in ("The wifi password is alpha", "The wifi password is bravo"):
        await remember(http, brain_id, text=text)
    seq = (await stats(http, brain_id))["change_seq"]
    later = (datetime.now(UTC) + timedelta(days=10)).isoformat()

    dry = await http.post(f"/brains/{brain_id}/decay", json={"dry_run": True, "now": later})
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["synapses_decayed"] > 0
    assert (await stats(http, brain_id))["change_seq"] == seq  # a dry run writes nothing

    slept = await http.post(f"/brains/{brain_id}/consolidate")
    assert slept.status_code == 200, slept.text
    assert slept.json()["decay_applied"] is True
    decayed = await http.post(f"/brains/{brain_id}/decay", json={"now": later})
    assert decayed.json()["synapses_decayed"] > 0
    assert (await stats(http, brain_id))["change_seq"] > seq


async def test_alerts_list_seen_acknowledge(served: Served, http: httpx.AsyncClient) -> None:
    brain_id = await create_brain(http)
    older = Alert.create(AlertType.STALE_FIBERS, AlertSeverity.INFO, "stale memories")
    newer = Alert.create(AlertType.HIGH_NEURON_COUNT, AlertSeverity.WARNING, "many neurons")
    async with SharedStorage(served.url, brain_id, api_key=ADMIN_KEY) as remote:
        await remote.add_alerts([older, newer])

    listed = (await http.get(f"/brains/{brain_id}/alerts")).json()["alerts"]
    assert [(a["id"], a["status"]) for a in listed] == [(newer.id, "active"), (older.id, "active")]
    seen = await http.post(f"/brains/{brain_id}/alerts/seen", json={"ids": [older.id, "a-x"]})
    assert seen.json() == {"changed": 1}
    ack = await http.post(f"/brains/{brain_id}/alerts/{newer.id}/acknowledge")
    assert ack.json() == {"acknowledged": True}
    open_now = (await http.get(f"/brains/{brain_id}/alerts")).json()["alerts"]
    assert [(a["id"], a["status"]) for a in open_now] == [(older.id, "seen")]
    acknowledged = await http.get(f"/brains/{brain_id}/alerts", params={"status": ["acknowledged"]})
    assert [a["id"] for a in acknowledged.json()["alerts"]] == [newer.id]
    assert_error(
        await http.post(f"/brains/{brain_id}/alerts/a-missing/acknowledge"),
        404,
        "NotFoundError",
        "a-missing",
    )
    pulse = await http.post(f"/brains/{brain_id}/health")
    assert pulse.status_code == 200, pulse.text
    assert pulse.json()["healthy"] is True


async def test_concurrent_encodes_all_land(http: httpx.AsyncClient) -> None:
    brain_id = await create_brain(http)
    texts = [f"Meeting {i} was about topic number {i}" for i in range(12)]
    await asyncio.gather(*(remember(http, brain_id, text=t) for t in texts))
    assert (await stats(http, brain_id))["fiber_count"] == 12


# -- errors and limits ---------------------------------------------------------------------


BAD_MEMORIES: dict[str, tuple[Json, str]] = {
    "missing text": ({}, "body.text"),
    "text of wrong type": ({"text": 42}, "body.text"),
    "empty text": ({"text": ""}, "body.text"),
    "unknown field": ({"text": "hi", "colour": "red"}, "body.colour"),
    "bad timestamp": ({"text": "hi", "timestamp": "yesterday"}, "body.timestamp"),
    "salience out of range": ({"text": "hi", "salience": 2}, "body.salience"),
    "tags as a string": ({"text": "hi", "tags": "db"}, "body.tags"),
    "blank text": ({"text": "   "}, "empty"),
}


@pytest.mark.parametrize("case", sorted(BAD_MEMORIES))
async def test_bad_memory_is_422_and_writes_nothing(http: httpx.AsyncClient, case: str) -> None:
    brain_id = await create_brain(http)
    body, needle = BAD_MEMORIES[case]
    response = await http.post(f"/brains/{brain_id}/memories", json=body)
    assert_error(response, 422, "ValidationError", needle)
    assert (await stats(http, brain_id))["change_seq"] == 0


async def test_malformed_json_and_bad_queries_are_422(http: httpx.AsyncClient) -> None:
    brain_id = await create_brain(http)
    malformed = await http.post(
        f"/brains/{brain_id}/memories",
        content=b'{"text": ',
        headers={"content-type": "application/json"},
    )
    assert_error(malformed, 422, "ValidationError", "JSON")
    deep = await http.post(f"/brains/{brain_id}/recall", json={"query": "x", "depth": "abyss"})
    assert_error(deep, 422, "ValidationError", "body.depth")
    fibers = await http.post(f"/brains/{brain_id}/recall", json={"query": "x", "max_fibers": 0})
    assert_error(fibers, 422, "ValidationError", "body.max_fibers")
    assert_error(await http.post("/brains", json={"name": ""}), 422, "ValidationError")
    config = await http.post("/brains", json={"name": "b", "config": {"decay_rate": 7}})
    assert_error(config, 422, "ValidationError", "decay_rate")
    assert [b["id"] for b in (await http.get("/brains")).json()["brains"]] == [brain_id]


async def test_unknown_brain_route_and_method(http: httpx.AsyncClient) -> None:
    missing = await http.post("/brains/no-such-brain/memories", json={"text": "hi"})
    assert_error(missing, 404, "BrainNotFoundError", "no-such-brain")
    assert_error(await http.get("/brains/no-such-brain/stats"), 404, "BrainNotFoundError")
    assert_error(await http.get("/nowhere"), 404, "RouteNotFound")
    not_allowed = await http.put("/brains")
    assert_error(not_allowed, 405, "MethodNotAllowed")
    assert set(not_allowed.headers["allow"].replace(" ", "").split(",")) == {"GET", "POST"}
    control = await http.get("/brains/bad%01id/stats")
    assert_error(control, 422, "ValidationError", "brain_id")


async def test_storage_rpc_errors_map_to_status_codes(http: httpx.AsyncClient) -> None:
    brain_id = await create_brain(http)
    neuron = Neuron.create(NeuronType.ENTITY, "Alice")
    batch = {
        "brain_id": brain_id,
        "batch": encode_write_batch(WriteBatch(insert_neurons=(neuron,))),
    }
    assert (await http.post("/v1/storage/write", json=batch)).json()["seq"] == 1
    assert_error(
        await http.post("/v1/storage/write", json=batch), 409, "AlreadyExistsError", neuron.id
    )
    gone = {**batch, "brain_id": "nope"}
    assert_error(await http.post("/v1/storage/write", json=gone), 404, "BrainNotFoundError")
    bad = {"brain_id": brain_id, "batch": {"insert_neurons": [{"id": "n"}]}}
    assert_error(
        await http.post("/v1/storage/write", json=bad),
        422,
        "ValidationError",
        "insert_neurons[0]",
    )
    limit = {"brain_id": brain_id, "limit": -1}
    assert_error(await http.post("/v1/storage/find_neurons", json=limit), 422, "ValidationError")
    seq = await http.post("/v1/storage/get_change_seq", json={"brain_id": brain_id})
    assert seq.json() == {"seq": 1}


async def test_closed_or_unreachable_storage_is_503(
    serve: Callable[..., Served], tmp_path: Path
) -> None:
    closed = InMemoryStorage()
    await closed.close()
    unusable = SQLiteStorage(tmp_path)  # a directory is no database
    for storage, needle in ((closed, "closed"), (unusable, str(tmp_path))):
        url = serve(storage).url
        async with httpx.AsyncClient(base_url=url, timeout=30, headers=admin_headers()) as http:
            assert_error(await http.get("/brains"), 503, "StorageUnavailableError", needle)
            assert_error(await http.get("/v1/storage/health"), 503, "StorageUnavailableError")
        with pytest.raises(StorageUnavailableError, match=needle):
            await SharedStorage(url, api_key=ADMIN_KEY).initialize()


async def test_request_size_limit(serve: Callable[..., Served]) -> None:
    served = serve(
        InMemoryStorage(), config=ServerConfig(admin_key=ADMIN_KEY, max_request_bytes=2_000)
    )
    async with httpx.AsyncClient(base_url=served.url, timeout=30, headers=admin_headers()) as http:
        brain_id = await create_brain(http)
        big = {"text": "word " * 1_000}
        declared = await http.post(f"/brains/{brain_id}/memories", json=big)
        assert_error(declared, 413, "RequestTooLarge", "2000")

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"text": "'
            for _ in range(100):
                yield b"word " * 10
            yield b'"}'

        streamed = await http.post(
            f"/brains/{brain_id}/memories",
            content=chunks(),
            headers={"content-type": "application/json"},
        )
        assert_error(streamed, 413, "RequestTooLarge")
        assert (await stats(http, brain_id))["change_seq"] == 0
        await remember(http, brain_id, text="small enough")
    async with SharedStorage(served.url, brain_id, api_key=ADMIN_KEY) as remote:
        with pytest.raises(ValidationError, match="larger than"):
            await remote.add_neurons(
                Neuron.create(NeuronType.CONCEPT, f"concept {i}") for i in range(100)
            )


# -- storage RPC surface, SharedStorage, lifespan ------------------------------------------


def test_every_backend_primitive_has_a_route() -> None:
    paths = create_app(InMemoryStorage(), config=ServerConfig(admin_key=ADMIN_KEY)).openapi()[
        "paths"
    ]
    routes = {
        path.removeprefix("/v1/storage/")
        for path, methods in paths.items()
        if path.startswith("/v1/storage/") and "post" in methods
    }
    primitives = {
        name.removeprefix("_")
        for name in StorageCore.__abstractmethods__
        if name not in {"_open", "_close"}
    }
    primitives.add("create_brain")  # not abstract: Storage has a non-transactional fallback
    assert routes == primitives


def _titled(node: Any, title: str) -> list[dict[str, Any]]:
    """Every object in a JSON document whose ``title`` is ``title``."""
    if isinstance(node, list):
        return [found for item in node for found in _titled(item, title)]
    if not isinstance(node, dict):
        return []
    here = [node] if node.get("title") == title else []
    return here + [found for value in node.values() for found in _titled(value, title)]


def test_the_openapi_fiber_types_the_reserved_metadata_keys() -> None:
    document = create_app(InMemoryStorage(), config=ServerConfig(admin_key=ADMIN_KEY)).openapi()
    fibers = _titled(document, "Fiber")
    assert fibers
    for fiber in fibers:
        metadata = fiber["properties"]["metadata"]
        keys = metadata["properties"]
        assert keys["speaker"]["type"] == "string"
        assert keys["follows"]["minLength"] == 1
        assert keys["mentions"] == {**keys["mentions"], "type": "integer", "minimum": 1}
        assert keys["edited"]["type"] == "boolean"
        assert metadata["additionalProperties"]  # free-form keys stay allowed


async def test_lifespan_opens_the_storage_and_leaves_it_open() -> None:
    storage = InMemoryStorage()
    app = create_app(storage, config=ServerConfig(admin_key=ADMIN_KEY))
    async with app.router.lifespan_context(app):
        await storage.save_brain(Brain.create("kept"))
    assert not storage.closed
    assert [b.name for b in await storage.list_brains()] == ["kept"]


async def test_unreachable_server_raises_storage_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    storage = SharedStorage(f"http://127.0.0.1:{port}", "brain")
    with pytest.raises(StorageUnavailableError, match="cannot reach"):
        await storage.initialize()
    assert not storage.closed


async def test_two_clients_share_one_brain(served: Served) -> None:
    from neural_memory.engine.encoder import MemoryEncoder
    from neural_memory.engine.retrieval import ReflexPipeline

    brain = Brain.create("team")
    async with (
        SharedStorage(served.url, api_key=ADMIN_KEY) as writer,
        SharedStorage(served.url, api_key=ADMIN_KEY) as reader,
    ):
        await writer.save_brain(brain)
        writer.set_brain(brain.id)
        reader.set_brain(brain.id)
        encoder = MemoryEncoder(writer, brain.config)
        pipeline = ReflexPipeline(reader, brain.config)
        await encoder.encode("Carol owns the deployment scripts")
        first = await pipeline.query("Who owns the deployment scripts?")
        assert "Carol" in first.context
        await encoder.encode("Dave maintains the monitoring dashboards")
        second = await pipeline.query("Who maintains the monitoring dashboards?")
        assert "Dave" in second.context.splitlines()[0]


class _ReadCounting(InMemoryStorage):
    """Notes every read of a brain record or of a change seq."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def _get_brain(self, brain_id: str) -> Brain | None:
        self.reads.append("brain")
        return await super()._get_brain(brain_id)

    async def _get_change_seq(self, brain_id: str) -> int:
        self.reads.append("seq")
        return await super()._get_change_seq(brain_id)


async def test_recalls_of_an_unchanged_brain_read_only_its_version(
    serve: Callable[..., Served],
) -> None:
    storage = _ReadCounting()
    served = serve(storage)
    async with httpx.AsyncClient(base_url=served.url, timeout=30, headers=admin_headers()) as http:
        brain_id = await create_brain(http)
        await remember(http, brain_id, text="Heidi keeps the backup tapes in the basement")
        query = {"query": "Who keeps the backup tapes?"}
        assert (await http.post(f"/brains/{brain_id}/recall", json=query)).status_code == 200
        storage.reads.clear()
        for _ in range(3):
            answer = await http.post(f"/brains/{brain_id}/recall", json=query)
            assert "Heidi" in answer.json()["context"]
        assert storage.reads == []  # the brain version told both were unchanged
        renamed = {"brain": encode_record(Brain.create("renamed", brain_id=brain_id))}
        assert (await http.post("/v1/storage/save_brain", json=renamed)).status_code == 200
        assert (await http.get(f"/brains/{brain_id}")).json()["name"] == "renamed"


SEED_SAMPLE = """
from neural_memory.storage import SharedStorage

async with SharedStorage("http://localhost:8000", "brain-id") as storage:
    neurons = await storage.find_neurons()
    await storage.add_neuron(neuron)
"""


async def test_seed_shared_storage_sample_runs(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert_verbatim(SEED_SAMPLE)
    monkeypatch.setenv("NEURAL_MEMORY_API_KEY", ADMIN_KEY)  # the sample passes no key
    await served.storage.save_brain(Brain.create("seed", brain_id="brain-id"))
    neuron = Neuron(id="neuron-123", type=NeuronType.ENTITY, content="Alice")
    # Verbatim but for the URL, which is the test server's.
    sample = SEED_SAMPLE.replace("http://localhost:8000", served.url)
    code = compile(sample, "<seed sample>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: Json = {"neuron": neuron}
    result = eval(code, namespace)  # the seed document's own sample
    if inspect.iscoroutine(result):
        await result
    assert namespace["neurons"] == []
    assert namespace["storage"].closed
    served.storage.set_brain("brain-id")
    assert await served.storage.get_neuron("neuron-123") == neuron


def test_server_keeps_the_most_recent_brains_warm() -> None:
    from neural_memory.server._state import ServerState

    storage = InMemoryStorage()
    state = ServerState(storage, max_views=2)

    def warm(brain_id: str) -> dict[str, object]:
        state.view(brain_id)
        return storage.attachments(brain_id)

    first = warm("a")
    assert warm("a") is first
    warm("b")
    warm("a")  # now the most recent
    warm("c")  # releases "b"
    assert warm("a") is first
    second = warm("b")  # releases "c"
    warm("c")  # releases "a"
    assert warm("b") is second
    assert warm("a") is not first
    state.forget("b")
    assert warm("b") is not second
    assert state.view("b").brain_id == "b"


class _BrainReadCounter(InMemoryStorage):
    """Notes every read of a brain record (what a server's caches spare)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def _get_brain(self, brain_id: str) -> Brain | None:
        self.reads.append(brain_id)
        return await super()._get_brain(brain_id)


async def test_server_keeps_the_most_recently_used_brain_records() -> None:
    from neural_memory.server._state import ServerState

    storage = _BrainReadCounter()
    state = ServerState(storage, max_records=2)
    for name in ("a", "b", "c"):
        await storage.save_brain(Brain.create(name, brain_id=name))

    async def read(brain_id: str) -> list[str]:
        storage.reads.clear()
        assert (await state.brain(brain_id)).id == brain_id
        return list(storage.reads)

    assert await read("a") == ["a"]
    assert await read("b") == ["b"]
    assert await read("a") == []  # cached, now the most recent
    assert await read("c") == ["c"]  # drops "b", the least recently used
    assert await read("a") == []
    assert await read("b") == ["b"]  # read again; drops "c"
    assert await read("a") == []
    assert await read("c") == ["c"]


async def test_server_remembers_a_bounded_number_of_brain_ids() -> None:
    from neural_memory.server._state import ServerState

    storage = _BrainReadCounter()
    state = ServerState(storage, max_known=2)
    for name in ("a", "b", "c"):
        await storage.save_brain(Brain.create(name, brain_id=name))
    for name in ("a", "b", "a", "c", "a"):  # "c" pushes out "b", the least recently used
        await state.require_brain(name)
    assert storage.reads == ["a", "b", "c"]
    await state.require_brain("b")
    assert storage.reads == ["a", "b", "c", "b"]
    with pytest.raises(NeuralMemoryError):
        await state.require_brain("missing")


async def test_server_keeps_a_brain_lock_only_while_a_pass_needs_it() -> None:
    from neural_memory.server._state import ServerState

    state = ServerState(InMemoryStorage())
    order: list[str] = []
    first_in = asyncio.Event()

    async def run(name: str) -> None:
        async with state.lock("a"):
            order.append(f"{name} in")
            first_in.set()
            await asyncio.sleep(0.01)
            order.append(f"{name} out")

    first = asyncio.create_task(run("first"))
    await first_in.wait()
    await asyncio.gather(first, run("second"))
    assert order == ["first in", "first out", "second in", "second out"]
    async with state.lock("b"):
        pass
    assert state._locks == {}  # nothing kept for brains no pass is using


async def test_a_given_http_client_is_used_and_left_open(served: Served) -> None:
    sent: list[str] = []

    async def record(request: httpx.Request) -> None:
        sent.append(request.url.path.rsplit("/", 1)[-1])

    async with httpx.AsyncClient(timeout=30, event_hooks={"request": [record]}) as client:
        async with SharedStorage(served.url, client=client, api_key=ADMIN_KEY) as storage:
            assert await storage.list_brains() == []
        assert sent == ["health", "list_brains"]
        assert not client.is_closed
        listed = await client.get(f"{served.url}/brains", headers=admin_headers())
        assert listed.status_code == 200


async def test_a_client_of_another_storage_protocol_is_refused_when_it_starts(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A client newer than the server would otherwise fail on the first route the server
    # lacks (existing_neuron_ids while encoding): it must fail at once, saying why.
    import neural_memory.storage.shared as shared_module

    monkeypatch.setattr(shared_module, "PROTOCOL_VERSION", shared_module.PROTOCOL_VERSION + 1)
    storage = SharedStorage(served.url, api_key=ADMIN_KEY)
    with pytest.raises(StorageUnavailableError, match="speaks storage protocol"):
        await storage.initialize()
    await storage.close()


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("memories", {"text": "x", "timestamp": 1126}, "timestamp"),
        ("memories", {"text": "x", "salience": True}, "salience"),
        ("memories", {"text": "x", "salience": "0.5"}, "salience"),
        ("recall", {"query": "x", "max_fibers": 5.5}, "max_fibers"),
        ("recall", {"query": "x", "max_fibers": "5"}, "max_fibers"),
        ("recall", {"query": "x", "reference_time": 0}, "reference_time"),
        ("decay", {"dry_run": 1}, "dry_run"),
        ("decay", {"min_age_days": float("inf")}, "min_age_days"),
    ],
)
async def test_no_silent_coercion(
    http: httpx.AsyncClient, path: str, body: Json, field: str
) -> None:
    brain_id = await create_brain(http)
    content = json.dumps(body)  # allows Infinity, which JSON itself does not
    response = await http.post(
        f"/brains/{brain_id}/{path}", content=content, headers={"content-type": "application/json"}
    )
    assert_error(response, 422, "ValidationError", field)


async def test_strict_types_in_config_and_storage_bodies(http: httpx.AsyncClient) -> None:
    config = {"name": "b", "config": {"activation_threshold": True}}
    assert_error(await http.post("/brains", json=config), 422, "ValidationError", "activation")
    brain_id = await create_brain(http)
    limit = {"brain_id": brain_id, "limit": 511.5}
    assert_error(await http.post("/v1/storage/find_neurons", json=limit), 422, "ValidationError")
    whole = {"brain_id": brain_id, "limit": 511.0}  # an integer, as JSON Schema counts
    assert (await http.post("/v1/storage/find_neurons", json=whole)).status_code == 200
    stats_at = {"brain_id": brain_id, "now": 1126}
    assert_error(await http.post("/v1/storage/get_stats", json=stats_at), 422, "ValidationError")


async def test_api_documents_are_served_offline_without_a_key(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=30) as anonymous:
        for page, asset in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
            html = (await anonymous.get(page)).text
            assert asset in html and "cdn" not in html
            script = await anonymous.get(f"/docs/assets/{asset}")
            assert script.status_code == 200 and len(script.content) > 100_000
        schema = (await anonymous.get("/openapi.json")).json()
        assert set(schema["components"]["securitySchemes"]) == {"APIKeyHeader", "HTTPBearer"}


async def test_shared_storage_waits_out_the_rate_limit(serve: Callable[..., Served]) -> None:
    # One request a second after a burst of two: the client's later calls are refused with
    # 429 + Retry-After, wait, and are sent again, so every call succeeds and all land.
    config = ServerConfig(admin_key=ADMIN_KEY, rate_limit=1.0, rate_burst=2)
    served = serve(InMemoryStorage(), config=config)
    brain = Brain.create("limited")
    async with SharedStorage(served.url, api_key=ADMIN_KEY) as remote:
        await remote.save_brain(brain)
        remote.set_brain(brain.id)
        neurons = [Neuron.create(NeuronType.CONCEPT, f"topic {i}") for i in range(3)]
        for neuron in neurons:
            await remote.add_neuron(neuron)
        found = await remote.get_neurons([n.id for n in neurons])
    assert set(found) == {n.id for n in neurons}


async def test_shared_storage_gives_up_when_the_wait_exceeds_its_timeout(
    serve: Callable[..., Served],
) -> None:
    # The protocol check of initialize() spends the one token; the next call would have to
    # wait 100 s (Retry-After), more than the client's timeout: it fails at once.
    config = ServerConfig(admin_key=ADMIN_KEY, rate_limit=0.01, rate_burst=1)
    served = serve(InMemoryStorage(), config=config)
    async with SharedStorage(served.url, api_key=ADMIN_KEY, timeout=5.0) as remote:
        with pytest.raises(NeuralMemoryError, match="too many requests"):
            await remote.list_brains()
