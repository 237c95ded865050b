"""Index snapshots: a BrainIndex saved as compact arrays, loaded by the next process.

Opening a large brain used to mean rebuilding its index from every row (seconds at 100k
memories). The brain handle stores the built index instead (``storage.put_index_snapshot``,
tagged with the change seq it reflects); a new process loads it here and replays the
change log since. The snapshot holds exactly the index's state, dead rows included, so a
loaded index answers every recall as the one that was saved would. Vectors are not in it
(storage keeps them; the index reads them as a rebuild does).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from neural_memory.core.neuron import NeuronType
from neural_memory.core.text import TERMS_VERSION
from neural_memory.engine.retrieval._lazy_rows import LazyRows, SortedIds, id_arrays
from neural_memory.engine.retrieval._snapshot_codec import (
    SnapshotUnreadableError,
    Unpacked,
    pack,
    text_array,
    unpack,
)
from neural_memory.engine.retrieval.lexical import LexicalIndex

if TYPE_CHECKING:
    from neural_memory.engine.retrieval.index import (
        BrainIndex,
        FiberRecord,
        _FiberColumns,
        _Neurons,
    )

__all__ = ["FORMAT_VERSION", "SnapshotUnreadableError", "dump_index", "load_index"]

FORMAT_VERSION = 4
"""Bumped whenever the index's state changes shape: an older snapshot then rebuilds.

