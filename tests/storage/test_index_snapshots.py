"""Recall-index snapshots: stored per brain, the latest seq kept, gone with the brain."""

from __future__ import annotations

import pytest

from neural_memory import Brain
from neural_memory.errors import ValidationError
from neural_memory.storage import Storage
from neural_memory.storage._core import IndexSnapshot

KEEPS_NONE = {"shared"}
"""Backends that store no snapshots (their indexes rebuild): a remote storage."""


def _keeps(backend_name: str) -> bool:
    return backend_name not in KEEPS_NONE


async def test_a_stored_snapshot_reads_back(storage: Storage, backend_name: str) -> None:
    assert await storage.get_index_snapshot() is None
    data = bytes(range(256)) * 64
    stored = await storage.put_index_snapshot(IndexSnapshot(7, data))
    assert stored is _keeps(backend_name)
    expected = IndexSnapshot(7, data) if stored else None
    assert await storage.get_index_snapshot() == expected


async def test_a_newer_snapshot_replaces_an_older_one_but_not_the_reverse(
    storage: Storage, backend_name: str
) -> None:
    if not _keeps(backend_name):
        pytest.skip("this backend keeps no snapshots")
    assert await storage.put_index_snapshot(IndexSnapshot(5, b"five"))
    assert await storage.put_index_snapshot(IndexSnapshot(9, b"nine"))
    assert not await storage.put_index_snapshot(IndexSnapshot(6, b"six"))
    assert await storage.get_index_snapshot() == IndexSnapshot(9, b"nine")


async def test_snapshots_belong_to_their_brain_and_go_with_it(
    storage: Storage, backend_name: str
) -> None:
    if not _keeps(backend_name):
        pytest.skip("this backend keeps no snapshots")
    other = Brain.create("other")
    await storage.save_brain(other)
    await storage.put_index_snapshot(IndexSnapshot(3, b"first brain"))
    async with storage.using_brain(other.id):
        assert await storage.get_index_snapshot() is None
        await storage.put_index_snapshot(IndexSnapshot(4, b"other brain"))
    assert await storage.get_index_snapshot() == IndexSnapshot(3, b"first brain")
    await storage.delete_brain(other.id)
    await storage.save_brain(other)  # the same id again: a new, empty brain
    async with storage.using_brain(other.id):
        assert await storage.get_index_snapshot() is None


@pytest.mark.parametrize("seq", [-1, True, 1.5])
async def test_a_snapshot_with_a_bad_seq_is_refused(storage: Storage, seq: object) -> None:
    with pytest.raises(ValidationError):
        await storage.put_index_snapshot(IndexSnapshot(seq, b"x"))  # type: ignore[arg-type]


async def test_snapshot_data_must_be_bytes(storage: Storage) -> None:
    with pytest.raises(ValidationError):
        await storage.put_index_snapshot(IndexSnapshot(1, "text"))  # type: ignore[arg-type]
