"""Brain export and import: lossless round trips between backends, hostile files refused."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from neural_memory.core import (
    Brain,
    BrainConfig,
    Direction,
    Fiber,
    MemoryType,
    Neuron,
    NeuronType,
    Priority,
    Project,
    Synapse,
    SynapseType,
    TypedMemory,
)
from neural_memory.errors import (
    AlreadyExistsError,
    BrainNotFoundError,
    BrainNotSetError,
    SnapshotFormatError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.sharing import (
    SNAPSHOT_FORMAT_VERSION,
    BrainExporter,
    BrainImporter,
    BrainSnapshot,
)
from neural_memory.sharing.limits import MAX_ID_LENGTH, MAX_TEXT_LENGTH
from neural_memory.storage import InMemoryStorage, Storage, WriteBatch
from tests.backends import BACKENDS
from tests.seed_exec import run_seed_sample

T0 = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


async def fill_brain(storage: Storage, brain: Brain) -> None:
    """A brain where every field of every entity differs from its default."""
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    alice = Neuron(
        id="n-alice",
        type=NeuronType.ENTITY,
        content="Alice Müller 👩‍💻",
        metadata={"role": "dev", "langs": ["python", "rust"], "nested": {"n": 1.5}},
        created_at=at(0),
        activation=0.73,
        access_count=4,
        last_accessed=at(5),
    )
    api = Neuron.create(NeuronType.CONCEPT, "API design", created_at=at(0.5))
    friday = Neuron.create(NeuronType.TIME, "friday", created_at=at(1))
    await storage.add_neurons([alice, api, friday])
    s1 = Synapse(
        id="s-1",
        source_id=alice.id,
        target_id=api.id,
        type=SynapseType.INVOLVES,
        weight=0.81,
        direction=Direction.BIDIRECTIONAL,
        metadata={"why": "meeting"},
        created_at=at(1),
        last_activated=at(6),
        reinforced_count=3,
    )
    s2 = Synapse.create(api.id, friday.id, SynapseType.HAPPENED_AT, created_at=at(1))
    await storage.add_synapses([s1, s2])
    old = Fiber.create(
        [alice.id, api.id],
        [s1.id],
        pathway=[alice.id, api.id],
        content="Alice proposed REST for the API",
        salience=0.9,
        tags={"api", "meeting"},
        metadata={"speaker": "Alice", "turn": 3},
        occurred_at=at(-24),
        created_at=at(2),
        fiber_id="f-old",
    )
    new = Fiber.create(
        [alice.id, api.id, friday.id],
        [s1.id, s2.id],
        anchor_neuron_id=api.id,
        content="Decided: GraphQL for the API, from Friday",
        created_at=at(3),
        fiber_id="f-new",
    ).conduct(conducted_at=at(7))
    await storage.add_fiber(new)
    await storage.add_fiber(replace(old.superseded(new.id), conductivity=0.4, access_count=2))
    sprint = Project(
        id="p-q1",
        name="Q1 Sprint",
        description="First quarter sprint",
        tags=frozenset({"sprint", "q1"}),
        created_at=at(0),
        ends_at=at(24 * 14),
    )
    await storage.add_project(sprint)
    await storage.add_typed_memory(
        TypedMemory(
            id="tm-1",
            fiber_id=new.id,
            memory_type=MemoryType.DECISION,
            priority=Priority.HIGH,
            source="user_input",
            expires_at=at(24 * 30),
            tags=frozenset({"auth"}),
            project_id=sprint.id,
            created_at=at(3),
            metadata={"confidence": 0.9},
        )
    )
    await storage.add_typed_memory(
        TypedMemory.create("f-old", MemoryType.TODO, expires_in_days=1, created_at=at(0))
    )


async def entities(storage: Storage, brain_id: str) -> BrainSnapshot:
    return await BrainExporter().export(storage, brain_id, now=T0)


def same_content(a: BrainSnapshot, b: BrainSnapshot) -> None:
    """Every entity equal (dataclass equality), the brain equal apart from its id."""
    assert a.neurons == b.neurons
    assert a.synapses == b.synapses
    assert a.fibers == b.fibers
    assert a.typed_memories == b.typed_memories
    assert a.projects == b.projects
    assert replace(a.brain, id="x") == replace(b.brain, id="x")


async def storage_state(storage: Storage) -> list[tuple[Brain, BrainSnapshot]]:
    return [(b, await entities(storage, b.id)) for b in await storage.list_brains()]


@pytest.fixture
def open_backend(tmp_path: Path) -> Callable[[str], Any]:
    counter = iter(range(1000))
    return lambda name: BACKENDS[name](tmp_path / f"s{next(counter)}")


@pytest.fixture
async def source() -> AsyncIterator[InMemoryStorage]:
    storage = InMemoryStorage()
    await fill_brain(storage, Brain.create("work", BrainConfig(decay_rate=0.2), brain_id="b-1"))
    yield storage


# -- seed samples --------------------------------------------------------------------------

TYPED_MEMORIES_SAMPLE = """
from neural_memory.core import TypedMemory, MemoryType, Priority