A snapshot also names the tokeniser of its documents (``core.text.TERMS_VERSION``): one of
another tokeniser rebuilds too, so terms of two tokenisers never mix.
"""

_TYPES = list(NeuronType)
_NO_TYPE = -1


class _Writer:
    def __init__(self) -> None:
        self.arrays: dict[str, npt.NDArray[Any]] = {}
        self.counts: dict[str, int] = {}

    def texts(self, name: str, strings: Sequence[str]) -> None:
        self.arrays[name] = text_array(strings)
        self.counts[name] = len(strings)

    def groups(self, name: str, groups: Sequence[Iterable[int]], dtype: type = np.int32) -> None:
        """Lists of numbers as their concatenation and where each one ends."""
        flat = [list(group) for group in groups]
        sizes = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
        self.arrays[f"{name}.ends"] = np.cumsum(sizes)
        self.arrays[name] = np.array(list(chain.from_iterable(flat)), dtype=dtype)


def dump_index(index: BrainIndex) -> bytes:
    """The state of ``index`` as a snapshot (ValueError: a text cannot be packed)."""
    out = _Writer()
    out.counts["seq"] = index.seq
    out.texts("tokeniser", [TERMS_VERSION])
    ids = [record.id.encode() for record in index.fibers]  # a replaced fiber: twice
    if any(fiber_id.endswith(b"\x00") for fiber_id in ids):
        raise ValueError("a fiber id ends with a NUL byte; it cannot be packed")
    out.arrays["fiber.ids"] = np.array(ids, dtype=np.bytes_) if ids else np.array([], "S1")
    out.arrays["fiber.live_ids"], out.arrays["fiber.live_rows"] = id_arrays(index.fiber_rows)
    out.groups("fiber.neurons", [record.neuron_rows for record in index.fibers])
    alive = [record.alive for record in index.fibers]
    out.arrays["fiber.alive"] = np.array(alive, dtype=np.uint8)
    documents = [document.encode() for document in index._documents]
    out.arrays["fiber.documents"] = np.frombuffer(b"".join(documents), dtype=np.uint8)
    out.arrays["fiber.documents.ends"] = np.cumsum(list(map(len, documents)), dtype=np.int64)
    columns = index._columns
    for name, dtype in _COLUMNS.items():
        out.arrays[f"column.{name}"] = np.frombuffer(getattr(columns, name), dtype=dtype)
    neurons = index.neurons
    out.texts("neuron.ids", neurons.ids)
    codes = [_NO_TYPE if kind is None else _TYPES.index(kind) for kind in neurons.items]
    out.arrays["neuron.types"] = np.array(codes, dtype=np.int8)
    out.groups("neuron.fibers", neurons.fibers)
    out.groups("neuron.links", [links.keys() for links in neurons.adjacency])
    weights = chain.from_iterable(links.values() for links in neurons.adjacency)
    out.arrays["neuron.weights"] = np.fromiter(weights, dtype=np.float64)
    out.arrays["synapse.ids"], out.arrays["synapse.slots"] = id_arrays(index._synapses)
    links = index._links
    out.arrays["link.source"] = np.frombuffer(links.source, dtype=np.int32)
    out.arrays["link.target"] = np.frombuffer(links.target, dtype=np.int32)
    out.arrays["link.both"] = np.frombuffer(links.both, dtype=np.uint8)
    out.arrays["link.weight"] = np.frombuffer(links.weight, dtype=np.float64)
    out.arrays["time_rows"] = np.array(sorted(index.time_rows), dtype=np.int32)
    out.texts("followers.ids", list(index._followers))
    out.groups("followers", list(index._followers.values()))
    terms, lexical = index.lexical.to_arrays()
    out.texts("lexical.terms", terms)
    out.arrays.update({f"lexical.{name}": values for name, values in lexical.items()})
    return pack(FORMAT_VERSION, out.arrays, out.counts)


_COLUMNS = {
    "occurred": "<i4",
    "conductivity": "<f4",
    "suppressed": "|u1",
    "asks": "|u1",
    "previous": "<i4",
    "next": "<i4",
    "speaker": "<i4",
}

_COLUMN_BOUNDS = {"previous": "fiber", "next": "fiber", "speaker": "neuron"}
"""Columns holding a row (or -1), and the rows they point at."""


def load_index(index: BrainIndex, data: bytes) -> None:
    """Put the state saved in ``data`` into the empty ``index`` (seq included).

    SnapshotUnreadableError when ``data`` is damaged, of another format or inconsistent;
    ``index`` is then left as it was. Per-fiber and per-neuron rows stay flat arrays until
    read (:class:`LazyRows`): recall reads few of them.
    """
    try:
        _load(index, unpack(data, FORMAT_VERSION))
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SnapshotUnreadableError(f"index snapshot does not fit: {exc}") from exc


class _Reader:
    """Reads and checks the parts of one snapshot."""

    def __init__(self, snapshot: Unpacked) -> None:
        self.snapshot = snapshot
        self.fiber_ids = snapshot.byte_strings("fiber.ids")
        self.fiber_count = len(self.fiber_ids)
        self.neuron_ids = snapshot.texts("neuron.ids")

    def fiber_id(self, row: int) -> str:
        """The id of fiber ``row``."""
        return bytes(self.fiber_ids[row]).decode()

    def sized(self, name: str, dtype: str, size: int) -> npt.NDArray[Any]:
        values = self.snapshot.array(name, dtype)
        if len(values) != size:
            raise ValueError(f"{name}: {len(values)} values for {size} rows")
        return values

    def groups(self, name: str, count: int, bound: int, dtype: str = "<i4") -> _Groups:
        """Group ``name`` (one per row of ``count``), its values in ``range(bound)``."""
        values = self.snapshot.array(name, dtype)
        ends = self.sized(f"{name}.ends", "<i8", count)
        if (len(ends) and ends[-1] != len(values)) or (len(ends) and np.any(np.diff(ends) < 0)):
            raise ValueError(f"{name}: groups do not cover the values")
        if bound >= 0 and len(values) and not 0 <= values.min() <= values.max() < bound:
            raise ValueError(f"{name}: a row out of bounds")
        return _Groups(values, [0, *ends.tolist()])


class _Groups:
    """Row ``i``'s values are ``values[bounds[i]:bounds[i + 1]]``."""

    def __init__(self, values: npt.NDArray[Any], bounds: list[int]) -> None:
        self.values, self.bounds = values, bounds

    def __call__(self, row: int) -> list[Any]:
        return self.values[self.bounds[row] : self.bounds[row + 1]].tolist()  # type: ignore[no-any-return]


