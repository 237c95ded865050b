"""MemoryEncoder: text in, neurons + synapses + one fiber (+ its vector) out, in one transaction."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncGenerator, Iterable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from neural_memory.core._validation import (
    assembler,
    freeze_strings,
    require_text,
    require_unit,
)
from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import check_text, check_time
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.engine._bulk_gc import BULK_MIN_ITEMS, collector_paused
from neural_memory.engine._default_embedder import (
    DEFAULT_EMBEDDER,
    EmbedderChoice,
    resolve_embedder,
)
from neural_memory.engine._encode_plan import (
    Job,
    Parts,
    extract_all,
    moment_of,
    plan_all,
    received,
    speaker_of,
)
from neural_memory.engine._store_merge import (
    Plan,
    apply_supersession,
    link_threads,
    link_uses,
    new_synapses,
    reinforcements,
    split_duplicates,
    stable_fiber_id,
)
from neural_memory.engine.handle import BrainHandle, ThreadTail, thread_key
from neural_memory.engine.header import Header, read_header
from neural_memory.errors import ConfigError, ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import FiberVector, WriteBatch

if TYPE_CHECKING:
    from neural_memory.engine.consolidation import ConsolidationScheduler
    from neural_memory.engine.embeddings import Embedder

__all__ = ["PLAN_INLINE_CHARS", "EncodingResult", "MemoryEncoder", "MemoryInput", "stable_fiber_id"]

_Record = TypeVar("_Record", Neuron, Synapse)

PLAN_INLINE_CHARS = 20_000
"""Texts up to this many characters in all are planned on the event loop; longer ones off it
(a worker thread, or the encoder's planner), so one large memory never stalls a server."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryInput:
    """One memory for :meth:`MemoryEncoder.encode_many`.

    Attributes:
        conversation: The conversation (or session) the memory belongs to; memories of one
            conversation form one thread. None: the brain's default thread.
        follows: The id of the memory this one follows, when the caller knows it (else the
            last memory of its conversation, if it happened at most the encoder's
            ``thread_window`` before this one).
        vector: The memory's embedding under the encoder's embedder, when the caller has
            computed it already (it is stored as given instead of embedding the text again).
    """

    text: str
    timestamp: datetime | None = None
    metadata: Mapping[str, Any] | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    salience: float = 0.5
    conversation: str | None = None
    follows: str | None = None
    vector: npt.NDArray[np.float32] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EncodingResult:
    """What encoding one memory did.

    Attributes:
        fiber: The new memory.
        neurons_created: Neurons that did not exist before.
        neurons_linked: Ids of existing neurons the memory reused (how it joins the graph).
        synapses_created: Synapses that did not exist before.
        synapses_reinforced: Ids of existing synapses the memory strengthened.
        merged: True when the text was already stored: ``fiber`` is the stored memory,
            whose mention count grew, and nothing new was created.
    """

    fiber: Fiber
    neurons_created: tuple[Neuron, ...]
    neurons_linked: tuple[str, ...]
    synapses_created: tuple[Synapse, ...]
    synapses_reinforced: tuple[str, ...]
    merged: bool = False


class MemoryEncoder:
    """Turns text into memories of the storage's current brain (no LLM, no network).

    Args:
        storage: Where the memories go: a Storage (its current brain at each call) or a
            brain's :class:`~neural_memory.engine.handle.BrainHandle`.
        config: The brain's configuration (``reinforcement_delta`` strengthens reused links).
        embedder: The embedding model: each memory's text is embedded for semantic recall,
            and its vector is stored with it. Default (:data:`DEFAULT_EMBEDDER`): the
            process's default model when the ``embeddings`` extra is installed
            (:func:`~neural_memory.engine.embeddings.default_embedder`); None: no embeddings.
        consolidation: Optional scheduler told about every stored memory, so consolidation
            runs automatically after enough encodes.
        thread_window: Successive memories of one conversation at most this far apart form
            one thread (``metadata["follows"]``); recall lets a memory's neighbours share its
            relevance, since an answer usually follows its question. The thread's last
            memory is kept in storage, so every process and interface continues it alike.
        planner: Optional executor (a process pool, say) that extracts long texts. Texts of
            more than a few thousand words are planned off the event loop: by default in a
            worker thread, which still holds the GIL during each regex scan of the text; a
            process pool keeps the loop free of that too.

    Everything a call stores — neurons, synapses, memories, their vectors and the threads'
    new ends — is planned first (the embedding model included) and written in one
    transaction: a failure anywhere leaves nothing behind.
    """

    def __init__(
        self,
        storage: Storage | BrainHandle,
        config: BrainConfig,
        *,
        embedder: EmbedderChoice = DEFAULT_EMBEDDER,
        consolidation: ConsolidationScheduler | None = None,
        thread_window: timedelta = timedelta(hours=6),
        planner: Executor | None = None,
    ) -> None:
        if not isinstance(storage, Storage | BrainHandle):
            raise ConfigError(f"storage must be a Storage or a BrainHandle, got {storage!r}")
        if not isinstance(config, BrainConfig):
            raise ConfigError(f"config must be a BrainConfig (brain.config), got {config!r}")
        if not isinstance(thread_window, timedelta) or thread_window < timedelta(0):
            raise ValidationError("thread_window must be a non-negative timedelta")
        self._storage = storage
        self._config = config
        self._embedder = resolve_embedder(embedder)
        self._consolidation = consolidation
        self._thread_window = thread_window
        self._planner = planner

    def _handle(self) -> BrainHandle:
        return BrainHandle.of(self._storage)

    async def encode(
        self,
        text: str,
        *,
        timestamp: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        salience: float = 0.5,
        conversation: str | None = None,
        follows: str | None = None,
    ) -> EncodingResult:
        """Store ``text`` as one memory that happened at ``timestamp`` (default now).

        ``conversation`` and ``follows`` place it in a conversation thread (see MemoryInput).
        """
        item = MemoryInput(
            text=text,
            timestamp=timestamp,
            metadata=metadata,
            tags=freeze_strings(tags, "tags"),
            salience=salience,
            conversation=conversation,
            follows=follows,
        )
        return (await self.encode_many([item]))[0]

    async def encode_many(self, items: Sequence[MemoryInput | str]) -> list[EncodingResult]:
        """Store several memories in one transaction (all or none); results in input order.

        A memory whose text (and speaker) is already stored is merged into the stored fiber
        (its mention count grows) instead of stored twice. A statement that sets a new value
        for a known fact ("The wifi password is ...") supersedes the older statement, which
        stays reachable through ``superseded_by`` / ``metadata["supersedes"]``. A text that
        starts with a written date and/or a speaker ("[2023-05-08 13:56] Caroline: ...") is
        stored as if they had been passed as ``timestamp`` and ``metadata["speaker"]``.
        """
        inputs = _inputs(items)
        return await self._encode(inputs, None) if inputs else []

    async def encode_batches(
        self, batches: Iterable[Sequence[MemoryInput | str]]
    ) -> AsyncGenerator[list[EncodingResult], None]:
        """:meth:`encode_many` of each batch in turn, reading the next batch meanwhile.

        Yields each batch's results once the batch is stored. Every batch is its own
        transaction and stores exactly what ``encode_many`` of it stores, in the same order;
        a batch that fails raises at its turn, after the batches before it are stored, and
        nothing after it is stored. While one batch is planned and written, the texts of the
        next are extracted off the event loop: in the encoder's ``planner`` (a process pool,
        best started with ``multiprocessing.get_context("spawn")``, puts a second core to
        work) or else in a worker thread, which runs while SQLite or the network holds no
        lock on the interpreter. A memory without a timestamp gets its
        time when its batch is read, which may be while the batch before it is written.
        ``batches`` is read one batch ahead. Close the iterator (``contextlib.aclosing``)
        when stopping before its end.
        """
        executor = self._planner or ThreadPoolExecutor(1, thread_name_prefix="nm-extract")
        reading: deque[asyncio.Task[_Read]] = deque()
        try:
            for items in batches:
                reading.append(asyncio.ensure_future(_read(items, executor)))
                if len(reading) > 1:
                    yield await self._encode_read(await reading.popleft())
            while reading:
                yield await self._encode_read(await reading.popleft())
        finally:
            for task in reading:
                _drop(task)
            if executor is not self._planner:
                executor.shutdown(wait=False)

    async def _encode_read(self, read: _Read) -> list[EncodingResult]:
        inputs, found = read
        return await self._encode(inputs, found) if inputs else []

    async def _encode(
        self, inputs: list[MemoryInput], found: Sequence[Parts] | None
    ) -> list[EncodingResult]:
        """Encode validated, timed ``inputs``, from their extractions when ``found``.

        A bulk batch runs with the cyclic garbage collector paused (``_bulk_gc``).
        """
        with collector_paused(len(inputs) >= BULK_MIN_ITEMS):
            return await self._encode_batch(inputs, found)

    async def _encode_batch(
        self, inputs: list[MemoryInput], found: Sequence[Parts] | None
    ) -> list[EncodingResult]:
        handle = self._handle()
        conversations = [item.conversation for item in inputs]
        tails = {c: await handle.thread_tail(c) for c in dict.fromkeys(conversations)}
        fiber_ids = await _fiber_ids(inputs)
        follows, ends = link_threads(
            [(f, moment_of(i), _names_follows(i)) for f, i in zip(fiber_ids, inputs, strict=True)],
            conversations,
            {c: _pair(t) for c, t in tails.items()},
            self._thread_window,
        )
        plans = await _plans(
            [Job(i, f, after) for i, f, after in zip(inputs, fiber_ids, follows, strict=True)],
            self._planner,
            found,
        )
        stored = await handle.storage.get_fibers(plan.fiber.id for plan in plans)
        fresh, merged = split_duplicates(plans, stored)
        known = await _known_ids(handle.storage, fresh)
        older = await _older_statements(handle.storage, fresh, known.neurons)
        superseded, fresh = apply_supersession(fresh, older)
        created = _results(fresh, known)
        uses = link_uses(fresh)
        created_links = (s for result in created for s in result.synapses_created)
        batch = WriteBatch(
            ensure_neurons=tuple(n for r in created for n in r.neurons_created),
            ensure_synapses=new_synapses(uses, created_links, self._config.reinforcement_delta),
            synapse_deltas=reinforcements(uses, self._config.reinforcement_delta),
            insert_fibers=tuple(plan.fiber for plan in fresh),
            update_fibers=(*merged.values(), *superseded),
            put_vectors=await self._vectors(fresh, _given_vectors(plans, inputs)),
            put_meta=tuple(
                (thread_key(c), ThreadTail(*end).to_json())
                for c, end in ends.items()
                if end is not None and _pair(tails.get(c)) != end
            ),
        )
        await _start_index_of_new_brain(handle, self._embedder)
        await handle.write(batch)
        if self._consolidation is not None:
            self._consolidation.notify_encoded(len(fresh))
        by_id = {result.fiber.id: result for result in created}
        return [by_id.get(plan.fiber.id) or _merged_result(merged[plan.fiber.id]) for plan in plans]

    async def _vectors(
        self, plans: Sequence[Plan], given: Mapping[str, npt.NDArray[np.float32]]
    ) -> tuple[FiberVector, ...]:
        """The new memories' vectors (given or computed), before anything is written."""
        if self._embedder is None or not plans:
            return ()
        name = self._embedder.name
        missing = [plan for plan in plans if plan.fiber.id not in given]
        vectors = dict(given)
        if missing:
            computed = await self._embedder.embed([p.fiber.content for p in missing])
            vectors.update((p.fiber.id, v) for p, v in zip(missing, computed, strict=True))
        return tuple(FiberVector(plan.fiber.id, name, vectors[plan.fiber.id]) for plan in plans)


def _given_vectors(
    plans: Sequence[Plan], inputs: Sequence[MemoryInput]
) -> dict[str, npt.NDArray[np.float32]]:
    return {
        plan.fiber.id: item.vector
        for plan, item in zip(plans, inputs, strict=True)
        if item.vector is not None
    }


async def _start_index_of_new_brain(handle: BrainHandle, embedder: Embedder | None) -> None:
    """Index an empty brain from its first memory on, so recall never has to rebuild.

    A brain that already holds memories is indexed lazily by the first recall instead (that
    can take seconds, and encoding should not).
    """
    index = handle.index(embedder)
    if index.seq < 0 and await handle.storage.get_change_seq() == 0:
        await index.sync()


async def _older_statements(
    storage: Storage, plans: Sequence[Plan], stored_neurons: set[str]
) -> dict[str, list[Fiber]]:
    """The current stored statements of each fact the plans state, by fact neuron id.

    A fact whose neuron is not stored yet has no stored statement (no fiber names a neuron
    that does not exist), so only the facts stated before are looked up.
    """
    facts = dict.fromkeys(p.fact_neuron_id for p in plans if p.fact_neuron_id)
    stated = [fact_id for fact_id in facts if fact_id in stored_neurons]
    older: dict[str, list[Fiber]] = {}
    for start in range(0, len(stated), _LOOKUPS_AT_ONCE):  # a pool's connections at once
        some = stated[start : start + _LOOKUPS_AT_ONCE]
        found = await asyncio.gather(
            *(storage.find_fibers(neuron_id=f, current=True) for f in some)
        )
        older.update(zip(some, found, strict=True))
    return older


_LOOKUPS_AT_ONCE = 8
"""Older statements looked up concurrently (a bulk batch states a fact in about one memory of
six: on PostgreSQL each lookup is a round trip, which several connections overlap)."""


def _pair(tail: ThreadTail | None) -> tuple[str, datetime] | None:
    return (tail.fiber_id, tail.occurred_at) if tail is not None else None


def _validated(item: MemoryInput) -> MemoryInput:
    if not isinstance(item, MemoryInput):
        raise ValidationError(f"expected text or a MemoryInput, got {type(item).__name__}")
    check_text(require_text(item.text, "memory text"), "memory text")
    require_unit(item.salience, "salience")
    if item.timestamp is not None and not isinstance(item.timestamp, datetime):
        raise ValidationError("timestamp must be a datetime")
    if item.timestamp is not None:
        check_time(item.timestamp, "timestamp")
    if item.metadata is not None and not isinstance(item.metadata, Mapping):
        raise ValidationError("metadata must be a mapping")
    if item.conversation is not None:
        require_text(item.conversation, "conversation")
    if item.follows is not None:
        require_text(item.follows, "follows")
    return item


async def _plans(
    jobs: Sequence[Job], planner: Executor | None, found: Sequence[Parts] | None = None
) -> list[Plan]:
    """Every job's plan (from its extraction when ``found``); long texts off the loop."""
    if sum(len(job.item.text) for job in jobs) <= PLAN_INLINE_CHARS:
        return plan_all(jobs, found)
    if planner is None and found is None:
        return await asyncio.to_thread(plan_all, jobs)
    if found is None:
        found = await _extracted(_texts(job.item for job in jobs), planner)
    return await asyncio.to_thread(plan_all, jobs, found)


async def _fiber_ids(inputs: Sequence[MemoryInput]) -> list[str]:
    """Each memory's :func:`stable_fiber_id`, in a worker thread when the texts are long."""

    def ids() -> list[str]:
        return [stable_fiber_id(item.text, speaker_of(item)) for item in inputs]

    if sum(len(item.text) for item in inputs) <= PLAN_INLINE_CHARS:
        return ids()
    return await asyncio.to_thread(ids)


_Text = tuple[str, datetime, str | None]


def _texts(items: Iterable[MemoryInput]) -> list[_Text]:
    """What extraction reads of each memory: its text, moment and speaker."""
    return [(item.text, moment_of(item), speaker_of(item)) for item in items]


async def _extracted(texts: list[_Text], executor: Executor | None) -> list[Parts]:
    """What planning reads of ``texts``, extracted in ``executor`` (their terms remembered)."""
    sent = await asyncio.get_running_loop().run_in_executor(executor, extract_all, texts)
    return received(texts, sent)


def _inputs(items: Sequence[MemoryInput | str]) -> list[MemoryInput]:
    """``items`` as validated memories with their header read and their moment fixed."""
    given = [MemoryInput(text=i) if isinstance(i, str) else i for i in items]
    return [_timed(_with_header(_validated(item))) for item in given]


_Read = tuple[list[MemoryInput], list[Parts]]
"""A batch read ahead: its memories (as ``_inputs`` leaves them) and their extractions."""


async def _read(items: Sequence[MemoryInput | str], executor: Executor) -> _Read:
    """Validate ``items`` and extract their texts in ``executor`` (errors: when awaited)."""
    inputs = _inputs(items)
    return inputs, await _extracted(_texts(inputs), executor)


def _drop(task: asyncio.Task[_Read]) -> None:
    """Cancel a batch read ahead that will not be encoded (its error, if any, is dropped)."""
    if not task.done():
        task.cancel()
    elif not task.cancelled():
        task.exception()  # retrieved: not reported as never retrieved


def _timed(item: MemoryInput) -> MemoryInput:
    """``item`` with its moment fixed (now, when it has none), so every step sees one time."""
    return item if item.timestamp is not None else replace(item, timestamp=utcnow())


def _names_follows(item: MemoryInput) -> bool:
    """Whether the memory says itself which memory it follows."""
    return item.follows is not None or "follows" in (item.metadata or {})


def _with_header(item: MemoryInput) -> MemoryInput:
    """``item`` with the date and speaker its text starts with moved into its fields.

    "[2023-05-08 13:56] Caroline: I went ..." is stored like "I went ..." with that timestamp
    and ``metadata["speaker"] = "Caroline"`` (the header as written is kept in
    ``metadata["header"]``). A header that contradicts the caller's own timestamp (another
    day) or speaker is part of the text and stays in it.
    """
    header = read_header(item.text)
    if header is None:
        return item
    metadata = dict(item.metadata or {})
    speaker = metadata.get("speaker")
    timestamp = item.timestamp
    if _contradicts(header, speaker, timestamp):
        return item
    if header.speaker is not None and speaker is None:
        metadata["speaker"] = header.speaker
    metadata.setdefault("header", header.text)
    return replace(item, text=header.body, timestamp=timestamp or header.moment, metadata=metadata)


def _contradicts(header: Header, speaker: object, timestamp: datetime | None) -> bool:
    """Whether the header names another speaker or another day than the caller's fields."""
    other_speaker = (
        header.speaker is not None
        and speaker is not None
        and (not isinstance(speaker, str) or speaker.casefold() != header.speaker.casefold())
    )
    other_day = (
        header.moment is not None
        and timestamp is not None
        and as_utc(timestamp).date() != header.moment.date()
    )
    return other_speaker or other_day


_new_result = assembler(EncodingResult)


def _merged_result(fiber: Fiber) -> EncodingResult:
    return EncodingResult(
        fiber=fiber,
        neurons_created=(),
        neurons_linked=tuple(sorted(fiber.neuron_ids)),
        synapses_created=(),
        synapses_reinforced=(),
        merged=True,
    )


@dataclass(frozen=True, slots=True)
class _Known:
    """The ids of the plans' neurons and synapses that storage held before the batch."""

    neurons: set[str]
    synapses: set[str]


async def _known_ids(storage: Storage, plans: Sequence[Plan]) -> _Known:
    """Which of the plans' neurons and synapses exist (ids only: no record is read)."""
    neurons = await storage.existing_neuron_ids({n.id for p in plans for n in p.neurons})
    synapses = await storage.existing_synapse_ids({s.id for p in plans for s in p.synapses})
    return _Known(neurons, synapses)


def _results(plans: Sequence[Plan], known: _Known) -> list[EncodingResult]:
    """Split each plan into created and reused parts; later plans reuse earlier ones."""
    known_neurons, known_synapses = set(known.neurons), set(known.synapses)
    results = []
    for plan in plans:
        created_n, linked = _split_known(plan.neurons, known_neurons)
        created_s, reinforced = _split_known(plan.synapses, known_synapses)
        results.append(
            _new_result(
                fiber=plan.fiber,
                neurons_created=created_n,
                neurons_linked=linked,
                synapses_created=created_s,
                synapses_reinforced=reinforced,
                merged=False,
            )
        )
    return results


def _split_known(
    records: Sequence[_Record], known: set[str]
) -> tuple[tuple[_Record, ...], tuple[str, ...]]:
    """``records`` not in ``known`` (to create), and the ids of those that are (reused).

    The created ones are added to ``known`` after the split, for the plans after this one.
    One pass over ``records``: a bulk batch splits about a dozen records per memory.
    """
    created: list[_Record] = []
    reused: list[str] = []
    for record in records:
        if record.id in known:
            reused.append(record.id)
        else:
            created.append(record)
    known.update(record.id for record in created)
    return tuple(created), tuple(reused)
