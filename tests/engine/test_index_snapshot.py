"""Index snapshots: the containers and the codec they are read with."""

from __future__ import annotations

import random

import numpy as np
import pytest

from neural_memory import BrainConfig
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.retrieval._lazy_rows import LazyMap, LazyRows, SortedIds, id_arrays
from neural_memory.engine.retrieval._snapshot import _Groups, dump_index, load_index
from neural_memory.engine.retrieval._snapshot_codec import (
    SnapshotUnreadableError,
    pack,
    text_array,
    unpack,
)
from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.storage import Storage
from tests.engine.test_retrieval import START, TEAM_FACTS, filler


def test_lazy_rows_make_each_row_once_when_read() -> None:
    made: list[int] = []
    rows = LazyRows(4, lambda row: made.append(row) or [row])
    assert len(rows) == 4 and made == []
    rows[2].append(20)
    assert rows[2] == [2, 20] and rows[-1] == [3] and made == [2, 3]
    rows.append([9])
    assert list(rows) == [[0], [1], [2, 20], [3], [9]] and rows[1:3] == [[1], [2, 20]]
    with pytest.raises(TypeError):
        rows.insert(0, [7])


def test_a_lazy_map_makes_each_value_once_and_keeps_added_keys() -> None:
    made: list[int] = []
    values = LazyMap(["a", "b"], lambda i: made.append(i) or [i])
    assert "b" in values and "z" not in values and made == []
    values.setdefault("b", []).append(10)
    values.setdefault("c", []).append(2)
    assert dict(values) == {"a": [0], "b": [1, 10], "c": [2]} and len(values) == 3
    assert values.get("z") is None and made == [1, 0]


def test_sorted_ids_behave_as_a_dict_through_any_changes() -> None:
    rng = random.Random(5)
    expected = {f"s-{i:04x}": i for i in rng.sample(range(5000), 300)}
    keys, values = id_arrays(expected)
    ids = SortedIds(keys, values)
    for step in range(2000):
        key = f"s-{rng.randrange(5000):04x}"
        if step % 7 == 0:  # found in bulk, some absent, some changed or removed since
            ids.look_up([key, *(f"s-{rng.randrange(5000):04x}" for _ in range(20))])
        assert ids.get(key) == expected.get(key)  # a found id is remembered: still right after
        assert ids.get(key, -1) == expected.get(key, -1)
        if rng.random() < 0.5:
            expected[key] = ids[key] = step
        elif key in expected:
            assert ids.pop(key) == expected.pop(key)
        else:
            assert ids.pop(key, None) is None
        assert (key in ids) == (key in expected)
    assert len(ids) == len(expected) and dict(ids) == expected
    keys, values = ids.arrays()
    assert dict(zip((k.decode() for k in keys.tolist()), values.tolist(), strict=True)) == expected


def test_groups_with_rows_changed_and_added_equal_the_groups_built_again() -> None:
    rng = random.Random(3)
    groups = [[rng.randrange(100) for _ in range(rng.randrange(5))] for _ in range(200)]
    ends = np.cumsum([len(g) for g in groups], dtype=np.int64)
    source = _Groups(np.array([v for g in groups for v in g], dtype=np.int32), ends)
    changed = {
        row: [rng.randrange(100) for _ in range(rng.randrange(6))]
        for row in [0, 199, *rng.sample(range(1, 199), 30)]
    }
    changed.update({200 + i: [i] * i for i in range(4)})  # rows added after loading
    values, merged_ends = source.merged(changed)
    expected = [changed.get(row, group) for row, group in enumerate(groups)]
    expected += [changed[200 + i] for i in range(4)]
    assert values.tolist() == [v for group in expected for v in group]
    assert merged_ends.tolist() == np.cumsum([len(g) for g in expected]).tolist()
    with pytest.raises(ValueError, match="gap"):
        source.merged({202: [1]})


def test_packed_arrays_and_texts_read_back() -> None:
    texts = ["alpha", "", "gamma delta", "é"]
    data = pack(
        3,
        {"n": np.arange(5, dtype=np.int32), "t": text_array(texts), "b": np.array([b"xy"])},
        {"t": len(texts)},
    )
    read = unpack(data, 3)
    assert read.array("n", "<i4").tolist() == [0, 1, 2, 3, 4]
    assert read.texts("t") == texts
    assert read.byte_strings("b").tolist() == [b"xy"]
    with pytest.raises(SnapshotUnreadableError):
        unpack(data, 4)  # another format version
    with pytest.raises(SnapshotUnreadableError):
        unpack(data[:-1] + b"\x01", 3)  # damaged
    with pytest.raises(SnapshotUnreadableError):
        read.array("n", "<f8")  # not what was written
    with pytest.raises(ValueError, match="separator"):
        text_array(["a\x00b"])


async def test_a_loaded_index_saves_exactly_what_it_loaded(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    await encoder.encode_many(filler(30))
    for text in TEAM_FACTS:
        await encoder.encode(text, timestamp=START)
    index = await BrainHandle.of(storage).synced_index()
    doomed = next(record.id for record in index.fibers if record.alive)
    await storage.delete_fiber(doomed)
    await index.sync()  # a dead row, dropped links
    data = dump_index(index)
    loaded = BrainIndex(storage, storage.brain_id, None)
    load_index(loaded, data)
    assert loaded.seq == index.seq and loaded.fiber(doomed) is None
    assert dump_index(loaded) == data
    query = ["team", "login", "crash"]
    assert np.array_equal(loaded.lexical.scores(query), index.lexical.scores(query))


async def test_a_loaded_index_saves_its_changes_without_reading_every_row(
    storage: Storage,
) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    await encoder.encode_many(filler(30))
    await encoder.encode(TEAM_FACTS[0], timestamp=START)
    index = await BrainHandle.of(storage).synced_index()
    loaded = BrainIndex(storage, storage.brain_id, None)
    load_index(loaded, dump_index(index))
    loaded.generation = index.generation
    for text in TEAM_FACTS[1:]:  # new rows, new neurons, new links on loaded ones
        await encoder.encode(text, timestamp=START)
    await storage.delete_fiber(next(r.id for r in index.fibers if r.alive))
    await loaded.sync()
    assert loaded.fibers[3].alive  # a row read, unchanged
    data = dump_index(loaded)
    assert isinstance(loaded.fibers, LazyRows)
    assert len(loaded.fibers.made()) < len(loaded.fibers)  # rows never read stayed packed
    loaded.fibers, loaded._documents = list(loaded.fibers), list(loaded._documents)
    loaded.neurons.fibers = list(loaded.neurons.fibers)
    loaded.neurons.adjacency = list(loaded.neurons.adjacency)
    assert dump_index(loaded) == data  # the same as from every row read
    await index.sync()
    again = BrainIndex(storage, storage.brain_id, None)
    load_index(again, data)
    query = ["team", "login", "crash", "carol"]
    assert np.array_equal(again.lexical.scores(query), index.lexical.scores(query))
    assert again.memory_count == index.memory_count
