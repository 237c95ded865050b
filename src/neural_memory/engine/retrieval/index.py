"""BrainIndex: the per-brain, in-process indexes retrieval runs on (lexical, graph, vector).

Built once from storage, then kept in sync by replaying the brain's change log, so recall
never does one storage round-trip per neuron, every backend gets the same speed, and several
processes writing one brain stay correct. A brain's
:class:`~neural_memory.engine.handle.BrainHandle` owns its indexes (one per embedder) and
tells them about the writes it makes.
"""

from __future__ import annotations

import asyncio
from array import array
from collections import defaultdict
from collections.abc import Iterable, Iterator, MutableMapping, MutableSequence, Sequence
from dataclasses import dataclass, field, fields
from itertools import chain, islice, repeat
from typing import TYPE_CHECKING, overload

import numpy as np
import numpy.typing as npt

from neural_memory.core.events import BrainVersion, ChangeKind, ChangeRecord
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import NeuronType, stable_neuron_id
from neural_memory.core.synapse import Direction, Synapse
from neural_memory.engine.extraction import word_key
from neural_memory.engine.retrieval._documents import PreparedFibers, documents_of
from neural_memory.engine.retrieval._lazy_rows import SortedIds
from neural_memory.engine.retrieval._snapshot import (
    SnapshotUnreadableError,
    dump_index,
    load_index,
)
from neural_memory.engine.retrieval.candidates import RecallArrays
from neural_memory.engine.retrieval.context import format_memory, same_line
from neural_memory.engine.retrieval.lexical import LexicalIndex, group_bounds
from neural_memory.engine.retrieval.vectors import VectorStore
from neural_memory.engine.tokens import count_tokens
from neural_memory.errors import NeuralMemoryError, NotFoundError
from neural_memory.storage._core import FiberRows, GraphRows, IndexSnapshot, fiber_rows_of
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import FiberVector, WriteBatch

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = ["BrainIndex", "FiberRecord", "Link"]

_LOAD_AT_ONCE = 2_000
"""Memories ``load_fibers`` reads per storage visit: loading a whole brain never holds the
event loop for more than one slice's bookkeeping."""


@dataclass(slots=True)
class Link:
    """What the index keeps of one synapse: its endpoints (ids and rows) and weight."""

    source_id: str
    target_id: str
    source: int
    target: int
    both: bool
    weight: float


@dataclass(slots=True)
class FiberRecord:
    """What the index keeps of one fiber.

    An index opened from storage knows each memory by its columns only; the full
    :class:`Fiber` is read when recall needs it (:meth:`BrainIndex.load_fibers`) and kept.
    Its context line is formatted once, on demand.
    """

    id: str
    neuron_rows: tuple[int, ...]
    alive: bool = True
    loaded: Fiber | None = None
    line: tuple[str, int] | None = None

    @property
    def fiber(self) -> Fiber:
        """The full memory; NotFoundError unless it was loaded (see ``load_fibers``)."""
        if self.loaded is None:
            raise NotFoundError(
                f"memory {self.id!r} is not loaded: await index.load_fibers(rows) first"
            )
        return self.loaded

    def context_line(self) -> tuple[str, int]:
        """The fiber as a context line, and that line's token count."""
        if self.line is None:
            text = format_memory(self.fiber)
            self.line = (text, count_tokens(text))
        return self.line


@dataclass(slots=True)
class _Neurons:
    ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    items: list[NeuronType | None] = field(default_factory=list)  # None: deleted or unknown
    fibers: MutableSequence[list[int]] = field(default_factory=list)
    adjacency: MutableSequence[dict[int, float]] = field(default_factory=list)

    def row(self, neuron_id: str) -> int:
        row = self.rows.get(neuron_id)
        if row is None:
            row = self.rows[neuron_id] = len(self.ids)
            self.ids.append(neuron_id)
            self.items.append(None)
            self.fibers.append([])
            self.adjacency.append({})
        return row


