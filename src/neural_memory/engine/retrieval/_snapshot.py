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
from neural_memory.engine.retrieval._snapshot_codec import (
    SnapshotUnreadableError,
    pack,
    text_array,
    unpack,
)
from neural_memory.engine.retrieval.lexical import LexicalIndex

if TYPE_CHECKING:
    from neural_memory.engine.retrieval.index import BrainIndex

__all__ = ["FORMAT_VERSION", "SnapshotUnreadableError", "dump_index", "load_index"]

FORMAT_VERSION = 1
"""Bumped whenever the index's state changes shape: an older snapshot then rebuilds."""

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
    out.texts("fiber.ids", [record.id for record in index.fibers])
    out.groups("fiber.neurons", [record.neuron_rows for record in index.fibers])
    alive = [record.alive for record in index.fibers]
    out.arrays["fiber.alive"] = np.array(alive, dtype=np.uint8)
    out.texts("fiber.documents", index._documents)
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
    out.texts("synapse.ids", list(index._synapses))
    out.arrays["synapse.slots"] = np.fromiter(index._synapses.values(), dtype=np.int32)
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
    ``index`` is then left as it was.
    """
    try:
        _load(index, data)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise SnapshotUnreadableError(f"index snapshot does not fit: {exc}") from exc


def _load(index: BrainIndex, data: bytes) -> None:
    from neural_memory.engine.retrieval.index import (  # noqa: PLC0415 (it imports this module)
        FiberRecord,
        _FiberColumns,
        _Links,
        _Neurons,
    )

    snapshot = unpack(data, FORMAT_VERSION)
    fiber_ids = snapshot.texts("fiber.ids")
    fiber_count = len(fiber_ids)
    neuron_ids = snapshot.texts("neuron.ids")
    neuron_count = len(neuron_ids)

    def groups(name: str, bound: int, dtype: str = "<i4") -> list[list[Any]]:
        values = snapshot.array(name, dtype)
        ends = snapshot.array(f"{name}.ends", "<i8").tolist()
        if ends and ends[-1] != len(values):
            raise ValueError(f"{name}: groups do not cover the values")
        if bound >= 0 and len(values) and not 0 <= values.min() <= values.max() < bound:
            raise ValueError(f"{name}: a row out of bounds")
        flat = values.tolist()
        return [flat[s:e] for s, e in zip(_starts(ends), ends, strict=True)]

    def sized(name: str, dtype: str, size: int) -> npt.NDArray[Any]:
        values = snapshot.array(name, dtype)
        if len(values) != size:
            raise ValueError(f"{name}: {len(values)} values for {size} rows")
        return values

    members = groups("fiber.neurons", neuron_count)
    alive = sized("fiber.alive", "|u1", fiber_count).astype(bool).tolist()
    if len(members) != fiber_count:
        raise ValueError("fiber.neurons: one group per fiber expected")
    fibers = list(map(FiberRecord, fiber_ids, map(tuple, members), alive))
    documents = snapshot.texts("fiber.documents") if fiber_count else []
    if len(documents) != fiber_count:
        raise ValueError("fiber.documents: one per fiber expected")

    columns = _FiberColumns()
    for name, dtype in _COLUMNS.items():
        values = sized(f"column.{name}", dtype, fiber_count)
        bound = _COLUMN_BOUNDS.get(name)
        if bound is not None and len(values):
            limit = fiber_count if bound == "fiber" else neuron_count
            if not -1 <= values.min() <= values.max() < limit:
                raise ValueError(f"column.{name}: a row out of bounds")
        column = getattr(columns, name)
        if isinstance(column, array):
            column.frombytes(values.tobytes())
        else:
            column.extend(values.tobytes())

    neurons = _Neurons()
    neurons.ids = neuron_ids
    neurons.rows = dict(zip(neuron_ids, range(neuron_count), strict=True))
    codes = sized("neuron.types", "|i1", neuron_count).tolist()
    neurons.items = [None if code == _NO_TYPE else _TYPES[code] for code in codes]
    neurons.fibers = groups("neuron.fibers", fiber_count)
    linked = groups("neuron.links", neuron_count)
    weights = snapshot.array("neuron.weights", "<f8").tolist()
    if len(neurons.fibers) != neuron_count or len(linked) != neuron_count:
        raise ValueError("neuron groups: one per neuron expected")
    if sum(map(len, linked)) != len(weights):
        raise ValueError("neuron.weights: one per link expected")
    weight_runs = iter(weights)
    neurons.adjacency = [dict(zip(keys, weight_runs)) for keys in linked]

    links = _Links()
    slot_count = len(snapshot.array("link.weight", "<f8"))
    links.source.frombytes(_rows(sized("link.source", "<i4", slot_count), neuron_count))
    links.target.frombytes(_rows(sized("link.target", "<i4", slot_count), neuron_count))
    links.both.extend(sized("link.both", "|u1", slot_count).tobytes())
    links.weight.frombytes(sized("link.weight", "<f8", slot_count).tobytes())
    synapse_ids = snapshot.texts("synapse.ids")
    slots = sized("synapse.slots", "<i4", len(synapse_ids))
    synapses = dict(zip(synapse_ids, _rows(slots, slot_count, as_list=True), strict=True))

    follower_ids = snapshot.texts("followers.ids")
    followers = dict(zip(follower_ids, groups("followers", fiber_count), strict=True))
    time_rows = set(_rows(snapshot.array("time_rows", "<i4"), neuron_count, as_list=True))
    terms = snapshot.texts("lexical.terms")
    lexical_arrays = {
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
    lexical = LexicalIndex.from_arrays(terms, lexical_arrays)
    if lexical.size != fiber_count:
        raise ValueError("lexical index: one document per fiber expected")

    # Everything read and checked: the index takes it in one go.
    index.seq = snapshot.count("seq")
    index.fibers = fibers
    index.fiber_rows = {fiber_ids[r]: r for r in range(fiber_count) if alive[r]}
    index._documents = documents
    index._columns = columns
    index.neurons = neurons
    index._links = links
    index._synapses = synapses
    index._followers = followers
    index.time_rows = time_rows
    index.lexical = lexical
    index._unembedded = set(range(fiber_count))


def _starts(ends: list[int]) -> list[int]:
    """Where each group starts, given where each one ends."""
    return [0, *ends[:-1]] if ends else []


def _rows(values: npt.NDArray[Any], bound: int, *, as_list: bool = False) -> Any:
    """``values`` checked to lie in ``range(bound)``: as bytes, or as a list."""
    if len(values) and not 0 <= values.min() <= values.max() < bound:
        raise ValueError("a row out of bounds")
    return values.tolist() if as_list else values.tobytes()
