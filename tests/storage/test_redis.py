"""Behaviour only the Redis backend has: sharing, isolation, cleanup, connections, atomicity.

The conformance suite (``tests/storage``) checks the Storage semantics against this backend;
these tests check what a real multi-process deployment relies on, against a real redis-server.
"""

from __future__ import annotations

import asyncio
import random
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest
import redis
import redis.asyncio as aioredis

from neural_memory.core import (
    Alert,
    AlertSeverity,
    AlertType,
    Brain,
    Fiber,
    MemoryType,
    Neuron,
    NeuronType,
    Project,
    RecallEvent,
    Synapse,
    SynapseType,
    TypedMemory,
)
from neural_memory.errors import (
    AlreadyExistsError,
    BrainNotFoundError,
    ConfigError,
    NeuralMemoryError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage import InMemoryStorage, RedisStorage, Storage, WriteBatch
from neural_memory.storage import memory as memory_module
from tests.redis_server import delete_namespace, session_redis

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def sync_client(redis_url: str) -> Iterator[redis.Redis]:
    """A separate plain client to look at the server from outside the storage."""
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@asynccontextmanager
async def opened(
    url: str, namespace: str, brain: Brain | None = None
) -> AsyncIterator[RedisStorage]:
    async with RedisStorage(url, namespace=namespace) as storage:
        if brain is not None:
            if await storage.get_brain(brain.id) is None:
                await storage.save_brain(brain)
            storage.set_brain(brain.id)
        yield storage


def neuron(content: str) -> Neuron:
    return Neuron.create(NeuronType.CONCEPT, content, created_at=T0)


def graph(tag: str) -> tuple[list[Neuron], Synapse, Fiber]:
    a, b = neuron(f"{tag}-a"), neuron(f"{tag}-b")
    synapse = Synapse.create(a.id, b.id, SynapseType.RELATED_TO, created_at=T0)
    fiber = Fiber.create([a.id, b.id], [synapse.id], content=tag, created_at=T0)
    return [a, b], synapse, fiber


async def fill(storage: RedisStorage, tag: str) -> tuple[list[Neuron], Synapse, Fiber]:
    """Write one of everything a brain can hold."""
    neurons, synapse, fiber = graph(tag)
    project = Project.create(f"{tag} project", created_at=T0)
    memory = TypedMemory.create(
        fiber.id, MemoryType.FACT, project_id=project.id, expires_in_days=1, created_at=T0
    )
    await storage.write(
        WriteBatch(
            insert_neurons=tuple(neurons),
            insert_synapses=(synapse,),
            insert_fibers=(fiber,),
            put_typed_memories=(memory,),
            put_projects=(project,),
        )
    )
    await storage.add_alerts([Alert.create(AlertType.STALE_FIBERS, AlertSeverity.INFO, tag)])
    await storage.add_recall_event(RecallEvent.create(tag, [fiber.id], created_at=T0))
    await storage.set_meta("tag", {"value": tag})
    return neurons, synapse, fiber


def brain_keys(client: redis.Redis, namespace: str) -> set[str]:
    return {k for k in client.scan_iter(match=f"{namespace}:b:*", count=1000)}


async def test_two_storages_share_one_brain(redis_url: str, redis_namespace: str) -> None:
    brain = Brain.create("shared", created_at=T0)
    async with (
        opened(redis_url, redis_namespace, brain) as first,
        opened(redis_url, redis_namespace, brain) as second,
    ):
        neurons, synapse, fiber = await fill(first, "one")

        assert await second.get_neurons([n.id for n in neurons]) == {n.id: n for n in neurons}
        assert await second.get_synapses_for_neurons([neurons[0].id]) == [synapse]
        assert await second.find_fibers(neuron_id=neurons[1].id) == [fiber]
        assert await second.get_meta("tag") == {"value": "one"}
        assert await second.get_change_seq() == await first.get_change_seq() == 4

        changes = await second.get_changes(0)
        assert changes is not None
        assert {c.entity_id for c in changes} == {
            neurons[0].id,
            neurons[1].id,
            synapse.id,
            fiber.id,
        }
        with pytest.raises(AlreadyExistsError):
            await second.add_neuron(neurons[0])


async def test_brains_and_namespaces_are_isolated(redis_url: str, redis_namespace: str) -> None:
    other_namespace = f"{redis_namespace}-other"
    brain_a = Brain.create("a", brain_id="same-id", created_at=T0)
    brain_b = Brain.create("b", created_at=T0 + timedelta(seconds=1))
    try:
        async with (
            opened(redis_url, redis_namespace, brain_a) as a,
            opened(redis_url, redis_namespace, brain_b) as b,
            opened(redis_url, other_namespace, brain_a) as elsewhere,
        ):
            neurons, _, fiber = await fill(a, "a")

            assert await b.get_neurons([n.id for n in neurons]) == {}
            assert await b.find_fibers() == []
            assert await b.get_change_seq() == 0
            assert await elsewhere.get_neurons([n.id for n in neurons]) == {}
            assert await elsewhere.get_fiber(fiber.id) is None
            assert await elsewhere.get_meta("tag") is None
            assert [x.id for x in await a.list_brains()] == ["same-id", brain_b.id]
            assert [x.id for x in await elsewhere.list_brains()] == ["same-id"]
    finally:
        delete_namespace(redis_url, other_namespace)


async def test_delete_brain_removes_every_key_of_that_brain_only(
    redis_url: str, redis_namespace: str, sync_client: redis.Redis
) -> None:
    # Ids that look like glob patterns or key separators must not reach other brains' keys.
    doomed = Brain.create("doomed", brain_id="x*", created_at=T0)
    kept = [Brain.create(name, brain_id=name, created_at=T0) for name in ("x", "x*:y", "x}")]
    async with opened(redis_url, redis_namespace) as storage:
        for brain in (doomed, *kept):
            await storage.save_brain(brain)
            storage.set_brain(brain.id)
            await fill(storage, brain.id)
        before = brain_keys(sync_client, redis_namespace)

        assert await storage.delete_brain(doomed.id) is True

        doomed_prefix = f"{redis_namespace}:b:{{x%2A}}:"
        assert any(key.startswith(doomed_prefix) for key in before)
        assert brain_keys(sync_client, redis_namespace) == {
            key for key in before if not key.startswith(doomed_prefix)
        }
        assert [b.id for b in await storage.list_brains()] == [b.id for b in kept]
        for brain in kept:
            storage.set_brain(brain.id)
            assert len(await storage.find_fibers()) == 1
        assert await storage.delete_brain(doomed.id) is False


async def test_writes_to_a_brain_deleted_elsewhere_fail(
    redis_url: str, redis_namespace: str
) -> None:
    brain = Brain.create("gone", created_at=T0)
    async with (
        opened(redis_url, redis_namespace, brain) as writer,
        opened(redis_url, redis_namespace) as admin,
    ):
        await writer.add_neuron(neuron("before"))
        await admin.delete_brain(brain.id)
        with pytest.raises(BrainNotFoundError):
            await writer.add_neuron(neuron("after"))
        with pytest.raises(BrainNotFoundError):
            await writer.set_meta("k", 1)
        with pytest.raises(BrainNotFoundError):
            await writer.add_recall_event(RecallEvent.create("q"))


def connection_count(client: redis.Redis) -> int:
    return len(client.client_list())


async def wait_for_connections(client: redis.Redis, expected: int) -> int:
    count = connection_count(client)
    for _ in range(50):  # the server notices a closed socket asynchronously
        if count == expected:
            break
        await asyncio.sleep(0.02)
        count = connection_count(client)
    return count


async def test_close_leaves_no_connection(
    redis_url: str, redis_namespace: str, sync_client: redis.Redis
) -> None:
    baseline = connection_count(sync_client)
    storage = RedisStorage(redis_url, namespace=redis_namespace)
    await storage.initialize()
    brain = Brain.create("c", created_at=T0)
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    await asyncio.gather(*(storage.find_neurons() for _ in range(5)))
    assert connection_count(sync_client) > baseline

    await storage.close()

    assert await wait_for_connections(sync_client, baseline) == baseline


async def test_a_client_passed_in_stays_open(redis_url: str, redis_namespace: str) -> None:
    client = aioredis.Redis.from_url(redis_url)  # bytes replies: the storage copes
    try:
        async with RedisStorage(namespace=redis_namespace, client=client) as storage:
            brain = Brain.create("passed", created_at=T0)
            await storage.save_brain(brain)
            storage.set_brain(brain.id)
            neurons, synapse, fiber = await fill(storage, "passed")
            assert await storage.find_neurons() == neurons
            assert await storage.get_typed_memories_for_fibers([fiber.id]) != {}
            assert await storage.get_synapses(source_id=neurons[0].id) == [synapse]
            assert await storage.get_changes(0) is not None
            assert [b.id for b in await storage.list_brains()] == [brain.id]
        assert await client.ping() is True
    finally:
        await client.aclose()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_unreachable_server_is_reported_without_the_password() -> None:
    url = f"redis://:s3cret@127.0.0.1:{closed_port()}/0"
    storage = RedisStorage(url)

    with pytest.raises(StorageUnavailableError) as caught:
        await storage.initialize()

    assert "127.0.0.1" in str(caught.value)
    assert "s3cret" not in str(caught.value)
    assert "***" in str(caught.value)


async def write_from_clients(
    url: str, namespace: str, brain_id: str, batch: WriteBatch, clients: int, times: int
) -> None:
    """Write ``batch`` ``times`` times from each of ``clients`` storages at once."""
    storages = [await RedisStorage(url, namespace=namespace).__aenter__() for _ in range(clients)]
    try:
        for storage in storages:
            storage.set_brain(brain_id)
        await asyncio.gather(*(s.write(batch) for s in storages for _ in range(times)))
    finally:
        for storage in storages:
            await storage.close()


async def test_concurrent_synapse_deltas_all_count(redis_url: str, redis_namespace: str) -> None:
    brain = Brain.create("hebb", created_at=T0)
    (a, b), synapse, _ = graph("hebb")
    clients, tasks_per_client, delta = 4, 25, 0.001
    async with opened(redis_url, redis_namespace, brain) as setup:
        await setup.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(synapse,)))
        reinforce = WriteBatch(synapse_deltas=((synapse.id, delta),))
        await write_from_clients(
            redis_url, redis_namespace, brain.id, reinforce, clients, tasks_per_client
        )
        stored = await setup.get_synapse(synapse.id)
    assert stored is not None
    assert stored.reinforced_count == clients * tasks_per_client
    assert stored.weight == pytest.approx(synapse.weight + clients * tasks_per_client * delta)


