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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, overload

import numpy as np
import numpy.typing as npt

from neural_memory.core.events import ChangeKind, ChangeRecord
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import NeuronType, stable_neuron_id
from neural_memory.core.synapse import Synapse
from neural_memory.engine.extraction import word_key
from neural_memory.engine.retrieval.context import format_memory
from neural_memory.engine.retrieval.lexical import LexicalIndex
from neural_memory.engine.retrieval.vectors import VectorStore
from neural_memory.engine.text import terms
from neural_memory.engine.tokens import count_tokens
from neural_memory.errors import NeuralMemoryError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import FiberVector, WriteBatch

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = ["BrainIndex", "FiberRecord", "Link"]


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
    """What the index keeps of one fiber (its context line is formatted once, on demand)."""

    fiber: Fiber
    neuron_rows: tuple[int, ...]
    alive: bool = True
    line: tuple[str, int] | None = None

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
    fibers: list[list[int]] = field(default_factory=list)
    adjacency: list[dict[int, float]] = field(default_factory=list)

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
        self.lexical = LexicalIndex()
        self.fibers: list[FiberRecord] = []
        self.fiber_rows: dict[str, int] = {}
        self.neurons = _Neurons()
        self.vectors = VectorStore()
        self._columns = _FiberColumns()
        self._followers: dict[str, list[int]] = {}  # fiber id -> rows that follow it, waiting
        self.time_rows: set[int] = set()
        self._synapses: dict[str, Link] = {}
        self._unembedded: set[int] = set()  # rows added without a vector (no full scans)
        self._lock = asyncio.Lock()

    # -- sync --------------------------------------------------------------------------------

    async def sync(self) -> None:
        """Catch up with every change the brain's storage has seen since the last sync."""
        async with self._lock:
            seq = await self.storage.get_change_seq()
            if seq == self.seq:
                await self._embed_missing()
                return
            changes = await self.storage.get_changes(self.seq) if self.seq >= 0 else None
            if changes is None:
                await self._rebuild()
            else:
                await self._replay(changes)
            self.seq = max(seq, self.seq)
            await self._embed_missing()

    async def _rebuild(self) -> None:
        self.seq = await self.storage.get_change_seq()
        self.lexical = LexicalIndex()
        self.fibers, self.fiber_rows = [], {}
        self.neurons, self._synapses = _Neurons(), {}
        self.vectors = VectorStore()
        self._unembedded = set()
        self._columns = _FiberColumns()
        self._followers = {}
        self.time_rows = set()
        graph = await self.storage.get_graph_rows()
        for neuron_id, kind in graph.neurons:
            self._put_neuron(neuron_id, kind)
        for link in graph.synapses:
            self._put_link(*link)
        for fiber in await self.storage.find_fibers():
            self._put_fiber(fiber)
        if self.embedder is not None:
            self._put_vectors(await self.storage.get_vectors(self.embedder.name))

    def apply_own_write(self, batch: WriteBatch, seq: int) -> None:
        """Apply a batch this process just wrote, if nobody else wrote since the last sync.

        ``seq`` is what ``write`` returned. A batch logs one change per entity it touches,
        so when ``seq`` is exactly that many past the index's own seq, no other writer came
        in between, and the batch can be applied here instead of read back. Otherwise this
        does nothing and the next ``sync`` reads the changes from storage as usual.
        """
        count = sum(len(ids) for ids in batch.changed_ids())
        if self.seq < 0 or seq - count != self.seq:
            return
        for neuron in (*batch.ensure_neurons, *batch.insert_neurons, *batch.update_neurons):
            self._put_neuron(neuron.id, neuron.type)
        for synapse_id, delta in batch.synapse_deltas:  # stored links only, as in storage
            link = self._synapses.get(synapse_id)
            if link is not None:
                self._set_weight(link, link.weight + delta)
        for synapse in batch.ensure_synapses:
            if synapse.id not in self._synapses:
                self._put_synapse(synapse)
        for synapse in (*batch.insert_synapses, *batch.update_synapses):
            self._put_synapse(synapse)
        for fiber in (*batch.insert_fibers, *batch.update_fibers):
            self._put_fiber(fiber)
        if self.embedder is not None:
            name = self.embedder.name
            self._put_vectors({v.fiber_id: v.vector for v in batch.put_vectors if v.model == name})
        if any((batch.delete_fiber_ids, batch.delete_synapse_ids, batch.delete_neuron_ids)):
            self.seq = seq - count  # deletions cascade in storage: let sync read them back
            return
        self.seq = seq

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
            self._drop_synapse(synapse_id)
            if synapse_id in synapses:
                self._put_synapse(synapses[synapse_id])
        for fiber_id in ids[ChangeKind.FIBER]:
            if fiber_id in fibers:
                self._put_fiber(fibers[fiber_id])
            else:
                self._drop_fiber(fiber_id)
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

    def _put_synapse(self, synapse: Synapse) -> None:
        s = synapse
        self._put_link(s.id, s.source_id, s.target_id, s.weight, s.is_bidirectional)

    def _put_link(
        self, synapse_id: str, source: str, target: str, weight: float, both: bool
    ) -> None:
        rows = self.neurons
        link = Link(source, target, rows.row(source), rows.row(target), both, weight)
        self._drop_synapse(synapse_id)
        self._synapses[synapse_id] = link
        self._set_weight(link, weight)

    def _set_weight(self, link: Link, weight: float) -> None:
        link.weight = min(1.0, max(0.0, weight))
        self.neurons.adjacency[link.source][link.target] = link.weight
        if link.both:
            self.neurons.adjacency[link.target][link.source] = link.weight

    def _drop_synapse(self, synapse_id: str) -> None:
        link = self._synapses.pop(synapse_id, None)
        if link is not None:
            self.neurons.adjacency[link.source].pop(link.target, None)
            if link.both:
                self.neurons.adjacency[link.target].pop(link.source, None)

    def _put_fiber(self, fiber: Fiber) -> None:
        row = self.fiber_rows.get(fiber.id)
        if row is not None:
            record = self.fibers[row]
            same = record.fiber.content == fiber.content
            if same and record.fiber.neuron_ids == fiber.neuron_ids:
                if record.fiber.metadata != fiber.metadata:
                    record.line = None
                record.fiber = fiber
                self._columns.set(row, fiber)
                return
            self._drop_fiber(fiber.id)
        row = len(self.fibers)
        order = list(fiber.pathway) + sorted(fiber.neuron_ids - set(fiber.pathway))
        neuron_rows = tuple(self.neurons.row(neuron_id) for neuron_id in order)
        self.fibers.append(FiberRecord(fiber, neuron_rows))
        self.fiber_rows[fiber.id] = row
        for neuron_row in neuron_rows:
            self.neurons.fibers[neuron_row].append(row)
        self.lexical.add(row, _document_terms(fiber))
        follows = fiber.metadata.get("follows")
        previous = self.fiber_rows.get(follows) if isinstance(follows, str) else None
        if isinstance(follows, str) and previous is None:
            self._followers.setdefault(follows, []).append(row)  # linked when it arrives
        speaker = fiber.metadata.get("speaker")
        self._columns.append(
            fiber,
            previous,
            self.neurons.row(stable_neuron_id(word_key(speaker)))
            if isinstance(speaker, str)
            else -1,
        )
        for follower in self._followers.pop(fiber.id, ()):
            self._columns.link(row, follower)
        self._unembedded.add(row)

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
        """The endpoints and weight of a synapse the index knows, else None."""
        return self._synapses.get(synapse_id)

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
        return set(_document_terms(self.fibers[row].fiber))

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
    def __init__(self, fibers: list[FiberRecord]) -> None:
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

    def append(self, fiber: Fiber, follows: int | None, speaker: int) -> None:
        occurred = fiber.occurred_at or fiber.created_at
        self.occurred.append(occurred.toordinal())
        self.conductivity.append(fiber.conductivity)
        self.suppressed.append(_suppressed(fiber))
        self.asks.append(1 if "?" in fiber.content else 0)
        self.speaker.append(speaker)
        self.previous.append(-1)
        self.next.append(-1)
        if follows is not None:
            self.link(follows, len(self.previous) - 1)

    def link(self, previous: int, row: int) -> None:
        """Record that ``row`` follows ``previous`` (which may have arrived after it)."""
        self.previous[row] = previous
        if self.next[previous] < 0:
            self.next[previous] = row

    def set(self, row: int, fiber: Fiber) -> None:
        self.conductivity[row] = fiber.conductivity
        self.suppressed[row] = _suppressed(fiber)


def _suppressed(fiber: Fiber) -> int:
    """1 for memories recall should rank down: superseded facts and derived summaries."""
    return 1 if fiber.superseded_by or "concept_of" in fiber.metadata else 0


def _document_terms(fiber: Fiber) -> list[str]:
    """Lexical terms of a fiber: its text, plus who said it."""
    speaker = fiber.metadata.get("speaker")
    extra = terms(speaker) if isinstance(speaker, str) else []
    return terms(fiber.content) + extra
