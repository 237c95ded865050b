"""Who gets in, against real server processes: keys, scopes, Host, rate limit, body bounds."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from neural_memory import Brain, BrainConfig, BrainNotFoundError
from neural_memory.codec import encode_record
from neural_memory.errors import AccessDeniedError
from neural_memory.storage import SharedStorage
from tests.server.server_process import RunningServer, running_server

ADMIN = "process-admin-key-0123456789abcdef"
SECRET_TEXT = "The vault code of brain B is 4711"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server process for the module (SQLite file, admin key from the environment)."""
    db = tmp_path_factory.mktemp("access") / "brain.db"
    with running_server(db, env={"NEURAL_MEMORY_API_KEY": ADMIN}) as running:
        yield running


def _client(server: RunningServer, key: str | None = None, **options: Any) -> httpx.Client:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=server.url, timeout=30, headers=headers, **options)


def _error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"] == error


@pytest.fixture(scope="module")
def brains(server: RunningServer) -> dict[str, str]:
    """Brains A and B, B holding a secret memory."""
    with _client(server, ADMIN) as admin:
        ids = {name: admin.post("/brains", json={"name": name}).json()["id"] for name in "AB"}
        stored = admin.post(f"/brains/{ids['B']}/memories", json={"text": SECRET_TEXT})
        assert stored.status_code == 201
    return ids


def _new_key(server: RunningServer, brains: list[str], access: str) -> dict[str, Any]:
    with _client(server, ADMIN) as admin:
        created = admin.post("/keys", json={"brains": brains, "access": access})
    assert created.status_code == 201, created.text
    answer: dict[str, Any] = created.json()
    return answer


def test_anonymous_requests_get_401_but_health_answers(server: RunningServer) -> None:
    with _client(server) as anonymous:
        health = anonymous.get("/health")
        assert (health.status_code, health.json()) == (200, {"ok": True})
        for response in (
            anonymous.get("/brains"),
            anonymous.post("/v1/storage/list_brains", json={}),
            anonymous.get("/v1/storage/health"),
            anonymous.get("/keys"),
        ):
            _error(response, 401, "AccessDeniedError")
            assert response.headers["www-authenticate"] == "Bearer"


def test_a_wrong_key_is_401_in_either_header(server: RunningServer) -> None:
    with _client(server, "nmk_not-a-key-at-all") as wrong:
        _error(wrong.get("/brains"), 401, "AccessDeniedError")
    with _client(server) as http:
        _error(http.get("/brains", headers={"x-api-key": ADMIN + "x"}), 401, "AccessDeniedError")
        assert http.get("/brains", headers={"x-api-key": ADMIN}).status_code == 200


def test_a_read_key_cannot_write(server: RunningServer, brains: dict[str, str]) -> None:
    a = brains["A"]
    key = _new_key(server, [a], "read")["key"]
    with _client(server, key) as reader:
        assert reader.post(f"/brains/{a}/recall", json={"query": "vault"}).status_code == 200
        _error(reader.post(f"/brains/{a}/memories", json={"text": "x"}), 403, "AccessDeniedError")
        _error(reader.post(f"/brains/{a}/consolidate"), 403, "AccessDeniedError")
        write = {"brain_id": a, "batch": {}}
        _error(reader.post("/v1/storage/write", json=write), 403, "AccessDeniedError")
        meta = {"brain_id": a, "key": "k", "value": 1}
        _error(reader.post("/v1/storage/set_meta", json=meta), 403, "AccessDeniedError")


def test_a_key_for_brain_a_sees_nothing_of_brain_b(
    server: RunningServer, brains: dict[str, str]
) -> None:
    a, b = brains["A"], brains["B"]
    key = _new_key(server, [a], "write")["key"]
    with _client(server, key) as http:
        listed = http.get("/brains").json()["brains"]
        assert [brain["id"] for brain in listed] == [a]
        stored = http.post("/v1/storage/list_brains", json={}).json()["brains"]
        assert [brain["id"] for brain in stored] == [a]
        refused = [
            http.get(f"/brains/{b}"),
            http.get(f"/brains/{b}/stats"),
            http.post(f"/brains/{b}/recall", json={"query": "vault code"}),
            http.post(f"/brains/{b}/memories", json={"text": "planted"}),
            http.get(f"/brains/{b}/alerts"),
            http.post("/v1/storage/find_fibers", json={"brain_id": b}),
            http.post("/v1/storage/find_neurons", json={"brain_id": b}),
            http.post("/v1/storage/get_changes", json={"brain_id": b, "since": 0}),
            http.post("/v1/storage/write", json={"brain_id": b, "batch": {}}),
        ]
        for response in refused:
            _error(response, 404, "BrainNotFoundError")
            assert "4711" not in response.text
        assert http.post("/v1/storage/get_brain", json={"brain_id": b}).json() == {"brain": None}
        assert http.post("/v1/storage/delete_brain", json={"brain_id": b}).json() == {
            "deleted": False
        }
        assert http.post(f"/brains/{a}/memories", json={"text": "mine"}).status_code == 201
    with _client(server, ADMIN) as admin:
        recalled = admin.post(f"/brains/{b}/recall", json={"query": "vault code"}).json()
        assert "4711" in recalled["context"]  # B is untouched


