"""The brain handle: one owner of a brain's engine state, released with its storage."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from neural_memory import Brain, BrainConfig
from neural_memory.core import Fiber, Neuron, NeuronType
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.handle import BrainHandle, thread_key
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import (
    AccessDeniedError,
    EmbeddingError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage import SQLiteStorage, Storage, WriteBatch

T0 = datetime(2024, 5, 2, 18, 0, tzinfo=UTC)


class _Embedder:
    """A tiny deterministic embedder that fails on demand."""

    def __init__(self) -> None:
        self.fail = False
        self.calls = 0

    @property
    def dimension(self) -> int:
        return 4

    @property
    def name(self) -> str:
        return "toy-4"

    async def embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        if self.fail:
            raise EmbeddingError("the model is gone")
        rows = np.array([[len(t), t.count("a") + 1, t.count("e") + 1, 1.0] for t in texts])
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)


async def _brain(tmp_path: Path) -> tuple[SQLiteStorage, Brain]:
    storage = SQLiteStorage(tmp_path / "brain.db")
    await storage.initialize()
    brain = Brain.create("handle")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return storage, brain


async def test_every_interface_gets_the_same_handle_of_a_brain(tmp_path: Path) -> None:
    storage, brain = await _brain(tmp_path)
    try:
        handle = BrainHandle.of(storage)
        assert BrainHandle.of(storage, brain.id) is handle
        assert BrainHandle.of(storage.for_brain(brain.id)) is handle
        assert BrainHandle.of(handle) is handle
        assert handle.storage.brain_id == brain.id
    finally:
        await storage.close()


async def test_a_closed_storage_and_its_handles_are_freed(tmp_path: Path) -> None:
    storage, brain = await _brain(tmp_path)
    encoder = MemoryEncoder(storage, brain.config)
    await encoder.encode("Carol leads the mobile team")
    await ReflexPipeline(storage, brain.config).query("who leads the mobile team")
    handle = BrainHandle.of(storage)
    refs = [weakref.ref(storage), weakref.ref(handle), weakref.ref(handle.index())]
    await storage.close()
    del storage, encoder, handle
    gc.collect()
    assert [ref() for ref in refs] == [None, None, None]


async def test_an_unclosed_storage_warns_even_with_handles(tmp_path: Path) -> None:
    storage, brain = await _brain(tmp_path)
    await MemoryEncoder(storage, brain.config).encode("Dan fixed the login crash")
    await ReflexPipeline(storage, brain.config).query("who fixed the crash")
    with pytest.warns(ResourceWarning, match="never closed"):
        del storage
        gc.collect()


async def test_an_embedder_failure_leaves_nothing_committed(tmp_path: Path) -> None:
    storage, brain = await _brain(tmp_path)
    try:
        embedder = _Embedder()
        encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
        embedder.fail = True
        with pytest.raises(EmbeddingError):
            await encoder.encode("Erin moved to Lisbon in March", timestamp=T0)
        assert await storage.get_change_seq() == 0
        assert await storage.find_fibers() == []
        embedder.fail = False
        result = await encoder.encode("Erin moved to Lisbon in March", timestamp=T0)
        assert not result.merged
        assert "mentions" not in result.fiber.metadata
        stored = await storage.get_vectors("toy-4")
        assert list(stored) == [result.fiber.id]
    finally:
        await storage.close()


async def test_vectors_are_stored_so_a_reopened_brain_embeds_nothing(tmp_path: Path) -> None:
    storage, brain = await _brain(tmp_path)
    embedder = _Embedder()
    encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
    await encoder.encode_many([f"note {i} about the release" for i in range(5)])
    await storage.close()
    reopened = SQLiteStorage(tmp_path / "brain.db")
    try:
        reopened.set_brain(brain.id)
        fresh = _Embedder()
        result = await ReflexPipeline(reopened, brain.config, embedder=fresh).query("release")
        assert result.fibers
        assert fresh.calls == 1  # the query only: the memories' vectors were read back
    finally:
        await reopened.close()


async def test_a_failed_write_leaves_no_dangling_follows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, brain = await _brain(tmp_path)
    try:
        encoder = MemoryEncoder(storage, brain.config)
        first = await encoder.encode("Did you book the flights?", timestamp=T0)
        scoped = BrainHandle.of(storage).storage
        real_write = scoped.write

        async def broken(batch: WriteBatch) -> int:
            raise StorageUnavailableError("disk full")

        monkeypatch.setattr(scoped, "write", broken)
        with pytest.raises(StorageUnavailableError):
            await encoder.encode("Yes, for Friday.", timestamp=T0 + timedelta(minutes=1))
        monkeypatch.setattr(scoped, "write", real_write)
        third = await encoder.encode("Great, thanks!", timestamp=T0 + timedelta(minutes=2))
        assert third.fiber.metadata["follows"] == first.fiber.id
        tail = await storage.get_meta(thread_key(None))
        assert tail["fiber_id"] == third.fiber.id
    finally:
        await storage.close()


async def test_threads_are_per_conversation_and_survive_a_new_process(tmp_path: Path) -> None:
    storage, brain = await _brain(tmp_path)
    encoder = MemoryEncoder(storage, brain.config)
    a1 = await encoder.encode("Where shall we eat?", timestamp=T0, conversation="a")
    b1 = await encoder.encode("Is the build green?", timestamp=T0, conversation="b")
    await storage.close()
    again = SQLiteStorage(tmp_path / "brain.db")  # as a CLI would, one process per memory
    try:
        again.set_brain(brain.id)
        later = MemoryEncoder(again, BrainConfig())
        a2 = await later.encode(
            "The Thai place.", timestamp=T0 + timedelta(minutes=1), conversation="a"
        )
        b2 = await later.encode_many(
            [MemoryInput(text="Yes, all green.", timestamp=T0, conversation="b")]
        )
        explicit = await later.encode("Noted.", timestamp=T0, follows=a1.fiber.id)
        assert a2.fiber.metadata["follows"] == a1.fiber.id
        assert b2[0].fiber.metadata["follows"] == b1.fiber.id
        assert explicit.fiber.metadata["follows"] == a1.fiber.id
        assert a2.fiber.metadata["conversation"] == "a"
    finally:
        await again.close()


async def test_storage_rejects_a_handle_of_another_brain(tmp_path: Path) -> None:
    storage, _ = await _brain(tmp_path)
    try:
        handle = BrainHandle.of(storage)
        with pytest.raises(ValidationError, match="not"):
            BrainHandle.of(handle, "b-other")
        assert isinstance(handle.storage, Storage)
    finally:
        await storage.close()


async def test_recall_embeds_old_memories_even_when_it_may_not_store_their_vectors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, brain = await _brain(tmp_path)
    try:
        await MemoryEncoder(storage, brain.config).encode("the release notes are ready")
        scoped = BrainHandle.of(storage).storage

        async def read_only(batch: WriteBatch) -> int:
            raise AccessDeniedError("this key may only read")

        monkeypatch.setattr(scoped, "write", read_only)
        pipeline = ReflexPipeline(storage, brain.config, embedder=_Embedder(), reinforce=False)
        result = await pipeline.query("release notes")
        assert result.fibers and result.fibers[0].semantic > 0
        assert await storage.get_vectors("toy-4") == {}
    finally:
        await storage.close()


async def _orphan_and_user(storage: Storage) -> tuple[Neuron, Fiber]:
    """A stored neuron no memory names yet, and a memory that would name it."""
    tea = Neuron.create(NeuronType.CONCEPT, "tea")
    await storage.write(WriteBatch(insert_neurons=(tea,)))
    return tea, Fiber.create([tea.id], [], tea.id, content="tea at five")


async def test_a_pass_refused_because_another_writer_moved_the_brain_is_planned_again(
    storage: Storage,
) -> None:
    handle = BrainHandle.of(storage)
    tea, user = await _orphan_and_user(storage)
    plans: list[str] = []

    async def prune_orphans() -> tuple[WriteBatch | None, int]:
        orphans = [n.id for n in await storage.find_neurons() if n.id == tea.id]
        named = {n for f in await storage.find_fibers() for n in f.neuron_ids}
        plans.append("planned")
        if len(plans) == 1:  # another writer uses the orphan after this plan read the brain
            await storage.write(WriteBatch(insert_fibers=(user,)))
        doomed = tuple(n for n in orphans if n not in named)
        return (WriteBatch(delete_neuron_ids=doomed) if doomed else None), len(doomed)

    assert await handle.write_planned(prune_orphans) == 0  # the second plan sees the new user
    assert len(plans) == 2
    assert await storage.get_neuron(tea.id) == tea
    assert await storage.get_fiber(user.id) is not None


async def test_a_pass_refused_on_an_unmoved_brain_raises_at_once(storage: Storage) -> None:
    handle = BrainHandle.of(storage)
    tea, user = await _orphan_and_user(storage)
    await storage.write(WriteBatch(insert_fibers=(user,)))
    plans: list[str] = []

    async def wrong_plan() -> tuple[WriteBatch | None, None]:
        plans.append("planned")
        return WriteBatch(delete_neuron_ids=(tea.id,)), None

    with pytest.raises(ValidationError, match="still named by fiber"):
        await handle.write_planned(wrong_plan)
    assert plans == ["planned"]
    assert await storage.get_neuron(tea.id) == tea


async def test_own_conducts_reach_the_index_as_storage_has_them(tmp_path: Path) -> None:
    storage, brain = await _brain(tmp_path)
    try:
        encoder = MemoryEncoder(storage, brain.config)
        texts = ["Carol leads the mobile team", "Dan fixed the login crash"]
        await encoder.encode_many([MemoryInput(text=t, timestamp=T0) for t in texts])
        await storage.close()
        storage = SQLiteStorage(tmp_path / "brain.db")  # a new process: nothing loaded
        await storage.initialize()
        storage.set_brain(brain.id)
        handle = BrainHandle.of(storage)
        index = await handle.synced_index()
        carol, dan = (index.fiber_rows[f.id] for f in await storage.find_fibers())
        await index.load_fibers([carol])  # dan stays unloaded
        ids = (index.fibers[carol].id, index.fibers[carol].id)  # two recalls, one write
        seq = await handle.write(WriteBatch(fiber_conducts=ids, deltas_at=T0))
        assert index.seq == seq  # applied in place, nothing left to read back
        stored = await storage.get_fiber(ids[0])
        assert stored is not None and stored.access_count == 2
        assert index.fibers[carol].loaded == stored
        assert index.conductivity()[carol] == np.float32(stored.conductivity)

        dan_id = index.fibers[dan].id
        seq = await handle.write(WriteBatch(fiber_conducts=(dan_id,), deltas_at=T0))
        assert index.seq < seq  # not loaded: the next sync reads it back
        await index.sync()
        assert index.seq == seq
        await index.load_fibers([dan])
        assert index.fibers[dan].loaded == await storage.get_fiber(dan_id)
    finally:
        await storage.close()