class BrainIndex:
    """Lexical (BM25), graph (fiber membership + synapse adjacency) and vector indexes.

    ``storage`` is scoped to the brain. With an ``embedder``, memories' vectors come from
    storage (written with each memory); a memory stored without one is embedded when the
    index next syncs, and its vector is written back, so no memory is embedded twice.
    """

    def __init__(self, storage: Storage, brain_id: str, embedder: Embedder | None) -> None:
        self.storage = storage
        self.brain_id = brain_id
        self.embedder = embedder
        self.seq = -1
        self.generation = -1
        """The brain's generation this index reflects (``BrainVersion.generation``)."""
        self.lexical = LexicalIndex()
        self.fibers: MutableSequence[FiberRecord] = []
        self.fiber_rows: MutableMapping[str, int] = {}
        self.neurons = _Neurons()
        self.vectors = VectorStore()
        self._columns = _FiberColumns()
        self._documents: MutableSequence[str] = []  # fiber row -> its terms, space-separated
        self._followers: dict[str, list[int]] = {}  # fiber id -> rows that follow it, waiting
        self.time_rows: set[int] = set()
        self._synapses: MutableMapping[str, int] = {}  # synapse id -> its slot in _links
        self._links = _Links()
        self._unembedded: set[int] = set()  # rows added without a vector (no full scans)
        self._lock = asyncio.Lock()
        self.snapshot_seq = -1
        """The seq of the stored snapshot this index loaded or saved (-1: none)."""
        self.recall_arrays = RecallArrays()
        """Query-independent arrays recall keeps between queries (see ``ranking``)."""

    # -- sync --------------------------------------------------------------------------------

    async def sync(self, version: BrainVersion | None = None) -> None:
        """Catch up with every change the brain's storage has seen since the last sync.

        ``version``: the brain's version as the caller just read it (``get_brain_version``),
        so it is not read again; when the index is there already, nothing is read at all.
        A brain of another generation (deleted and created again) is indexed anew.
        """
        async with self._lock:
            if version is None:
                version = await self.storage.get_brain_version(self.brain_id)
            seq = version.change_seq
            if version.generation != self.generation:
                self.seq, self.snapshot_seq, self.generation = -1, -1, version.generation
            if self.seq < 0:
                await self._open(seq)
            elif seq > self.seq:  # at or past it: own writes applied since it was read
                changes = await self.storage.get_changes(self.seq)
                if changes is None:
                    await self._rebuild()
                else:
                    await self._replay(changes)
            self.seq = max(seq, self.seq)
            await self._embed_missing()

    async def _open(self, seq: int) -> None:
        """Load the brain's stored snapshot and replay the changes since; else rebuild.

        A snapshot that is missing, newer than the brain (``seq``), older than the change
        log reaches, damaged or of another format is ignored.
        """
        snapshot = await self.storage.get_index_snapshot()
        changes = None
        if snapshot is not None and snapshot.seq <= seq:
            changes = await self.storage.get_changes(snapshot.seq)
        if snapshot is None or changes is None:
            await self._rebuild()
            return
        try:
            load_index(self, snapshot.data)
        except SnapshotUnreadableError:
            await self._rebuild()
            return
        self.snapshot_seq = snapshot.seq
        if self.embedder is not None:
            self._put_vectors(await self.storage.get_vectors(self.embedder.name))
        if changes:
            await self._replay(changes)

    async def snapshot(self) -> IndexSnapshot | None:
        """The index as a snapshot to store (None: never synced, or a text it cannot pack)."""
        async with self._lock:  # not halfway through a sync
            if self.seq < 0:
                return None
            try:
                return IndexSnapshot(self.seq, dump_index(self))
            except ValueError:
                return None

    async def _rebuild(self) -> None:
        self.seq = await self.storage.get_change_seq()
        self.lexical = LexicalIndex()
        self.fibers, self.fiber_rows = [], {}
        self.neurons, self._synapses, self._links = _Neurons(), {}, _Links()
        self.vectors = VectorStore()
        self._unembedded = set()
        self._columns = _FiberColumns()
        self._documents = []
        self._followers = {}
        self.time_rows = set()
        # Memories are read while the graph is built (storage reads on its own thread).
        fiber_rows = asyncio.ensure_future(self.storage.get_fiber_rows())
        try:
            self._load_graph(await self.storage.get_graph_rows())
        except BaseException:
            fiber_rows.cancel()
            raise
        self._add_fibers(await fiber_rows, [])
        if self.embedder is not None:
            self._put_vectors(await self.storage.get_vectors(self.embedder.name))

    async def load_fibers(self, rows: Iterable[int] | None = None) -> None:
        """Read the full memories of ``rows`` (None: every live row) that are not loaded yet.

        Afterwards ``fibers[row].fiber`` works for each of them, except for a memory deleted
        from storage meanwhile (the next ``sync`` drops it).
        """
        fibers = self.fibers
        wanted = iter(range(len(fibers)) if rows is None else rows)
        while some := list(islice(wanted, _LOAD_AT_ONCE)):  # the loop runs others between
            if fibers is not self.fibers:  # rebuilt meanwhile: rows name other memories
                if rows is None:
                    await self.load_fibers()
                return
            missing = [r for r in some if fibers[r].alive and fibers[r].loaded is None]
            if not missing:
                continue
            found = await self.storage.get_fibers([fibers[r].id for r in missing])
            for row in missing:
                record = fibers[row]
                if record.loaded is None:  # a sync meanwhile may have put a newer one
                    record.loaded = found.get(record.id)

    def apply_own_write(
        self, batch: WriteBatch, seq: int, prepared: PreparedFibers | None = None
    ) -> None:
        """Apply a batch this process just wrote, if nobody else wrote since the last sync.

        ``seq`` is what ``write`` returned. A batch logs one change per entity it touches,
        so when ``seq`` is exactly that many past the index's own seq, no other writer came
        in between, and the batch can be applied here instead of read back. Otherwise this
        does nothing and the next ``sync`` reads the changes from storage as usual; so too
        when the batch conducts a memory the index has not loaded (its conductivity and
        count are read back rather than guessed from the float32 column). ``prepared``:
        :func:`prepare_fibers` of ``batch``, when computed ahead.
        """
        count = sum(len(ids) for ids in batch.changed_ids())
        if self.seq < 0 or seq - count != self.seq or not self._holds(batch.fiber_conducts):
            return
        for neuron in (*batch.ensure_neurons, *batch.insert_neurons, *batch.update_neurons):
            self._put_neuron(neuron.id, neuron.type)
        for synapse_id, delta in batch.synapse_deltas:  # stored links only, as in storage
            slot = self._synapses.get(synapse_id)
            if slot is not None:
                self._set_weight(slot, self._links.weight[slot] + delta)
        new = [s for s in batch.ensure_synapses if s.id not in self._synapses]
        replaced = [*batch.insert_synapses, *batch.update_synapses]
        if replaced:
            self._put_synapses([*new, *replaced])
        else:  # nothing to drop first: the common case of a bulk ingest
            self._add_links(_link_rows(new))
        self._conduct(batch.fiber_conducts, batch)
        self._put_fibers([*batch.insert_fibers, *batch.update_fibers], prepared)
        if self.embedder is not None:
            name = self.embedder.name
            self._put_vectors({v.fiber_id: v.vector for v in batch.put_vectors if v.model == name})
        if any((batch.delete_fiber_ids, batch.delete_synapse_ids, batch.delete_neuron_ids)):
            self.seq = seq - count  # deletions cascade in storage: let sync read them back
            return
        self.seq = seq

    def _holds(self, fiber_ids: Iterable[str]) -> bool:
        """Whether every one of ``fiber_ids`` is a memory loaded in the index."""
        rows = [self.fiber_rows.get(fiber_id) for fiber_id in fiber_ids]
        return all(row is not None and self.fibers[row].loaded is not None for row in rows)

    def _conduct(self, fiber_ids: Sequence[str], batch: WriteBatch) -> None:
        """Conduct the loaded memories ``fiber_ids`` at ``batch.deltas_at``, in place.

        What storage does to them (``WriteBatch.fiber_conducts``), once per mention: only
        their conductivity column and the kept memory move (not their context line).
        """
        for fiber_id in fiber_ids:
            row = self.fiber_rows[fiber_id]
            record = self.fibers[row]
            record.loaded = fiber = record.fiber.conduct(conducted_at=batch.deltas_at)
            self._columns.conductivity[row] = fiber.conductivity

    async def _replay(self, changes: list[ChangeRecord]) -> None:
        ids: defaultdict[ChangeKind, dict[str, None]] = defaultdict(dict)
        for change in changes:  # in log order: a memory comes after the one it follows
            ids[change.kind][change.entity_id] = None
            self.seq = max(self.seq, change.seq)
        neurons = await self.storage.get_neurons(ids[ChangeKind.NEURON])
        synapses = await self.storage.get_synapses_by_id(ids[ChangeKind.SYNAPSE])
        fibers = await self.storage.get_fibers(ids[ChangeKind.FIBER])
        for neuron_id in ids[ChangeKind.NEURON]:
            if neuron_id in neurons:
                self._put_neuron(neuron_id, neurons[neuron_id].type)
            else:
                self._drop_neuron(neuron_id)
        for synapse_id in ids[ChangeKind.SYNAPSE]:
            if synapse_id not in synapses:
                self._drop_synapse(synapse_id)
        self._put_synapses([synapses[i] for i in ids[ChangeKind.SYNAPSE] if i in synapses])
        for fiber_id in ids[ChangeKind.FIBER]:
            if fiber_id not in fibers:
                self._drop_fiber(fiber_id)
        self._put_fibers([fibers[i] for i in ids[ChangeKind.FIBER] if i in fibers])
        if self.embedder is not None and fibers:
            self._put_vectors(await self.storage.get_vectors(self.embedder.name, fibers))

    # -- embeddings ----------------------------------------------------------------------------

    def _put_vectors(self, vectors: dict[str, npt.NDArray[np.float32]]) -> None:
        for fiber_id, vector in vectors.items():
            row = self.fiber_rows.get(fiber_id)
            if row is not None:
                self.vectors.put(row, vector)
                self._unembedded.discard(row)

    async def _embed_missing(self) -> None:
        """Embed the memories stored without a vector of this model, and store the vectors."""
        if self.embedder is None:
            self._unembedded.clear()
            return
        rows = [r for r in sorted(self._unembedded) if self.fibers[r].alive]
        rows = [r for r in rows if not self.vectors.has(r)]
        self._unembedded.clear()
        await self.load_fibers(rows)
        rows = [r for r in rows if self.fibers[r].loaded is not None]
        if not rows:
            return
        embedded = await self.embedder.embed([self.fibers[r].fiber.content for r in rows])
        name = self.embedder.name
        vectors = tuple(
            FiberVector(self.fibers[row].fiber.id, name, vector)
            for row, vector in zip(rows, embedded, strict=True)
        )
        for row, vector in zip(rows, vectors, strict=True):
            self.vectors.put(row, vector.vector)
        try:
            batch = WriteBatch(put_vectors=vectors)
            self.apply_own_write(batch, await self.storage.write(batch))
        except NeuralMemoryError:
            # Storing them is a saving, not a duty: a memory deleted meanwhile, a read-only key
            # or a storage gone away leaves them in this index only (embedded again next time).
            return

    # -- mutation ----------------------------------------------------------------------------

    def _put_neuron(self, neuron_id: str, kind: NeuronType) -> None:
        row = self.neurons.row(neuron_id)
        self.neurons.items[row] = kind
        if kind is NeuronType.TIME:
            self.time_rows.add(row)

    def _drop_neuron(self, neuron_id: str) -> None:
        row = self.neurons.rows.get(neuron_id)
        if row is not None:
            self.neurons.items[row] = None
            for other in list(self.neurons.adjacency[row]):
                self.neurons.adjacency[other].pop(row, None)
            self.neurons.adjacency[row].clear()

    def _put_synapses(self, synapses: list[Synapse]) -> None:
        """Add or replace these synapses (the last of one id wins)."""
        for synapse in synapses:
            self._drop_synapse(synapse.id)
        self._add_links(_link_rows(synapses))

    def _set_weight(self, slot: int, weight: float) -> None:
        links = self._links
        links.weight[slot] = weight = min(1.0, max(0.0, weight))
        source, target = links.source[slot], links.target[slot]
        self.neurons.adjacency[source][target] = weight
        if links.both[slot]:
            self.neurons.adjacency[target][source] = weight

    def _drop_synapse(self, synapse_id: str) -> None:
        slot = self._synapses.pop(synapse_id, None)
        if slot is not None:
            links = self._links
            source, target = links.source[slot], links.target[slot]
            self.neurons.adjacency[source].pop(target, None)
            if links.both[slot]:
                self.neurons.adjacency[target].pop(source, None)

    def _load_graph(self, graph: GraphRows) -> None:
        """Add every neuron and synapse of a brain being opened."""
        for neuron_id, kind in graph.neurons:
            self._put_neuron(neuron_id, kind)
        self._add_links(graph.synapses)

    def _add_links(self, synapses: Sequence[tuple[str, str, str, float, bool]]) -> None:
        """Add synapses the index does not hold yet, in bulk (GraphRows' tuples)."""
        if not synapses:
            return
        ids, source_ids, target_ids, stored, both = zip(*synapses, strict=True)
        ends = self._neuron_rows([source_ids + target_ids])[0]
        sources, targets = ends[: len(ids)], ends[len(ids) :]
        weights = np.clip(np.array(stored, dtype=np.float64), 0.0, 1.0).tolist()
        first = len(self._links.weight)
        self._synapses.update(zip(ids, range(first, first + len(ids)), strict=True))
        self._links.extend(sources, targets, both, weights)
        adjacency = self.neurons.adjacency
        for source, target, weight, two_way in zip(sources, targets, weights, both, strict=True):
            adjacency[source][target] = weight
            if two_way:
                adjacency[target][source] = weight

    def _put_fibers(self, fibers: list[Fiber], prepared: PreparedFibers | None = None) -> None:
        """Add or replace these memories (``prepared``: their terms, counted ahead).

        A replaced memory keeps its row when only its attributes changed (not its neurons
        or its terms); otherwise its old row is dropped and it gets a new one. When one id
        comes twice, the last one counts.
        """
        if not fibers:  # a write-back: no memory rows to build
            return
        fibers = list({fiber.id: fiber for fiber in fibers}.values())
        if prepared is None:
            rows = fiber_rows_of(fibers)
            documents = documents_of(rows)
        else:  # the same fibers, in the same order (prepare_fibers)
            rows, documents = prepared.rows, prepared.documents
        if isinstance(self.fiber_rows, SortedIds):  # one binary search for all of them
            self.fiber_rows.look_up(rows.ids)
        stored = {i: r for i, r in enumerate(map(self.fiber_rows.get, rows.ids)) if r is not None}
        members = self._neuron_rows([rows.neuron_ids[i] for i in stored])
        new_members = dict(zip(stored, members, strict=True))
        fresh: list[int] = []
        for i, fiber in enumerate(fibers):
            row = stored.get(i)
            if row is not None:
                record = self.fibers[row]
                if record.neuron_rows == new_members[i] and self._documents[row] == documents[i]:
                    if record.loaded is None or not same_line(record.loaded, fiber):
                        record.line = None  # reinforcement alone keeps the formatted line
                    record.loaded = fiber
                    self._columns.set(row, rows, i)
                    continue
                self._drop_fiber(fiber.id)
            fresh.append(i)
        if len(fresh) == len(fibers):  # all new: the rows as they are
            self._add_fibers(rows, fibers, documents, prepared)
        elif fresh:
            some = [fibers[i] for i in fresh]
            self._add_fibers(_select(rows, fresh), some, [documents[i] for i in fresh], prepared)

    def _add_fibers(
        self,
        rows: FiberRows,
        fibers: list[Fiber],
        documents: list[str] | None = None,
        prepared: PreparedFibers | None = None,
    ) -> None:
        """Append memories as new rows, in bulk (``fibers``: their full objects, or []).

        ``documents``: their lexical documents, when known; ``prepared``: their terms counted.
        """
        start, count = len(self.fibers), len(rows.ids)
        documents = documents_of(rows) if documents is None else documents
        neuron_rows = self._neuron_rows(rows.neuron_ids)
        if fibers:
            self.fibers.extend(map(FiberRecord, rows.ids, neuron_rows, repeat(True), fibers))
        else:
            self.fibers.extend(map(FiberRecord, rows.ids, neuron_rows))
        self.fiber_rows.update(zip(rows.ids, range(start, start + count), strict=True))
        self._documents.extend(documents)
        if prepared is None or prepared.counted is None:
            self.lexical.extend(documents)
        else:
            counted = prepared.counted
            self.lexical.extend_counted([counted[fiber_id] for fiber_id in rows.ids])
        self._index_members(start, neuron_rows)
        speaker_rows = {
            s: self.neurons.row(stable_neuron_id(word_key(s)))
            for s in set(rows.speakers)
            if s is not None
        }
        speakers = [-1 if s is None else speaker_rows[s] for s in rows.speakers]
        self._columns.extend(rows, speakers)
        self._link_threads(start, rows)
        self._unembedded.update(range(start, start + count))

    def _neuron_rows(self, neuron_ids: list[tuple[str, ...]]) -> list[tuple[int, ...]]:
        """Each fiber's neuron rows (neurons the index has not seen get new rows)."""
        flat = list(chain.from_iterable(neuron_ids))
        known = self.neurons.rows
        rows = list(map(known.__getitem__, flat)) if known.keys() >= set(flat) else None
        members = iter(rows if rows is not None else [self.neurons.row(n) for n in flat])
        return [tuple(islice(members, len(ids))) for ids in neuron_ids]

    def _index_members(self, start: int, neuron_rows: list[tuple[int, ...]]) -> None:
        """Record which fibers (from row ``start`` on) each neuron belongs to."""
        lengths = np.fromiter(map(len, neuron_rows), dtype=np.int64, count=len(neuron_rows))
        neurons = np.fromiter(chain.from_iterable(neuron_rows), dtype=np.int64)
        owners = np.repeat(np.arange(start, start + len(neuron_rows)), lengths)
        order = np.argsort(neurons, kind="stable")
        neurons, owners = neurons[order], owners[order]
        firsts, ends = group_bounds(neurons)
        members = self.neurons.fibers
        for first, end in zip(firsts, ends, strict=True):
            members[int(neurons[first])].extend(owners[first:end].tolist())

    def _link_threads(self, start: int, rows: FiberRows) -> None:
        """Link each new row to the memory it follows, and the rows waiting for a new row."""
        threaded = [(row, f) for row, f in enumerate(rows.follows, start) if f is not None]
        for row, follows in threaded:
            previous = self.fiber_rows.get(follows)
            if previous is None:
                self._followers.setdefault(follows, []).append(row)  # linked when it arrives
            else:
                self._columns.link(previous, row)
        if self._followers:
            for row, fiber_id in enumerate(rows.ids, start):
                for follower in self._followers.pop(fiber_id, ()):
                    self._columns.link(row, follower)

    def _drop_fiber(self, fiber_id: str) -> None:
        row = self.fiber_rows.pop(fiber_id, None)
        if row is None:
            return
        record = self.fibers[row]
        record.alive = False
        self._unembedded.discard(row)
        self._columns.suppressed[row] = 1
        self.lexical.remove(row)
        self.vectors.drop(row)
        for neuron_row in record.neuron_rows:
            members = self.neurons.fibers[neuron_row]
            if row in members:
                members.remove(row)

    # -- read helpers --------------------------------------------------------------------------

    def fiber_neuron_view(self) -> Sequence[tuple[int, ...]]:
        """Fiber row -> its neuron rows, as a read-only view (no copy)."""
        return _FiberNeurons(self.fibers)

    def neuron_type(self, row: int) -> NeuronType | None:
        """The type of the neuron at ``row`` (None: deleted)."""
        return self.neurons.items[row]

    def link(self, synapse_id: str) -> Link | None:
        """The endpoints and weight of a synapse the index knows, else None (a copy)."""
        slot = self._synapses.get(synapse_id)
        if slot is None:
            return None
        links, ids = self._links, self.neurons.ids
        source, target = links.source[slot], links.target[slot]
        both = bool(links.both[slot])
        return Link(ids[source], ids[target], source, target, both, links.weight[slot])

    def occurred_days(self) -> npt.NDArray[np.int32]:
        """Proleptic ordinal day each fiber row's event happened on."""
        return np.frombuffer(self._columns.occurred, dtype=np.int32)

    def conductivity(self) -> npt.NDArray[np.float32]:
        """Conductivity of each fiber row."""
        return np.frombuffer(self._columns.conductivity, dtype=np.float32)

    def thread_links(self) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
        """For each fiber row, the row it follows and the row following it (-1: none)."""
        return (
            np.frombuffer(self._columns.previous, dtype=np.int32),
            np.frombuffer(self._columns.next, dtype=np.int32),
        )

    def speakers(self) -> npt.NDArray[np.int32]:
        """For each fiber row, the neuron row of who said it (-1: no speaker)."""
        return np.frombuffer(self._columns.speaker, dtype=np.int32)

    def asks(self) -> npt.NDArray[np.bool_]:
        """True for fiber rows whose memory asks a question."""
        return np.frombuffer(self._columns.asks, dtype=np.bool_)

    def suppressed(self) -> npt.NDArray[np.bool_]:
        """True for fiber rows that are deleted or superseded by a newer fact."""
        return np.frombuffer(self._columns.suppressed, dtype=np.bool_)

    def fiber_terms(self, row: int) -> set[str]:
        """The lexical terms of a fiber row."""
        return set(self._documents[row].split())

    def neuron_row(self, neuron_id: str) -> int | None:
        """The row of a neuron the index knows, else None."""
        row = self.neurons.rows.get(neuron_id)
        return row if row is not None and self.neurons.items[row] is not None else None

    # -- public reads by id (for callers outside retrieval, e.g. neuram) ----------------------

    @property
    def memory_count(self) -> int:
        """Number of live memories (fibers) the index holds."""
        return self.lexical.live_count

    def neuron_degree(self, neuron_id: str) -> int:
        """How many memories bind the neuron ``neuron_id`` (0 when unknown)."""
        row = self.neuron_row(neuron_id)
        return len(self.neurons.fibers[row]) if row is not None else 0

    def fiber(self, fiber_id: str) -> Fiber | None:
        """The live memory ``fiber_id`` as of the last sync, or None."""
        row = self.fiber_rows.get(fiber_id)
        record = self.fibers[row] if row is not None else None
        return record.fiber if record is not None and record.alive else None

    def live_fibers(self) -> Iterator[Fiber]:
        """Every live memory as of the last sync, in the order they were indexed."""
        return (record.fiber for record in self.fibers if record.alive)

    def vector(self, fiber_id: str) -> npt.NDArray[np.float32] | None:
        """The embedding the index holds for memory ``fiber_id``, or None."""
        row = self.fiber_rows.get(fiber_id)
        return self.vectors.get(row) if row is not None else None


