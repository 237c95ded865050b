"""Memories as people handle them: typed remember, edit (supersession), forget, show, list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neural_memory import BrainConfig, NotFoundError, ValidationError
from neural_memory.core import MemoryType
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.memories import (
    MemoryFilter,
    MemorySpec,
    edit_memory,
    forget_memory,
    list_memories,
    remember_memory,
    show_memory,
)
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import Storage

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


async def test_typed_remember_list_and_merged_repeat(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    todo = MemorySpec(
        text="Renew the TLS certificate before Friday",
        when=START,
        memory_type=MemoryType.TODO,
        priority=7,
        tags=frozenset({"ops"}),
        project="infra",
    )
    first = await remember_memory(storage, encoder, todo)
    again = await remember_memory(storage, encoder, todo)
    await remember_memory(
        storage, encoder, MemorySpec(text="Lunch was ramen", when=START + timedelta(days=1))
    )
    assert first.typed is not None and first.typed.memory_type is MemoryType.TODO
    assert again.encoding.merged and again.typed is not None and again.typed.id == first.typed.id
    todos = await list_memories(storage, MemoryFilter(memory_type=MemoryType.TODO))
    assert [v.fiber.content for v in todos] == ["Renew the TLS certificate before Friday"]
    assert todos[0].project == "infra"
    everything = await list_memories(storage, MemoryFilter())
    assert everything[0].fiber.content == "Lunch was ramen"  # newest first
    assert [v.fiber.id for v in await list_memories(storage, MemoryFilter(tag="ops"))] == [
        first.encoding.fiber.id
    ]
    assert await list_memories(storage, MemoryFilter(project="nope")) == []
    later = await list_memories(storage, MemoryFilter(since=START + timedelta(hours=1)))
    assert [v.fiber.content for v in later] == ["Lunch was ramen"]


async def test_edit_supersedes_and_forget_removes_every_version(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    spec = MemorySpec(text="The standup is at 9:30 in room Juniper", when=START, speaker="Ann")
    stored = await remember_memory(storage, encoder, spec)
    old_id = stored.encoding.fiber.id
    edited = await edit_memory(
        storage,
        encoder,
        old_id,
        text="The standup is at 10:00 in room Juniper",
        memory_type=MemoryType.INSTRUCTION,
    )
    assert edited.current.id != old_id
    assert edited.current.metadata["supersedes"] == old_id
    assert edited.current.metadata["speaker"] == "Ann"
    assert edited.typed is not None and edited.typed.memory_type is MemoryType.INSTRUCTION
    view = await show_memory(storage, old_id)
    assert [v.id for v in view.versions] == [old_id, edited.current.id]
    pipeline = ReflexPipeline(storage, config, reinforce=False)
    result = await pipeline.query("When is the standup in Juniper?")
    assert result.fibers[0].fiber_id == edited.current.id
    with pytest.raises(ValidationError, match="already replaced"):
        await edit_memory(storage, encoder, old_id, text="something else")
    deleted = await forget_memory(storage, edited.current.id)
    assert set(deleted) == {old_id, edited.current.id}
    after = await pipeline.query("When is the standup in Juniper?")
    assert all("standup" not in f.content for f in after.fibers)
    with pytest.raises(NotFoundError):
        await show_memory(storage, old_id)


async def test_bad_edits_are_typed_errors(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    stored = await remember_memory(storage, encoder, MemorySpec(text="Blue is my colour"))
    with pytest.raises(ValidationError, match="nothing to edit"):
        await edit_memory(storage, encoder, stored.encoding.fiber.id)
    with pytest.raises(NotFoundError):
        await edit_memory(storage, encoder, "f-missing", text="x")
    retyped = await edit_memory(
        storage, encoder, stored.encoding.fiber.id, memory_type=MemoryType.PREFERENCE
    )
    assert retyped.current.id == stored.encoding.fiber.id
    assert retyped.typed is not None and retyped.typed.memory_type is MemoryType.PREFERENCE