async def test_concurrent_access_deltas_all_count(redis_url: str, redis_namespace: str) -> None:
    brain = Brain.create("hebb", created_at=T0)
    (a, b), synapse, fiber = graph("hebb")
    clients, tasks_per_client = 4, 10
    async with opened(redis_url, redis_namespace, brain) as setup:
        await setup.write(
            WriteBatch(insert_neurons=(a, b), insert_synapses=(synapse,), insert_fibers=(fiber,))
        )
        access = WriteBatch(
            neuron_accesses=((a.id, 0.01),), fiber_conducts=(fiber.id,), deltas_at=T0
        )
        await write_from_clients(
            redis_url, redis_namespace, brain.id, access, clients, tasks_per_client
        )
        accessed, conducted = await setup.get_neuron(a.id), await setup.get_fiber(fiber.id)
    # Every process's count lands: none is overwritten by a concurrent read-modify-write.
    assert accessed is not None and conducted is not None
    assert accessed.access_count == a.access_count + clients * tasks_per_client
    assert conducted.access_count == fiber.access_count + clients * tasks_per_client


async def test_opening_an_older_namespace_indexes_its_superseded_fibers(
    redis_url: str, redis_namespace: str
) -> None:
    brain = Brain.create("versions", created_at=T0)
    (a, b), synapse, old = graph("old")
    new = Fiber.create([a.id, b.id], [synapse.id], content="new", created_at=T0)
    async with opened(redis_url, redis_namespace, brain) as storage:
        await storage.write(
            WriteBatch(insert_neurons=(a, b), insert_synapses=(synapse,), insert_fibers=(new,))
        )
        await storage.write(WriteBatch(insert_fibers=(old.superseded(new.id),)))
    # As an earlier release left it: no successor sets, no layout version.
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        successor_sets = [k async for k in client.scan_iter(f"{redis_namespace}:*sb:*")]
        assert successor_sets
        await client.delete(*successor_sets, f"{redis_namespace}:layout")
    finally:
        await client.aclose()

    async with opened(redis_url, redis_namespace, brain) as storage:
        with pytest.raises(ValidationError, match="still supersedes"):
            await storage.write(WriteBatch(delete_fiber_ids=(new.id,)))
        assert await storage.get_fiber(new.id) is not None