async def test_shared_storage_sends_its_key_and_stays_in_scope(
    server: RunningServer, brains: dict[str, str]
) -> None:
    a, b = brains["A"], brains["B"]
    writer_key = _new_key(server, [a], "write")["key"]
    reader_key = _new_key(server, [a], "read")["key"]
    async with SharedStorage(server.url, a, api_key=writer_key) as writer:
        await writer.set_meta("owner", "team-a")
        assert [brain.id for brain in await writer.list_brains()] == [a]
        writer.set_brain(b)
        with pytest.raises(BrainNotFoundError):
            await writer.find_fibers()
    async with SharedStorage(server.url, a, api_key=reader_key) as reader:
        assert await reader.get_meta("owner") == "team-a"
        with pytest.raises(AccessDeniedError):
            await reader.set_meta("owner", "someone else")
    with pytest.raises(AccessDeniedError):
        await SharedStorage(server.url, a, api_key="nmk_wrong").initialize()


def test_brain_wide_operations_need_the_admin_key(
    server: RunningServer, brains: dict[str, str]
) -> None:
    a = brains["A"]
    key = _new_key(server, [a], "write")["key"]
    brain_json = {"brain": encode_record(Brain.create("renamed", brain_id=a))}
    with _client(server, key) as http:
        _error(http.post("/brains", json={"name": "mine"}), 403, "AccessDeniedError")
        _error(http.delete(f"/brains/{a}"), 403, "AccessDeniedError")
        _error(http.post("/v1/storage/save_brain", json=brain_json), 403, "AccessDeniedError")
        _error(
            http.post("/v1/storage/delete_brain", json={"brain_id": a}), 403, "AccessDeniedError"
        )
        _error(http.get("/keys"), 403, "AccessDeniedError")
        _error(
            http.post("/keys", json={"brains": [a], "access": "admin"}), 403, "AccessDeniedError"
        )
    brain_admin = _new_key(server, [a], "admin")["key"]
    with _client(server, brain_admin) as http:
        _error(http.post("/brains", json={"name": "mine"}), 403, "AccessDeniedError")
        assert http.get(f"/brains/{a}").json()["name"] == "A"


def test_revoked_keys_are_refused_at_once(server: RunningServer, brains: dict[str, str]) -> None:
    created = _new_key(server, [brains["A"]], "read")
    with _client(server, ADMIN) as admin:
        listed = admin.get("/keys").json()["keys"]
        mine = next(k for k in listed if k["id"] == created["id"])
        assert mine == {k: created[k] for k in ("id", "brains", "access", "created_at")}
        assert created["key"] not in admin.get("/keys").text
        with _client(server, created["key"]) as http:
            assert http.get(f"/brains/{brains['A']}").status_code == 200
            assert admin.delete(f"/keys/{created['id']}").json() == {"revoked": True}
            _error(http.get(f"/brains/{brains['A']}"), 401, "AccessDeniedError")
        _error(admin.delete(f"/keys/{created['id']}"), 404, "NotFoundError")


def test_a_foreign_host_is_421(server: RunningServer) -> None:
    with _client(server, ADMIN) as http:
        for path in ("/health", "/brains"):
            response = http.get(path, headers={"host": "attacker.example"})
            _error(response, 421, "MisdirectedRequest")
        assert http.get("/brains", headers={"host": "localhost:8000"}).status_code == 200


