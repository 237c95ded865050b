"""Group commit of recall write-backs: concurrent recalls share writes and every one counts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from neural_memory import BrainConfig
from neural_memory.engine._group_commit import DeltaCommitter, merged_groups
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import NotFoundError, ValidationError
from neural_memory.storage import Storage, WriteBatch

T0 = datetime(2024, 5, 1, tzinfo=UTC)


def conduct(fiber_id: str, at: datetime = T0) -> WriteBatch:
    return WriteBatch(fiber_conducts=(fiber_id,), deltas_at=at)


class GatedWrites:
    """A write that records each batch and waits for ``release`` before it commits."""

    def __init__(self) -> None:
        self.batches: list[WriteBatch] = []
        self.started = asyncio.Event()
        self.release = asyncio.Event()

    async def write(self, batch: WriteBatch) -> int:
        self.batches.append(batch)
        self.started.set()
        await self.release.wait()
        if "missing" in batch.fiber_conducts:
            raise NotFoundError("no such fiber")
        return len(self.batches)


async def test_batches_queued_during_a_write_go_together_in_the_next() -> None:
    writes = GatedWrites()
    committer = DeltaCommitter(writes.write)
    first = asyncio.create_task(committer.submit(conduct("a")))
    await writes.started.wait()
    later = [asyncio.create_task(committer.submit(conduct(f))) for f in ("b", "c", "b")]
    await asyncio.sleep(0)  # let the later submissions queue behind the write in flight
    writes.release.set()
    assert await first == 1
    assert [await task for task in later] == [2, 2, 2]
    assert [b.fiber_conducts for b in writes.batches] == [("a",), ("b", "c", "b")]


async def test_a_failing_merged_write_is_retried_alone_for_each_caller() -> None:
    writes = GatedWrites()
    committer = DeltaCommitter(writes.write)
    first = asyncio.create_task(committer.submit(conduct("a")))
    await writes.started.wait()
    good = asyncio.create_task(committer.submit(conduct("b")))
    bad = asyncio.create_task(committer.submit(conduct("missing")))
    await asyncio.sleep(0)
    writes.release.set()
    assert await first == 1
    assert await good == 3  # 2 was the merged write that failed
    with pytest.raises(NotFoundError):
        await bad


async def test_only_delta_batches_are_accepted() -> None:
    committer = DeltaCommitter(GatedWrites().write)
    with pytest.raises(ValidationError):
        await committer.submit(WriteBatch(delete_fiber_ids=("a",)))


def test_batches_stamped_far_apart_are_not_merged() -> None:
    batches = [
        conduct("a"),
        conduct("b", T0 + timedelta(seconds=0.5)),
        conduct("c", T0 + timedelta(days=1)),
    ]
    groups = merged_groups(batches, timedelta(seconds=1))
    assert [members for _, members in groups] == [[0, 1], [2]]
    merged = groups[0][0]
    assert merged.fiber_conducts == ("a", "b")
    assert merged.deltas_at == T0 + timedelta(seconds=0.5)  # the group's latest stamp


async def test_concurrent_recalls_each_count_once_committed(storage: Storage) -> None:
    config = BrainConfig()
    encoded = await MemoryEncoder(storage, config).encode("Dan fixed the login crash")
    pipeline = ReflexPipeline(storage, config)
    results = await asyncio.gather(*(pipeline.query("who fixed the login crash") for _ in range(6)))
    assert all(r.fibers_matched[0] == encoded.fiber.id for r in results)
    fiber = await storage.get_fiber(encoded.fiber.id)
    assert fiber is not None and fiber.access_count == 6
    assert len(await storage.get_recall_events()) == 6
