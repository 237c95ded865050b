"""Typed memories and projects."""

from __future__ import annotations

import pytest

from neural_memory.core import MemoryType, Priority, Project, TypedMemory
from neural_memory.errors import NotFoundError, ValidationError
from neural_memory.storage import Storage
from tests.storage.helpers import at, store_fibers


@pytest.fixture(autouse=True)
async def _fibers(storage: Storage) -> None:
    """The fibers the typed memories of these tests belong to."""
    await store_fibers(storage, "f-1", "f-2", "f-3", "f-4", "f-a", "f-b")


def memory(
    fiber_id: str,
    memory_type: MemoryType = MemoryType.FACT,
    priority: Priority | int = Priority.NORMAL,
    *,
    minute: float = 0,
    **kw: object,
) -> TypedMemory:
    return TypedMemory.create(fiber_id, memory_type, priority, created_at=at(minute), **kw)


async def test_typed_memory_round_trip_keeps_every_field(storage: Storage) -> None:
    m = TypedMemory(
        id="tm-1",
        fiber_id="f-1",
        memory_type=MemoryType.DECISION,
        priority=Priority.HIGH,
        source="user_input",
        expires_at=at(60 * 24 * 30),
        tags=frozenset({"project", "auth"}),
        project_id="p-1",
        created_at=at(0),
        metadata={"by": "alice", "votes": [1, 2]},
    )
    await storage.add_typed_memory(m)
    assert await storage.get_typed_memory("tm-1") == m
    assert await storage.get_typed_memory("tm-missing") is None


async def test_add_typed_memory_replaces_the_same_id(storage: Storage) -> None:
    m = memory("f-1")
    await storage.add_typed_memory(m)
    raised = m.with_priority(Priority.CRITICAL)
    await storage.add_typed_memory(raised)
    assert await storage.find_typed_memories(now=at(0)) == [raised]


async def test_find_typed_memories_filters_and_orders(storage: Storage) -> None:
    low_old = memory("f-1", MemoryType.FACT, Priority.LOW, minute=1, tags={"a"})
    high = memory("f-2", MemoryType.DECISION, Priority.HIGH, minute=2, tags={"a", "b"})
    normal_new = memory("f-3", MemoryType.FACT, Priority.NORMAL, minute=9, project_id="p-1")
    normal_old = memory("f-4", MemoryType.TODO, Priority.NORMAL, minute=3, project_id="p-1")
    for m in (low_old, high, normal_new, normal_old):
        await storage.add_typed_memory(m)
    now = at(10)
    assert await storage.find_typed_memories(now=now) == [high, normal_new, normal_old, low_old]
    assert await storage.find_typed_memories(MemoryType.FACT, now=now) == [normal_new, low_old]
    assert await storage.find_typed_memories(min_priority=Priority.NORMAL, now=now) == [
        high,
        normal_new,
        normal_old,
    ]
    assert await storage.find_typed_memories(min_priority=7, now=now) == [high]
    assert await storage.find_typed_memories(tags=["a"], now=now) == [high, low_old]
    assert await storage.find_typed_memories(tags={"a", "b"}, now=now) == [high]
    assert await storage.find_typed_memories(project_id="p-1", now=now) == [
        normal_new,
        normal_old,
    ]
    assert await storage.find_typed_memories(now=now, limit=2) == [high, normal_new]
    assert await storage.find_typed_memories(MemoryType.ERROR, now=now) == []
    with pytest.raises(ValidationError):
        await storage.find_typed_memories(memory_type="gossip")


async def test_min_priority_accepts_thresholds_between_named_levels(storage: Storage) -> None:
    normal = memory("f-1", MemoryType.FACT, Priority.NORMAL, minute=1)
    high = memory("f-2", MemoryType.FACT, Priority.HIGH, minute=2)
    critical = memory("f-3", MemoryType.FACT, Priority.CRITICAL, minute=3)
    for m in (normal, high, critical):
        await storage.add_typed_memory(m)
    now = at(10)
    assert await storage.find_typed_memories(min_priority=6, now=now) == [critical, high]
    assert await storage.find_typed_memories(min_priority=8, now=now) == [critical]
    assert await storage.find_typed_memories(min_priority=0, now=now) == [critical, high, normal]
    assert await storage.find_typed_memories(min_priority=10, now=now) == [critical]
    for bad in (-1, 11, 6.5, "6", True):
        with pytest.raises(ValidationError, match="min_priority"):
            await storage.find_typed_memories(min_priority=bad, now=now)  # type: ignore[arg-type]