async def test_failed_batch_leaves_nothing_behind(
    redis_url: str, redis_namespace: str, sync_client: redis.Redis
) -> None:
    brain = Brain.create("atomic", created_at=T0)
    async with opened(redis_url, redis_namespace, brain) as storage:
        existing = neuron("existing")
        await storage.add_neuron(existing)
        keys_before = brain_keys(sync_client, redis_namespace)
        dump_before = {k: sync_client.dump(k) for k in keys_before}

        fresh = neuron("fresh")
        link = Synapse.create(fresh.id, existing.id, SynapseType.CO_OCCURS, created_at=T0)
        with pytest.raises(AlreadyExistsError):
            await storage.write(
                WriteBatch(
                    insert_neurons=(fresh, existing),
                    insert_synapses=(link,),
                    delete_neuron_ids=(existing.id,),
                )
            )

        assert {k: sync_client.dump(k) for k in brain_keys(sync_client, redis_namespace)} == (
            dump_before
        )


def test_namespace_must_not_contain_separators() -> None:
    with pytest.raises(ConfigError):
        RedisStorage(namespace="app:nm")


def test_missing_redis_package_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(StorageUnavailableError, match=r"neural-memory-brain\[redis\]"):
        RedisStorage()


def test_missing_redis_server_skips_locally_and_fails_on_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    no_binary = session_redis(find=lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="redis-server not found"):
        no_binary.get()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="redis-server not found"):
        no_binary.get()