def _load(index: BrainIndex, snapshot: Unpacked) -> None:
    from neural_memory.engine.retrieval.index import _Links  # noqa: PLC0415 (it imports us)

    if snapshot.texts("tokeniser") != [TERMS_VERSION]:
        raise ValueError("the documents were tokenised by another tokeniser")
    read = _Reader(snapshot)
    fibers, neurons = read.fiber_count, len(read.neuron_ids)
    live_ids = _sorted(snapshot.byte_strings("fiber.live_ids"))
    live_rows = _rows(read.sized("fiber.live_rows", "<i4", len(live_ids)), fibers)
    alive = read.sized("fiber.alive", "|u1", fibers).astype(bool).tolist()
    records = _records(read, alive)
    documents = read.groups("fiber.documents", fibers, -1, "|u1")
    columns = _columns(read, fibers, neurons)
    graph = _neurons(read, fibers, neurons)
    links = _Links()
    slots = len(snapshot.array("link.weight", "<f8"))
    links.source.frombytes(_rows(read.sized("link.source", "<i4", slots), neurons).tobytes())
    links.target.frombytes(_rows(read.sized("link.target", "<i4", slots), neurons).tobytes())
    links.both.extend(read.sized("link.both", "|u1", slots).tobytes())
    links.weight.frombytes(read.sized("link.weight", "<f8", slots).tobytes())
    synapse_ids = _sorted(snapshot.byte_strings("synapse.ids"))
    synapse_slots = _rows(read.sized("synapse.slots", "<i4", len(synapse_ids)), slots)
    follower_ids = snapshot.texts("followers.ids")
    waiting = read.groups("followers", len(follower_ids), fibers)
    followers = {fiber_id: waiting(i) for i, fiber_id in enumerate(follower_ids)}
    time_rows = _rows(snapshot.array("time_rows", "<i4"), neurons).tolist()
    lexical = _lexical(snapshot)
    if lexical.size != fibers:
        raise ValueError("lexical index: one document per fiber expected")

    # Everything read and checked: the index takes it in one go.
    index.seq = snapshot.count("seq")
    index.fibers = records
    index.fiber_rows = SortedIds(live_ids, live_rows)
    index._documents = LazyRows(fibers, lambda row: bytes(documents(row)).decode())
    index._columns = columns
    index.neurons = graph
    index._links = links
    index._synapses = SortedIds(synapse_ids, synapse_slots)
    index._followers = followers
    index.time_rows = set(time_rows)
    index.lexical = lexical
    index._unembedded = set(range(fibers))


def _records(read: _Reader, alive: list[bool]) -> LazyRows[FiberRecord]:
    from neural_memory.engine.retrieval.index import FiberRecord  # noqa: PLC0415

    members = read.groups("fiber.neurons", len(alive), len(read.neuron_ids))

    def record(row: int) -> FiberRecord:
        return FiberRecord(read.fiber_id(row), tuple(members(row)), alive[row])

    return LazyRows(len(alive), record)


def _neurons(read: _Reader, fibers: int, count: int) -> _Neurons:
    from neural_memory.engine.retrieval.index import _Neurons  # noqa: PLC0415

    neurons = _Neurons()
    neurons.ids = read.neuron_ids
    neurons.rows = dict(zip(read.neuron_ids, range(count), strict=True))
    codes = read.sized("neuron.types", "|i1", count)
    if len(codes) and not _NO_TYPE <= codes.min() <= codes.max() < len(_TYPES):
        raise ValueError("neuron.types: an unknown type")
    neurons.items = [None if code == _NO_TYPE else _TYPES[code] for code in codes.tolist()]
    neurons.fibers = LazyRows(count, read.groups("neuron.fibers", count, fibers))
    linked = read.groups("neuron.links", count, count)
    weights = read.sized("neuron.weights", "<f8", len(linked.values))
    adjacency = _Groups(weights, linked.bounds)
    neurons.adjacency = LazyRows(
        count, lambda row: dict(zip(linked(row), adjacency(row), strict=True))
    )
    return neurons


def _columns(read: _Reader, fibers: int, neurons: int) -> _FiberColumns:
    from neural_memory.engine.retrieval.index import _FiberColumns  # noqa: PLC0415

    columns = _FiberColumns()
    for name, dtype in _COLUMNS.items():
        values = read.sized(f"column.{name}", dtype, fibers)
        bound = _COLUMN_BOUNDS.get(name)
        if bound is not None and len(values):
            limit = fibers if bound == "fiber" else neurons
            if not -1 <= values.min() <= values.max() < limit:
                raise ValueError(f"column.{name}: a row out of bounds")
        column = getattr(columns, name)
        if isinstance(column, array):
            column.frombytes(values.tobytes())
        else:
            column.extend(values.tobytes())
    return columns


def _lexical(snapshot: Unpacked) -> LexicalIndex:
    arrays = {
        name: snapshot.array(f"lexical.{name}", dtype)
        for name, dtype in (
            ("ends", "<i8"),
            ("rows", "<i4"),
            ("tfs", "<f4"),
            ("lengths", "<f4"),
            ("alive", "|u1"),
            ("live_length", "<f8"),
        )
    }
    return LexicalIndex.from_arrays(snapshot.texts("lexical.terms"), arrays)


def _sorted(ids: npt.NDArray[np.bytes_]) -> npt.NDArray[np.bytes_]:
    """``ids``, checked to be sorted and unique (they are looked up by binary search)."""
    if len(ids) > 1 and not np.all(ids[1:] > ids[:-1]):
        raise ValueError("ids not sorted")
    return ids


def _rows(values: npt.NDArray[Any], bound: int) -> npt.NDArray[Any]:
    """``values``, checked to lie in ``range(bound)``."""
    if len(values) and not 0 <= values.min() <= values.max() < bound:
        raise ValueError("a row out of bounds")
    return values
