"""The guard's pure parts: token buckets, Host names, JSON shape, the key store."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
import pytest

from neural_memory.errors import ConfigError, ValidationError
from neural_memory.server import create_app
from neural_memory.server.access import HeavyGate, ServerBusy
from neural_memory.server.config import ServerConfig
from neural_memory.server.engine_routes import HEAVY_MEMORY_CHARS
from neural_memory.server.guard import (
    RateLimiter,
    TokenBucket,
    host_name,
    json_shape_problem,
    take_token,
)
from neural_memory.server.keys import Access, KeyStore, hash_key, load_or_create_admin_key
from neural_memory.storage import InMemoryStorage


def test_a_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket, wait = take_token(None, 0.0, rate=2.0, burst=2)
    assert (bucket, wait) == (TokenBucket(1.0, 0.0), 0.0)
    bucket, wait = take_token(bucket, 0.0, rate=2.0, burst=2)
    assert wait == 0.0
    bucket, wait = take_token(bucket, 0.0, rate=2.0, burst=2)
    assert wait == pytest.approx(0.5)
    bucket, wait = take_token(bucket, 0.5, rate=2.0, burst=2)
    assert wait == 0.0
    full, _ = take_token(bucket, 100.0, rate=2.0, burst=2)
    assert full.tokens == pytest.approx(1.0)  # refilled to the burst, minus this request


def test_the_rate_limiter_keeps_one_bucket_per_key() -> None:
    now = [0.0]
    limiter = RateLimiter(rate=1.0, burst=1, clock=lambda: now[0])
    assert limiter.retry_after("a") == 0.0
    assert limiter.retry_after("a") == pytest.approx(1.0)
    assert limiter.retry_after("b") == 0.0
    now[0] = 1.0
    assert limiter.retry_after("a") == 0.0
    assert RateLimiter(rate=0, burst=1).retry_after("a") == 0.0


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("localhost:8000", "localhost"),
        ("LOCALHOST", "localhost"),
        ("127.0.0.1", "127.0.0.1"),
        ("[::1]:8000", "::1"),
        ("memory.example.com:443", "memory.example.com"),
        ("evil.example", "evil.example"),
    ],
)
def test_host_names_lose_their_port(header: str, name: str) -> None:
    assert host_name(header) == name


def test_json_shape_counts_brackets_outside_strings_only() -> None:
    assert json_shape_problem(b'{"a": [1, {"b": "[[[[{{{{"}]}', 3, 10) is None
    assert json_shape_problem(b'{"a": "\\"[[[["}', 1, 10) is None
    assert "deeper than 3" in (json_shape_problem(b"[[[[]]]]", 3, 10) or "")
    assert "more than 2" in (json_shape_problem(b"[{},{}]", 5, 2) or "")
    assert json_shape_problem(b"", 1, 1) is None


def test_keys_are_stored_hashed_and_revocable(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.db")
    key, secret = store.create(["a", "b"], Access.WRITE)
    assert store.find(secret) == key
    assert store.find(secret + "x") is None
    assert key.allows("a", Access.READ) and key.allows("b", Access.WRITE)
    assert not key.allows("a", Access.ADMIN) and not key.sees("c")
    other = KeyStore(tmp_path / "keys.db")  # another worker process, same file
    assert other.list() == [key]
    with sqlite3.connect(tmp_path / "keys.db") as db:
        stored = db.execute("SELECT digest FROM api_keys").fetchall()
    assert stored == [(hash_key(secret),)] and secret not in str(stored)
    assert other.revoke(key.id) and not other.revoke(key.id)
    assert store.find(secret) is None
    with pytest.raises(ValidationError):
        store.create([], Access.READ)
    store.close()
    other.close()


def test_a_key_used_before_is_refused_at_once_after_revocation(tmp_path: Path) -> None:
    worker_a, worker_b = KeyStore(tmp_path / "keys.db"), KeyStore(tmp_path / "keys.db")
    first, first_secret = worker_a.create(["a"], Access.READ)
    second, second_secret = worker_b.create(["b"], Access.WRITE)
    for _ in range(3):  # found again and again (from the cache after the first time)
        assert worker_a.find(first_secret) == first
        assert worker_a.find(second_secret) == second
        assert worker_b.find(first_secret) == first
    assert worker_b.revoke(first.id)  # through the other worker
    assert worker_a.find(first_secret) is None
    assert worker_a.find(second_secret) == second
    assert worker_a.revoke(second.id)  # through the same worker
    assert worker_a.find(second_secret) is None
    assert worker_b.find(second_secret) is None
    worker_a.close()
    worker_b.close()


def test_the_generated_admin_key_is_owner_readable_and_kept(tmp_path: Path) -> None:
    key, path, created = load_or_create_admin_key(tmp_path / "data")
    assert created and path.stat().st_mode & 0o777 == 0o600
    assert load_or_create_admin_key(tmp_path / "data") == (key, path, False)


def test_server_config_refuses_weak_or_odd_values() -> None:
    with pytest.raises(ConfigError):
        ServerConfig(admin_key="short")
    with pytest.raises(ConfigError):
        ServerConfig(admin_key="x" * 20, rate_limit=-1)
    with pytest.raises(ConfigError):
        ServerConfig(admin_key="x" * 20, allowed_hosts=["a"])  # type: ignore[arg-type]
    assert "localhost" in ServerConfig(admin_key="x" * 20, allowed_hosts=("A.example",)).hosts


async def test_the_heavy_gate_queues_a_few_and_refuses_the_rest() -> None:
    gate = HeavyGate(concurrency=1, queue=1)
    await gate.enter()  # runs
    waiting = asyncio.create_task(gate.enter())  # queued
    await asyncio.sleep(0)
    with pytest.raises(ServerBusy) as refused:
        await gate.enter()
    assert refused.value.status_code == 503
    assert refused.value.headers == {"Retry-After": "1"}
    gate.leave()
    await waiting  # got the slot
    gate.leave()
    await gate.enter()  # free again
    gate.leave()


async def test_small_memories_are_stored_while_heavy_work_holds_the_gate() -> None:
    key = "gate-admin-key-0123456789abcdef"
    app = create_app(
        InMemoryStorage(),
        config=ServerConfig(admin_key=key, heavy_concurrency=1, heavy_queue=0),
        embedder=None,
    )
    transport = httpx.ASGITransport(app=app)
    headers = {"authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://127.0.0.1", headers=headers
    ) as http:
        brain = (await http.post("/brains", json={"name": "gate"})).json()["id"]
        gate: HeavyGate = app.state.heavy_gate
        await gate.enter()  # heavy work running, nobody may wait for it
        small = {"text": "Alice keeps the spare keys in the blue drawer"}
        assert (await http.post(f"/brains/{brain}/memories", json=small)).status_code == 201
        large = {"text": "word " * (HEAVY_MEMORY_CHARS // 5 + 1)}
        refused = await http.post(f"/brains/{brain}/memories", json=large)
        assert refused.status_code == 503 and refused.headers["retry-after"] == "1"
        assert (await http.post(f"/brains/{brain}/consolidate")).status_code == 503
        gate.leave()
        assert (await http.post(f"/brains/{brain}/memories", json=large)).status_code == 201


def test_create_app_needs_a_server_config() -> None:
    with pytest.raises(ValidationError):
        create_app(InMemoryStorage(), config=None)  # type: ignore[arg-type]
