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
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain
from typing import TYPE_CHECKING, Any, TypeVar

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
        loaded = _source(groups, _Groups)
        if loaded is not None:  # rows never read are copied from the loaded snapshot's arrays
            source, made = loaded
            values, ends = source.merged({row: list(group) for row, group in made.items()})
            self.arrays[f"{name}.ends"], self.arrays[name] = ends, values.astype(dtype)
            return
        flat = [list(group) for group in groups]
        sizes = np.fromiter(map(len, flat), dtype=np.int64, count=len(flat))
        self.arrays[f"{name}.ends"] = np.cumsum(sizes)
        self.arrays[name] = np.array(list(chain.from_iterable(flat)), dtype=dtype)


def dump_index(index: BrainIndex) -> bytes:
    """The state of ``index`` as a snapshot (ValueError: a text cannot be packed)."""
    out = _Writer()
    out.counts["seq"] = index.seq
    out.texts("tokeniser", [TERMS_VERSION])
    _dump_fibers(out, index.fibers, index.fiber_rows)
    _dump_documents(out, index._documents)
    columns = index._columns
    for name, dtype in _COLUMNS.items():
        out.arrays[f"column.{name}"] = np.frombuffer(getattr(columns, name), dtype=dtype)
    neurons = index.neurons
    out.texts("neuron.ids", neurons.ids)
    codes = [_NO_TYPE if kind is None else _TYPES.index(kind) for kind in neurons.items]
    out.arrays["neuron.types"] = np.array(codes, dtype=np.int8)
    out.groups("neuron.fibers", neurons.fibers)
    _dump_adjacency(out, neurons.adjacency)
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


def _dump_fibers(out: _Writer, fibers: Sequence[FiberRecord], live: Mapping[str, int]) -> None:
    loaded = _source(fibers, _RecordMaker)
    if loaded is None:
        ids = [record.id.encode() for record in fibers]  # a replaced fiber: twice
        _check_ids(ids)
        out.arrays["fiber.ids"] = np.array(ids, dtype=np.bytes_) if ids else np.array([], "S1")
        out.arrays["fiber.live_ids"], out.arrays["fiber.live_rows"] = id_arrays(live)
        out.groups("fiber.neurons", [record.neuron_rows for record in fibers])
        alive = [record.alive for record in fibers]
        out.arrays["fiber.alive"] = np.array(alive, dtype=np.uint8)
        return
    source, made = loaded
    count = len(source.alive)
    added = [made[row].id.encode() for row in range(count, len(fibers))]
    _check_ids(added)
    if any(made[row].id != source.fiber_id(row) for row in made if row < count):
        raise ValueError("a loaded fiber row changed its id")  # rows are never reused
    stored = source.read.fiber_ids
    out.arrays["fiber.ids"] = np.concatenate([stored, np.array(added, dtype=np.bytes_)])
    out.arrays["fiber.live_ids"], out.arrays["fiber.live_rows"] = id_arrays(live)
    values, ends = source.members.merged({row: made[row].neuron_rows for row in made})
    out.arrays["fiber.neurons.ends"], out.arrays["fiber.neurons"] = ends, values
    flags = np.zeros(len(fibers), dtype=np.uint8)
    flags[:count] = np.array(source.alive, dtype=np.uint8)
    for row, record in made.items():
        flags[row] = record.alive
    out.arrays["fiber.alive"] = flags


def _check_ids(ids: list[bytes]) -> None:
    if any(fiber_id.endswith(b"\x00") for fiber_id in ids):
        raise ValueError("a fiber id ends with a NUL byte; it cannot be packed")


def _dump_documents(out: _Writer, documents: Sequence[str]) -> None:
    loaded = _source(documents, _TextMaker)
    if loaded is None:
        encoded = [document.encode() for document in documents]
        out.arrays["fiber.documents"] = np.frombuffer(b"".join(encoded), dtype=np.uint8)
        out.arrays["fiber.documents.ends"] = np.cumsum(list(map(len, encoded)), dtype=np.int64)
        return
    source, made = loaded
    texts = {row: np.frombuffer(text.encode(), dtype=np.uint8) for row, text in made.items()}
    values, ends = source.groups.merged(texts)
    out.arrays["fiber.documents"], out.arrays["fiber.documents.ends"] = values, ends


def _dump_adjacency(out: _Writer, adjacency: Sequence[dict[int, float]]) -> None:
    loaded = _source(adjacency, _AdjacencyMaker)
    if loaded is None:
        out.groups("neuron.links", [links.keys() for links in adjacency])
        flat = chain.from_iterable(links.values() for links in adjacency)
        out.arrays["neuron.weights"] = np.fromiter(flat, dtype=np.float64)
        return
    source, made = loaded
    links, ends = source.linked.merged({row: list(made[row]) for row in made})
    weights, _ = source.weights.merged({row: list(made[row].values()) for row in made})
    out.arrays["neuron.links.ends"], out.arrays["neuron.links"] = ends, links.astype(np.int32)
    out.arrays["neuron.weights"] = weights.astype(np.float64)