def test_oversize_and_hostile_bodies_are_refused_before_parsing(
    server: RunningServer, brains: dict[str, str]
) -> None:
    a = brains["A"]
    with _client(server, ADMIN) as http:
        huge = b'{"text": "' + b"x" * (17 * 1024 * 1024) + b'"}'
        response = http.post(
            f"/brains/{a}/memories", content=huge, headers={"content-type": "application/json"}
        )
        _error(response, 413, "RequestTooLarge")
        deep = "[" * 100 + "]" * 100
        response = http.post(
            "/v1/storage/set_meta",
            content=f'{{"brain_id": "{a}", "key": "k", "value": {deep}}}',
            headers={"content-type": "application/json"},
        )
        _error(response, 422, "ValidationError")
        assert "deeper" in response.json()["message"]
        many = "[" + ",".join(["{}"] * 600_000) + "]"
        response = http.post(
            "/v1/storage/set_meta",
            content=f'{{"brain_id": "{a}", "key": "k", "value": {many}}}',
            headers={"content-type": "application/json"},
        )
        _error(response, 422, "ValidationError")
        assert "objects and arrays" in response.json()["message"]
        brackets_in_text = {"text": "[" * 500 + "{" * 500}
        assert http.post(f"/brains/{a}/memories", json=brackets_in_text).status_code == 201


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    env = {"NEURAL_MEMORY_API_KEY": ADMIN}
    with (
        running_server(tmp_path / "rate.db", ["--rate-limit", "0.01"], env) as limited,
        _client(limited, ADMIN) as http,
    ):
        assert http.get("/brains").status_code == 200
        refused = http.get("/brains")
        _error(refused, 429, "RateLimited")
        assert int(refused.headers["retry-after"]) >= 1
        assert http.get("/health").status_code == 200  # never limited


def test_two_processes_share_one_database_and_one_key_store(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    env = {"NEURAL_MEMORY_API_KEY": ADMIN}
    with (
        running_server(db, env=env) as first,
        running_server(db, env=env) as second,
        _client(first, ADMIN) as one,
        _client(second, ADMIN) as two,
    ):
        brain = one.post("/brains", json={"name": "team"}).json()["id"]
        text = {"text": "Erin rotates the TLS certificates every March"}
        assert one.post(f"/brains/{brain}/memories", json=text).status_code == 201
        recalled = two.post(f"/brains/{brain}/recall", json={"query": "Who rotates TLS?"})
        assert "Erin" in recalled.json()["context"]
        created = one.post("/keys", json={"brains": [brain], "access": "read"}).json()
        with _client(second, created["key"]) as reader:
            assert reader.get(f"/brains/{brain}").status_code == 200
            assert two.delete(f"/keys/{created['id']}").status_code == 200
            _error(reader.get(f"/brains/{brain}"), 401, "AccessDeniedError")
        with _client(first, created["key"]) as reader:
            _error(reader.get(f"/brains/{brain}"), 401, "AccessDeniedError")


def test_a_config_change_through_one_process_is_seen_by_the_other_at_once(
    tmp_path: Path,
) -> None:
    env = {"NEURAL_MEMORY_API_KEY": ADMIN}
    with (
        running_server(tmp_path / "config.db", env=env) as first,
        running_server(tmp_path / "config.db", env=env) as second,
        _client(first, ADMIN) as one,
        _client(second, ADMIN) as two,
    ):
        brain_id = one.post("/brains", json={"name": "team"}).json()["id"]
        text = {"text": "Grace renews the domain names every May"}
        assert one.post(f"/brains/{brain_id}/memories", json=text).status_code == 201
        query = {"query": "Who renews the domain names?"}
        assert "Grace" in two.post(f"/brains/{brain_id}/recall", json=query).json()["context"]
        assert two.get(f"/brains/{brain_id}").json()["config"]["decay_rate"] != 0.5
        brain = Brain.create("renamed", BrainConfig(decay_rate=0.5), brain_id=brain_id)
        saved = one.post("/v1/storage/save_brain", json={"brain": encode_record(brain)})
        assert saved.status_code == 200, saved.text
        seen = two.get(f"/brains/{brain_id}").json()
        assert (seen["name"], seen["config"]["decay_rate"]) == ("renamed", 0.5)
        assert "Grace" in two.post(f"/brains/{brain_id}/recall", json=query).json()["context"]


def test_workers_flag_serves_from_several_processes(tmp_path: Path) -> None:
    env = {"NEURAL_MEMORY_API_KEY": ADMIN}
    with (
        running_server(tmp_path / "w.db", ["--workers", "2"], env) as workers,
        _client(workers, ADMIN) as http,
    ):
        brain = http.post("/brains", json={"name": "w"}).json()["id"]
        for i in range(6):
            text = {"text": f"Ticket {i} was closed by Frank number{i}"}
            assert http.post(f"/brains/{brain}/memories", json=text).status_code == 201
        for i in range(6):
            with _client(workers, ADMIN) as fresh:  # a new connection each time
                query = {"query": f"Who closed ticket number{i}?"}
                assert f"number{i}" in fresh.post(f"/brains/{brain}/recall", json=query).text
