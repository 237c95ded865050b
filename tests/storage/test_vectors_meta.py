"""Vectors and meta values written in a WriteBatch: stored with the memory, atomically."""

from __future__ import annotations

import numpy as np
import pytest

from neural_memory.core import ChangeKind
from neural_memory.errors import AlreadyExistsError, NotFoundError, ValidationError
from neural_memory.storage import FiberVector, Storage, WriteBatch
from tests.storage.helpers import fiber, neuron


def _memory(text: str) -> tuple[WriteBatch, str]:
    n = neuron(text)
    f = fiber(n, content=text)
    return WriteBatch(ensure_neurons=(n,), insert_fibers=(f,)), f.id


def _vector(fiber_id: str, seed: float, model: str = "mini") -> FiberVector:
    return FiberVector(fiber_id, model, np.array([seed, 1.0 - seed, 0.25], dtype=np.float32))


async def test_a_vector_is_stored_with_its_memory_and_read_back(storage: Storage) -> None:
    batch, fiber_id = _memory("alpha")
    vector = _vector(fiber_id, 0.5)
    seq = await storage.write(WriteBatch(**{**_fields(batch), "put_vectors": (vector,)}))
    assert seq == await storage.get_change_seq()
    found = await storage.get_vectors("mini")
    assert list(found) == [fiber_id]
    assert np.array_equal(found[fiber_id], vector.vector)
    assert found[fiber_id].dtype == np.float32
    assert await storage.get_vectors("other-model") == {}
    assert await storage.get_vectors("mini", []) == {}
    assert set(await storage.get_vectors("mini", [fiber_id, "f-absent"])) == {fiber_id}


async def test_a_vector_for_an_existing_memory_is_logged_as_a_fiber_change(
    storage: Storage,
) -> None:
    batch, fiber_id = _memory("beta")
    seq = await storage.write(batch)
    await storage.write(WriteBatch(put_vectors=(_vector(fiber_id, 0.1),)))
    changes = await storage.get_changes(seq)
    assert changes is not None
    assert [(c.kind, c.entity_id) for c in changes] == [(ChangeKind.FIBER, fiber_id)]
    await storage.write(WriteBatch(put_vectors=(_vector(fiber_id, 0.9),)))  # replaced
    stored = (await storage.get_vectors("mini"))[fiber_id]
    assert stored[0] == pytest.approx(0.9)


async def test_deleting_a_memory_deletes_its_vectors(storage: Storage) -> None:
    batch, fiber_id = _memory("gamma")
    vectors = (_vector(fiber_id, 0.2), _vector(fiber_id, 0.3, model="big"))
    await storage.write(WriteBatch(**{**_fields(batch), "put_vectors": vectors}))
    await storage.write(WriteBatch(delete_fiber_ids=(fiber_id,)))
    assert await storage.get_vectors("mini") == {}
    assert await storage.get_vectors("big") == {}


async def test_a_vector_of_a_missing_memory_writes_nothing(storage: Storage) -> None:
    batch, fiber_id = _memory("delta")
    bad = WriteBatch(**{**_fields(batch), "put_vectors": (_vector("f-missing", 0.4),)})
    with pytest.raises(NotFoundError):
        await storage.write(bad)
    assert await storage.get_fiber(fiber_id) is None
    assert await storage.get_change_seq() == 0


def test_a_vector_must_be_finite_and_flat() -> None:
    with pytest.raises(ValidationError):
        FiberVector("f-1", "mini", np.array([1.0, float("nan")]))
    with pytest.raises(ValidationError):
        FiberVector("f-1", "mini", np.zeros((2, 2)))
    with pytest.raises(ValidationError):
        FiberVector("f-1", "mini", np.array([]))
    frozen = FiberVector("f-1", "mini", [1, 2])
    assert frozen.vector.dtype == np.float32
    assert not frozen.vector.flags.writeable


async def test_meta_values_commit_with_the_batch(storage: Storage) -> None:
    batch, _ = _memory("epsilon")
    await storage.write(WriteBatch(**{**_fields(batch), "put_meta": (("pass.last_run", "x"),)}))
    assert await storage.get_meta("pass.last_run") == "x"
    failing = WriteBatch(insert_fibers=batch.insert_fibers, put_meta=(("pass.last_run", "y"),))
    with pytest.raises(AlreadyExistsError):  # the memory is there already: nothing is written
        await storage.write(failing)
    assert await storage.get_meta("pass.last_run") == "x"


async def test_meta_only_batch_is_written(storage: Storage) -> None:
    await storage.write(WriteBatch(put_meta=(("k", {"a": [1, 2]}),)))
    assert await storage.get_meta("k") == {"a": [1, 2]}


def _fields(batch: WriteBatch) -> dict[str, object]:
    return {name: getattr(batch, name) for name in batch.__dataclass_fields__}


async def test_meta_keys_lists_every_key_sorted(storage: Storage) -> None:
    assert await storage.meta_keys() == []
    await storage.set_meta("zeta", 1)
    await storage.write(WriteBatch(put_meta=(("alpha", [1, 2]), ("mid", None))))
    await storage.set_meta("zeta", 2)
    assert await storage.meta_keys() == ["alpha", "mid", "zeta"]