_S = TypeVar("_S")


def _source(rows: Sequence[Any], kind: type[_S]) -> tuple[_S, dict[int, Any]] | None:
    """What lazy ``rows`` were loaded from (a ``kind``), and the rows made or added since.

    A row of :class:`LazyRows` never read still equals what the snapshot it was loaded
    from holds (rows change only once read), so only the rows made since need Python;
    None when ``rows`` did not come from a snapshot that way (write them one by one).
    """
    if not isinstance(rows, LazyRows) or not isinstance(rows.maker, kind):
        return None
    return rows.maker, rows.made()


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
        return _Groups(values, ends)


class _Groups:
    """Row ``i``'s values are ``values[bounds[i]:bounds[i + 1]]`` (``ends``: the bounds after 0)."""

    def __init__(self, values: npt.NDArray[Any], ends: npt.NDArray[np.int64]) -> None:
        self.values, self.ends, self.bounds = values, ends, [0, *ends.tolist()]

    def __call__(self, row: int) -> list[Any]:
        return self.values[self.bounds[row] : self.bounds[row + 1]].tolist()  # type: ignore[no-any-return]

    def merged(
        self, changed: Mapping[int, Sequence[Any] | npt.NDArray[Any]]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[np.int64]]:
        """These groups with rows ``changed`` (row -> its values; rows past the end: added).

        The rows between two changed ones are copied as one slice, so the Python work grows
        with the rows changed, not with all of them. Returns the values and each row's end.
        """
        count = len(self.ends)
        rows = max(count, max(changed, default=-1) + 1)
        if any(row not in changed for row in range(count, rows)):
            raise ValueError("groups added past the end leave a gap")
        sizes = np.zeros(rows, dtype=np.int64)
        sizes[:count] = np.diff(self.ends, prepend=0)
        for row, group in changed.items():
            sizes[row] = len(group)
        ends = np.cumsum(sizes)
        starts = (ends - sizes).tolist()
        values = np.empty(int(ends[-1]) if rows else 0, dtype=self.values.dtype)
        old, first = self.bounds, 0
        for stop in [*sorted(row for row in changed if row < count), count]:
            if stop > first:  # rows first .. stop - 1 are as loaded
                at = starts[first]
                values[at : at + old[stop] - old[first]] = self.values[old[first] : old[stop]]
            first = stop + 1
        for row, group in changed.items():
            values[starts[row] : starts[row] + len(group)] = group
        return values, ends


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
    index._documents = LazyRows(fibers, _TextMaker(documents))
    index._columns = columns
    index.neurons = graph
    index._links = links
    index._synapses = SortedIds(synapse_ids, synapse_slots)
    index._followers = followers
    index.time_rows = set(time_rows)
    index.lexical = lexical
    index._unembedded = set(range(fibers))


def _records(read: _Reader, alive: list[bool]) -> LazyRows[FiberRecord]:
    members = read.groups("fiber.neurons", len(alive), len(read.neuron_ids))
    return LazyRows(len(alive), _RecordMaker(read, members, alive))


class _RecordMaker:
    """Makes fiber row ``i`` of a loaded snapshot (and tells a dump where rows came from)."""

    def __init__(self, read: _Reader, members: _Groups, alive: list[bool]) -> None:
        from neural_memory.engine.retrieval.index import FiberRecord  # noqa: PLC0415

        self.read, self.members, self.alive = read, members, alive
        self._record = FiberRecord

    def fiber_id(self, row: int) -> str:
        """The id of fiber ``row`` as loaded."""
        return self.read.fiber_id(row)

    def __call__(self, row: int) -> FiberRecord:
        return self._record(self.read.fiber_id(row), tuple(self.members(row)), self.alive[row])


class _TextMaker:
    """Makes row ``i``'s text from UTF-8 groups."""

    def __init__(self, groups: _Groups) -> None:
        self.groups = groups

    def __call__(self, row: int) -> str:
        return bytes(self.groups(row)).decode()


class _AdjacencyMaker:
    """Makes neuron row ``i``'s links (linked neuron row -> weight)."""

    def __init__(self, linked: _Groups, weights: _Groups) -> None:
        self.linked, self.weights = linked, weights

    def __call__(self, row: int) -> dict[int, float]:
        return dict(zip(self.linked(row), self.weights(row), strict=True))


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
    neurons.adjacency = LazyRows(count, _AdjacencyMaker(linked, _Groups(weights, linked.ends)))
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