async def test_expired_memories_are_left_out_unless_asked(storage: Storage) -> None:
    lasting = memory("f-1", minute=0)
    brief = memory("f-2", minute=1, expires_in_days=1)
    await storage.add_typed_memory(lasting)
    await storage.add_typed_memory(brief)
    day = 60 * 24
    assert await storage.find_typed_memories(now=at(day)) == [brief, lasting]
    # Expiry is inclusive: at the very moment it expires, it is gone.
    assert await storage.find_typed_memories(now=at(day + 1)) == [lasting]
    assert await storage.find_typed_memories(now=at(2 * day)) == [lasting]
    assert await storage.find_typed_memories(include_expired=True, now=at(2 * day)) == [
        brief,
        lasting,
    ]
    # The real clock is far past T0: without ``now`` the brief memory has expired.
    assert await storage.find_typed_memories() == [lasting]


async def test_typed_memories_for_fibers(storage: Storage) -> None:
    a = memory("f-a")
    b = memory("f-b", expires_in_days=1)
    await storage.add_typed_memory(a)
    await storage.add_typed_memory(b)
    found = await storage.get_typed_memories_for_fibers(["f-a", "f-b", "f-none"])
    assert found == {"f-a": a, "f-b": b}
    assert await storage.get_typed_memories_for_fibers([]) == {}


async def test_update_and_delete_typed_memory(storage: Storage) -> None:
    m = memory("f-1")
    await storage.add_typed_memory(m)
    tagged = m.with_tags("later")
    await storage.update_typed_memory(tagged)
    assert await storage.get_typed_memory(m.id) == tagged
    with pytest.raises(NotFoundError):
        await storage.update_typed_memory(memory("f-2"))
    assert await storage.delete_typed_memory(m.id) is True
    assert await storage.delete_typed_memory(m.id) is False
    assert await storage.get_typed_memory(m.id) is None


async def test_typed_memory_refuses_other_objects(storage: Storage) -> None:
    with pytest.raises(ValidationError):
        await storage.add_typed_memory({"fiber_id": "f"})


# -- projects ------------------------------------------------------------------------------


async def test_projects_round_trip_and_list_oldest_first(storage: Storage) -> None:
    late = Project.create("Q2", "second", duration_days=14, tags={"q2"}, created_at=at(100))
    early = Project.create("Q1 Sprint", "First quarter sprint", created_at=at(1))
    await storage.add_project(late)
    await storage.add_project(early)
    assert await storage.get_project(late.id) == late
    assert await storage.get_project("p-missing") is None
    assert await storage.list_projects() == [early, late]
    described = early.with_description("changed")
    await storage.add_project(described)
    assert await storage.list_projects() == [described, late]


async def test_project_memories_and_deleting_a_project(storage: Storage) -> None:
    project = Project.create("sprint", created_at=at(0))
    await storage.add_project(project)
    todo = memory("f-1", MemoryType.TODO, Priority.HIGH, project_id=project.id)
    done = memory("f-2", MemoryType.TODO, project_id=project.id, expires_in_days=1)
    unrelated = memory("f-3")
    for m in (todo, done, unrelated):
        await storage.add_typed_memory(m)
    assert await storage.get_project_memories(project.id) == [todo]
    assert await storage.get_project_memories(project.id, include_expired=True) == [todo, done]
    assert await storage.delete_project(project.id) is True
    assert await storage.delete_project(project.id) is False
    assert await storage.get_project(project.id) is None
    # The memories stay, still naming the project they belonged to.
    assert await storage.get_typed_memory(todo.id) == todo
    with pytest.raises(ValidationError):
        await storage.get_project_memories("")