# -- differential check: random batches behave exactly as in InMemoryStorage -------------------


def random_batch(rng: random.Random, step: int) -> WriteBatch:
    """A batch over a small id universe, so inserts collide and references go missing."""
    moment = T0 + timedelta(minutes=step)
    ids = [f"n{i}" for i in range(8)]

    def some_neurons(chance: float = 1.0, most: int = 2) -> tuple[Neuron, ...]:
        if rng.random() >= chance:
            return ()
        return tuple(
            Neuron(id=i, type=NeuronType.ENTITY, content=f"{i} at {step}", created_at=moment)
            for i in rng.sample(ids, rng.randint(0, most))
        )

    def some_synapses(chance: float = 1.0) -> tuple[Synapse, ...]:
        if rng.random() >= chance:
            return ()
        pairs = [rng.sample(ids, 2) for _ in range(rng.randint(0, 2))]
        return tuple(
            Synapse(
                id=f"s{a}{b}",
                source_id=a,
                target_id=b,
                type=SynapseType.CO_OCCURS,
                weight=rng.random(),
                created_at=moment,
            )
            for a, b in pairs
        )

    def some_fibers() -> tuple[Fiber, ...]:
        return tuple(
            Fiber.create(
                rng.sample(ids, 2),
                fiber_id=f"f{rng.randint(0, 3)}",
                tags=rng.sample(["x", "y"], rng.randint(0, 2)),
                created_at=moment,
            )
            for _ in range(rng.randint(0, 1))
        )

    memories = tuple(
        TypedMemory(
            id=f"m{rng.randint(0, 3)}",
            fiber_id=f"f{rng.randint(0, 3)}",
            memory_type=MemoryType.FACT,
            project_id=rng.choice([None, "p0", "p1"]),
            expires_at=rng.choice([None, moment + timedelta(minutes=5)]),
            created_at=moment,
        )
        for _ in range(rng.randint(0, 1))
    )
    return WriteBatch(
        insert_neurons=some_neurons(0.15, 1),
        ensure_neurons=some_neurons(1.0, 5),
        update_neurons=some_neurons(0.15, 1),
        insert_synapses=some_synapses(0.2),
        ensure_synapses=some_synapses(),
        update_synapses=some_synapses(0.1),
        synapse_deltas=tuple(
            (f"s{a}{b}", rng.choice([-0.3, 0.2, 0.6]))
            for a, b in (rng.sample(ids, 2) for _ in range(rng.randint(0, 3)))
        ),
        deltas_at=moment,
        insert_fibers=some_fibers(),
        update_fibers=some_fibers() if rng.random() < 0.2 else (),
        put_typed_memories=memories,
        put_projects=tuple(
            Project(id=f"p{rng.randint(0, 1)}", name=f"p {step}", created_at=moment)
            for _ in range(rng.randint(0, 1))
        ),
        delete_fiber_ids=tuple(f"f{i}" for i in rng.sample(range(4), rng.randint(0, 1))),
        delete_synapse_ids=tuple(
            f"s{a}{b}" for a, b in (rng.sample(ids, 2) for _ in range(rng.randint(0, 1)))
        ),
        delete_neuron_ids=tuple(rng.sample(ids, 1)) if rng.random() < 0.15 else (),
        delete_typed_memory_ids=(f"m{rng.randint(0, 3)}",) if rng.random() < 0.2 else (),
        delete_project_ids=(f"p{rng.randint(0, 1)}",) if rng.random() < 0.2 else (),
    )