# Create typed memory
memory = TypedMemory.create(
    fiber_id="fiber-123",
    memory_type=MemoryType.DECISION,
    priority=Priority.HIGH,
    source="user_input",
    expires_in_days=30,
    tags={"project", "auth"}
)

await storage.add_typed_memory(memory)

# Query by type
decisions = await storage.find_typed_memories(
    memory_type=MemoryType.DECISION,
    min_priority=Priority.NORMAL
)
"""

PROJECTS_SAMPLE = """
from neural_memory.core import Project

# Create project
project = Project.create(
    name="Q1 Sprint",
    description="First quarter sprint",
    duration_days=14,
    tags={"sprint", "q1"}
)
await storage.add_project(project)

# Associate memories
memory = TypedMemory.create(
    fiber_id="fiber-123",
    memory_type=MemoryType.TODO,
    project_id=project.id
)

# Query project memories
memories = await storage.get_project_memories(project.id)
"""

EXPORT_IMPORT_SAMPLE = """
from neural_memory.sharing import BrainExporter

exporter = BrainExporter()

# Export
snapshot = await exporter.export(storage, brain.id)
json_data = exporter.to_json(snapshot)

# Save to file
with open("brain.json", "w") as f:
    f.write(json_data)

# Import
from neural_memory.sharing import BrainImporter

