"""Bulk encoding and import pause the cyclic garbage collector, and give it back as found."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import pytest

from neural_memory import Brain
from neural_memory.engine._bulk_gc import BULK_MIN_ITEMS, collector_paused
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.errors import StorageClosedError
from neural_memory.sharing import BrainExporter, BrainImporter
from neural_memory.storage import InMemoryStorage
from neural_memory.storage.batch import WriteBatch


class _Watching(InMemoryStorage):
    """Notes whether the collector ran at each write."""

    def __init__(self) -> None:
        super().__init__()
        self.collector_at_writes: list[bool] = []

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        self.collector_at_writes.append(gc.isenabled())
        return await super()._write(brain_id, batch)

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        self.collector_at_writes.append(gc.isenabled())
        return await super()._create_brain(brain, contents)


@pytest.fixture
def collector_on() -> Iterator[None]:
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


async def _encoder(storage: InMemoryStorage) -> MemoryEncoder:
    brain = Brain.create("gc")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return MemoryEncoder(storage, brain.config, embedder=None)


async def test_a_bulk_batch_is_written_with_the_collector_paused(collector_on: None) -> None:
    storage = _Watching()
    encoder = await _encoder(storage)
    await encoder.encode_many(
        [f"Note {i} about the billing service" for i in range(BULK_MIN_ITEMS)]
    )
    await encoder.encode("Carol leads the mobile team")
    assert storage.collector_at_writes == [False, True]  # the bulk batch, then the single one
    assert gc.isenabled()


async def test_a_failing_bulk_batch_gives_the_collector_back(collector_on: None) -> None:
    storage = _Watching()
    encoder = await _encoder(storage)
    await storage.close()
    with pytest.raises(StorageClosedError):
        await encoder.encode_many([f"Note {i}" for i in range(BULK_MIN_ITEMS)])
    assert gc.isenabled()


async def test_an_import_runs_with_the_collector_paused(collector_on: None) -> None:
    source = InMemoryStorage()
    encoder = await _encoder(source)
    await encoder.encode_many(["Dan fixed the login crash", "Dan joined the mobile team"])
    snapshot = await BrainExporter().export(source, (await source.list_brains())[0].id)
    target = _Watching()
    await BrainImporter().import_brain(target, snapshot.to_json(), "copy")
    assert target.collector_at_writes == [False]
    assert gc.isenabled()


def test_a_collector_the_application_disabled_stays_disabled() -> None:
    was = gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        if was:
            gc.enable()


def test_overlapping_pauses_end_with_the_last(collector_on: None) -> None:
    first_in, second_out = threading.Event(), threading.Event()
    seen: list[bool] = []

    def first() -> None:
        with collector_paused():
            first_in.set()
            second_out.wait(5)
            seen.append(gc.isenabled())  # the second pause ended: still paused here

    worker = threading.Thread(target=first)
    worker.start()
    first_in.wait(5)
    with collector_paused():
        pass
    second_out.set()
    worker.join(5)
    assert seen == [False]
    assert gc.isenabled()
    with collector_paused(bulk=False):
        assert gc.isenabled()