async def snapshot(storage: Storage, step: int) -> dict[str, object]:
    """Everything a reader can observe about the current brain."""
    now = T0 + timedelta(minutes=step)
    neuron_ids = [f"n{i}" for i in range(8)]
    return {
        "neurons": await storage.find_neurons(),
        "limited": await storage.find_neurons(limit=3),
        "entities": await storage.find_neurons(NeuronType.ENTITY, content=f"N1 AT {step}"),
        "synapses": await storage.get_synapses(),
        "from_n1": await storage.get_synapses(source_id="n1"),
        "touching": await storage.get_synapses_for_neurons(neuron_ids[:3]),
        "fibers": await storage.find_fibers(),
        "fibers_n2": await storage.find_fibers(neuron_id="n2", tags=["x"]),
        "memories": await storage.find_typed_memories(include_expired=True),
        "live_memories": await storage.find_typed_memories(now=now),
        "by_fiber": await storage.get_typed_memories_for_fibers(["f0", "f1", "f2"]),
        "project": await storage.get_project_memories("p0", include_expired=True),
        "projects": await storage.list_projects(),
        "changes": await storage.get_changes(0),
        "recent_changes": await storage.get_changes(await storage.get_change_seq() - 30),
        "oldest_kept": await storage.get_changes(await storage.get_change_seq() - 40),
        "just_trimmed": await storage.get_changes(await storage.get_change_seq() - 41),
        "no_changes": await storage.get_changes(await storage.get_change_seq()),
        "stats": await storage.get_stats(now=now),
    }


async def test_random_batches_match_the_in_memory_reference(
    redis_url: str, redis_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A short change log, so trimming and "log no longer reaches back" (None) are compared too.
    monkeypatch.setattr(memory_module, "CHANGE_LOG_LIMIT", 40)
    rng = random.Random(20240501)
    brain = Brain.create("diff", created_at=T0)
    reference = InMemoryStorage()
    await reference.save_brain(brain)
    reference.set_brain(brain.id)
    async with opened(redis_url, redis_namespace, brain) as redis_storage:
        for step in range(300):
            batch = random_batch(rng, step)
            outcomes = []
            for storage in (reference, redis_storage):
                try:
                    outcomes.append(await storage.write(batch))
                except NeuralMemoryError as exc:
                    outcomes.append(f"{type(exc).__name__}: {exc}")
            assert outcomes[0] == outcomes[1], f"step {step}: {batch}"
            if step % 10 == 9:
                assert await snapshot(redis_storage, step) == await snapshot(reference, step)