importer = BrainImporter()
await importer.import_brain(storage, snapshot, "new-brain-id")
"""


async def test_seed_samples_typed_memories_projects_export_and_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    storage = InMemoryStorage()
    brain = Brain.create("my-brain")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    namespace: dict[str, Any] = {"storage": storage, "brain": brain}
    # The samples' "fiber-123" stands for a stored memory: a typed memory labels one.
    anchor = Neuron.create(NeuronType.CONCEPT, "auth")
    placeholder = Fiber.create([anchor.id], fiber_id="fiber-123", content="use OAuth")
    await storage.write(WriteBatch(insert_neurons=(anchor,), insert_fibers=(placeholder,)))

    await run_seed_sample(TYPED_MEMORIES_SAMPLE, namespace)
    assert namespace["decisions"] == [namespace["memory"]]
    decision = namespace["memory"]

    await run_seed_sample(PROJECTS_SAMPLE, namespace)
    assert namespace["memories"] == []  # the sample never stores its TODO memory
    await storage.add_typed_memory(namespace["memory"])
    assert await storage.get_project_memories(namespace["project"].id) == [namespace["memory"]]

    await run_seed_sample(EXPORT_IMPORT_SAMPLE, namespace)
    snapshot = namespace["snapshot"]
    stored = [decision, namespace["memory"]]
    assert snapshot.typed_memories == tuple(sorted(stored, key=lambda m: m.id))
    assert (tmp_path / "brain.json").read_text() == namespace["json_data"]
    assert storage.brain_id == brain.id  # the selection is kept
    copy = await entities(storage, "new-brain-id")
    same_content(snapshot, copy)
    assert BrainSnapshot.from_json((tmp_path / "brain.json").read_text()).projects == (
        namespace["project"],
    )


# -- round trips ---------------------------------------------------------------------------


@pytest.mark.parametrize("source_name", sorted(BACKENDS))
@pytest.mark.parametrize("target_name", sorted(BACKENDS))
async def test_round_trip_between_backends_loses_nothing(
    source_name: str, target_name: str, open_backend: Callable[[str], Any]
) -> None:
    async with AsyncExitStack() as stack:
        source_storage: Storage = await stack.enter_async_context(open_backend(source_name))
        target: Storage = await stack.enter_async_context(open_backend(target_name))
        original = Brain.create("work", BrainConfig(max_spread_hops=3), brain_id="b-src")
        await fill_brain(source_storage, original)
        snapshot = await entities(source_storage, original.id)
        assert len(snapshot.neurons) == 3 and len(snapshot.typed_memories) == 2

        text = BrainExporter().to_json(snapshot)
        result = await BrainImporter().import_brain(target, text, "b-copy")
        assert (result.neurons, result.synapses, result.fibers) == (3, 2, 2)
        assert (result.typed_memories, result.projects) == (2, 1)
        same_content(snapshot, await entities(target, "b-copy"))
        assert (await target.get_brain("b-copy")) == replace(original, id="b-copy")

        await BrainImporter().import_brain(target, snapshot, "b-copy-2")  # from the object
        same_content(snapshot, await entities(target, "b-copy-2"))


async def test_json_round_trip_is_exact(source: InMemoryStorage) -> None:
    snapshot = await entities(source, "b-1")
    text = snapshot.to_json()
    again = BrainSnapshot.from_json(text)
    assert again == snapshot
    assert again.to_json() == text
    assert json.loads(text)["version"] == SNAPSHOT_FORMAT_VERSION == 1


async def test_export_restores_the_selected_brain(source: InMemoryStorage) -> None:
    await source.save_brain(Brain.create("other", brain_id="b-2"))
    source.set_brain("b-2")
    await BrainExporter().export(source, "b-1")
    assert source.brain_id == "b-2"

    fresh = InMemoryStorage()
    await fresh.save_brain(Brain.create("lonely", brain_id="b-9"))
    await BrainExporter().export(fresh, "b-9")
    with pytest.raises(BrainNotSetError):
        _ = fresh.brain_id
    with pytest.raises(BrainNotFoundError):
        await BrainExporter().export(fresh, "missing")


async def test_import_into_the_same_storage_copies_the_brain(source: InMemoryStorage) -> None:
    snapshot = await entities(source, "b-1")
    await BrainImporter().import_brain(source, snapshot, "b-1-copy")
    assert source.brain_id == "b-1"
    same_content(snapshot, await entities(source, "b-1-copy"))
    same_content(snapshot, await entities(source, "b-1"))


async def test_metadata_that_json_would_change_is_refused_when_written() -> None:
    storage = InMemoryStorage()
    await storage.save_brain(Brain.create("t", brain_id="b"))
    storage.set_brain("b")
    neuron = Neuron.create(NeuronType.CONCEPT, "x", metadata={"pair": (1, 2)})
    with pytest.raises(ValidationError, match="would change in JSON"):
        await storage.add_neuron(neuron)
    assert await storage.get_neuron(neuron.id) is None
    await BrainExporter().export(storage, "b")


# -- hostile input: refused, target unchanged ------------------------------------------------


@pytest.fixture
async def valid_json(source: InMemoryStorage) -> str:
    return (await entities(source, "b-1")).to_json()


@pytest.fixture
async def target() -> InMemoryStorage:
    storage = InMemoryStorage()
    await fill_brain(storage, Brain.create("existing", brain_id="b-existing"))
    storage.set_brain("b-existing")
    return storage


def mutate(text: str, change: Callable[[dict[str, Any]], None]) -> str:
    data = json.loads(text)
    change(data)
    return json.dumps(data)


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE: dict[str, Callable[[str], str]] = {
    "truncated": lambda t: t[: len(t) // 2],
    "empty": lambda t: "",
    "not an object": lambda t: "[1, 2, 3]",
    "wrong version": lambda t: mutate(t, lambda d: d.update(version=2)),
    "version as text": lambda t: mutate(t, lambda d: d.update(version="1")),
    "wrong format": lambda t: mutate(t, lambda d: d.update(format="zip")),
    "missing section": lambda t: mutate(t, lambda d: d.pop("projects")),
    "missing field": lambda t: mutate(t, lambda d: d["fibers"][0].pop("content")),
    "missing config field": lambda t: mutate(t, lambda d: d["brain"]["config"].pop("decay_rate")),
    "unknown field": lambda t: mutate(t, lambda d: d["neurons"][0].update(evil=True)),
    "wrong type": lambda t: mutate(t, lambda d: d["neurons"][0].update(activation="high")),
    "out of range": lambda t: mutate(t, lambda d: d["synapses"][0].update(weight=7)),
    "tags as string": lambda t: mutate(t, lambda d: d["fibers"][0].update(tags="api")),
    "unknown enum": lambda t: mutate(t, lambda d: d["neurons"][0].update(type="demon")),
    "naive timestamp": lambda t: mutate(
        t, lambda d: d["neurons"][0].update(created_at="2024-05-01T12:00:00")
    ),
    "dangling synapse": lambda t: mutate(
        t, lambda d: d["synapses"][0].update(target_id="n-nowhere")
    ),
    "dangling fiber neuron": lambda t: mutate(
        t, lambda d: d["fibers"][0]["neuron_ids"].append("n-nowhere")
    ),
    "duplicate ids": lambda t: mutate(t, lambda d: d["projects"].append(d["projects"][0])),
    "oversized content": lambda t: mutate(
        t, lambda d: d["fibers"][0].update(content="x" * (MAX_TEXT_LENGTH + 1))
    ),
    "oversized id": lambda t: mutate(
        t, lambda d: d["projects"][0].update(id="p" * (MAX_ID_LENGTH + 1))
    ),
    "duplicate JSON keys": lambda t: t.replace('"version":1', '"version":1,"version":1', 1),
    "NaN": lambda t: t.replace('"activation":0.73', '"activation":NaN', 1),
    "huge number": lambda t: t.replace('"activation":0.73', '"activation":1e999', 1),
    "huge integer": lambda t: t.replace('"access_count":4', '"access_count":' + "9" * 5000, 1),
    "deep nesting": lambda t: t.replace(
        '"metadata":{}', '"metadata":{"x":' + _nested(100_000) + "}", 1
    ),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_snapshots_are_refused_and_change_nothing(
    case: str, valid_json: str, target: InMemoryStorage
) -> None:
    hostile = HOSTILE[case](valid_json)
    assert hostile != valid_json
    before = await storage_state(target)
    with pytest.raises(SnapshotFormatError) as raised:
        await BrainImporter().import_brain(target, hostile, "b-new")
    assert str(raised.value)  # a message saying what is wrong
    assert await storage_state(target) == before
    assert target.brain_id == "b-existing"


async def test_messages_name_the_problem(valid_json: str) -> None:
    cases = {
        "truncated": "not valid JSON",
        "wrong version": "unsupported snapshot version 2",
        "missing field": "fibers[0] is missing field(s) ['content']",
        "dangling synapse": "names missing neuron 'n-nowhere'",
        "dangling fiber neuron": "fibers[0] ('f-new') names missing neuron(s) ['n-nowhere']",
        "duplicate ids": "duplicate id",
        "oversized content": "fibers[0].content is longer than",
    }
    for case, message in cases.items():
        with pytest.raises(SnapshotFormatError, match=re.escape(message)):
            BrainSnapshot.from_json(HOSTILE[case](valid_json))


async def test_existing_target_brain_is_refused_and_untouched(
    valid_json: str, target: InMemoryStorage
) -> None:
    before = await storage_state(target)
    with pytest.raises(AlreadyExistsError):
        await BrainImporter().import_brain(target, valid_json, "b-existing")
    assert await storage_state(target) == before


async def test_hand_built_hostile_snapshots_are_refused(source: InMemoryStorage) -> None:
    snapshot = await entities(source, "b-1")
    target = InMemoryStorage()
    bad = [
        replace(snapshot, neurons=snapshot.neurons + snapshot.neurons[:1]),
        replace(snapshot, fibers=list(snapshot.fibers)),  # type: ignore[arg-type]
        replace(snapshot, synapses=snapshot.synapses[:1] + snapshot.neurons[:1]),  # type: ignore[operator]
        replace(snapshot, neurons=snapshot.neurons[1:]),
        replace(snapshot, version=2),
    ]
    for snap in bad:
        with pytest.raises(SnapshotFormatError):
            await BrainImporter().import_brain(target, snap, "b-new")
    assert await target.list_brains() == []


class RefusingStorage(InMemoryStorage):
    """An in-memory storage whose batch writes fail, as a lost database connection would.

    It creates brains with the generic (non-transactional) ``Storage._create_brain``, whose
    clean-up this exercises; the backends' own versions are one transaction.
    """

    _create_brain = Storage._create_brain

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        raise StorageUnavailableError("connection lost")


async def test_a_failed_write_removes_the_new_brain_again(valid_json: str) -> None:
    storage = RefusingStorage()
    await storage.save_brain(Brain.create("keep", brain_id="b-keep"))
    with pytest.raises(StorageUnavailableError):
        await BrainImporter().import_brain(storage, valid_json, "b-new")
    assert [b.id for b in await storage.list_brains()] == ["b-keep"]
    with pytest.raises(BrainNotSetError):
        _ = storage.brain_id


async def test_import_reports_its_stages_and_can_rename_the_brain(valid_json: str) -> None:
    snapshot = BrainImporter().from_json(valid_json)
    sections = (snapshot.neurons, snapshot.synapses, snapshot.fibers, snapshot.typed_memories)
    total = sum(map(len, sections)) + len(snapshot.projects)
    seen: list[tuple[str, int, int]] = []
    storage = InMemoryStorage()
    result = await BrainImporter().import_brain(
        storage,
        snapshot,
        "b-renamed",
        name="renamed",
        progress=lambda stage, done, of: seen.append((stage, done, of)),
    )
    assert seen == [
        ("checking", 0, total),
        ("checking", total, total),
        ("writing", 0, total),
        ("writing", total, total),
    ]
    brain = await storage.get_brain(result.brain_id)
    assert brain is not None and brain.name == "renamed"
    assert result.fibers == len(snapshot.fibers) > 0