class _FiberNeurons(Sequence[tuple[int, ...]]):
    def __init__(self, fibers: Sequence[FiberRecord]) -> None:
        self._fibers = fibers

    def __len__(self) -> int:
        return len(self._fibers)

    @overload
    def __getitem__(self, row: int) -> tuple[int, ...]: ...
    @overload
    def __getitem__(self, row: slice) -> Sequence[tuple[int, ...]]: ...
    def __getitem__(self, row: int | slice) -> tuple[int, ...] | Sequence[tuple[int, ...]]:
        if isinstance(row, slice):
            return [record.neuron_rows for record in self._fibers[row]]
        return self._fibers[row].neuron_rows


class _Links:
    """The synapses' endpoints (neuron rows), direction and weight, by slot."""

    def __init__(self) -> None:
        self.source: array[int] = array("i")
        self.target: array[int] = array("i")
        self.both = bytearray()
        self.weight: array[float] = array("d")

    def extend(
        self,
        sources: Sequence[int],
        targets: Sequence[int],
        both: Sequence[bool],
        weights: Sequence[float],
    ) -> None:
        """Append new slots."""
        self.source.extend(sources)
        self.target.extend(targets)
        self.both.extend(both)
        self.weight.extend(weights)


class _FiberColumns:
    """Per-row fiber attributes as packed arrays, read by scoring as numpy views."""

    def __init__(self) -> None:
        self.occurred: array[int] = array("i")
        self.conductivity: array[float] = array("f")
        self.suppressed = bytearray()
        self.asks = bytearray()
        self.previous: array[int] = array("i")
        self.next: array[int] = array("i")
        self.speaker: array[int] = array("i")

    def extend(self, rows: FiberRows, speakers: list[int]) -> None:
        """Append the columns of new rows (not linked to any thread yet)."""
        self.occurred.extend(rows.days)
        self.conductivity.extend(rows.conductivity)
        self.suppressed.extend(rows.suppressed)
        self.asks.extend(rows.asks)
        self.speaker.extend(speakers)
        unlinked = array("i", [-1]) * len(rows.ids)
        self.previous.extend(unlinked)
        self.next.extend(unlinked)

    def link(self, previous: int, row: int) -> None:
        """Record that ``row`` follows ``previous`` (which may have arrived after it)."""
        self.previous[row] = previous
        if self.next[previous] < 0:
            self.next[previous] = row

    def set(self, row: int, rows: FiberRows, i: int) -> None:
        """Overwrite the attributes of ``row`` that change in place, from ``rows[i]``."""
        self.conductivity[row] = rows.conductivity[i]
        self.suppressed[row] = rows.suppressed[i]
        self.asks[row] = rows.asks[i]


def _link_rows(synapses: Sequence[Synapse]) -> list[tuple[str, str, str, float, bool]]:
    """The synapses as the rows ``_add_links`` takes (GraphRows' tuples)."""
    both = Direction.BIDIRECTIONAL
    return [(s.id, s.source_id, s.target_id, s.weight, s.direction is both) for s in synapses]


def _select(rows: FiberRows, keep: list[int]) -> FiberRows:
    """The rows ``keep`` of ``rows``."""
    columns = {f.name: getattr(rows, f.name) for f in fields(FiberRows)}
    return FiberRows(**{name: [column[i] for i in keep] for name, column in columns.items()})
