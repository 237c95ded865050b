"""MemoryEncoder: text in, neurons + synapses + one fiber out, in one transaction."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from neural_memory.core._validation import freeze_strings, require_text, require_unit
from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.limits import check_text, check_time
from neural_memory.core.neuron import Neuron, NeuronType, stable_neuron_id
from neural_memory.core.synapse import Direction, Synapse, SynapseType
from neural_memory.engine._store_merge import (
    Plan,
    apply_supersession,
    link_threads,
    split_duplicates,
    stable_fiber_id,
)
from neural_memory.engine.extraction import Extraction, extract
from neural_memory.engine.facts import fact_key
from neural_memory.engine.retrieval.index import index_for, indexes_of
from neural_memory.errors import ConfigError, ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

if TYPE_CHECKING:
    from neural_memory.engine.consolidation import ConsolidationScheduler
    from neural_memory.engine.embeddings import Embedder

__all__ = ["EncodingResult", "MemoryEncoder", "MemoryInput", "stable_fiber_id"]

INITIAL_SYNAPSE_WEIGHT = 0.5
"""Weight of a synapse the first time two neurons are linked."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryInput:
    """One memory for :meth:`MemoryEncoder.encode_many`."""

    text: str
    timestamp: datetime | None = None
    metadata: Mapping[str, Any] | None = None
    tags: frozenset[str] = field(default_factory=frozenset)
    salience: float = 0.5


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
        storage: Where the memories go (its current brain).
        config: The brain's configuration (``reinforcement_delta`` strengthens reused links).
        embedder: Optional; when given, each memory's text is embedded for semantic recall.
        consolidation: Optional scheduler told about every stored memory, so consolidation
            runs automatically after enough encodes.
        thread_window: Successive memories at most this far apart form one conversation
            thread (``metadata["follows"]``); recall lets a memory's neighbours share its
            relevance, since an answer usually follows its question.
    """

    def __init__(
        self,
        storage: Storage,
        config: BrainConfig,
        *,
        embedder: Embedder | None = None,
        consolidation: ConsolidationScheduler | None = None,
        thread_window: timedelta = timedelta(hours=6),
    ) -> None:
        if not isinstance(storage, Storage):
            raise ConfigError(f"storage must be a Storage, got {type(storage).__name__}")
        if not isinstance(config, BrainConfig):
            raise ConfigError(f"config must be a BrainConfig, got {type(config).__name__}")
        self._storage = storage
        self._config = config
        self._embedder = embedder
        self._consolidation = consolidation
        self._index_checked = False
        self._thread_window = thread_window
        self._last: tuple[str, datetime] | None = None

    async def encode(
        self,
        text: str,
        *,
        timestamp: datetime | None = None,
        metadata: Mapping[str, Any] | None = None,
        tags: Iterable[str] | None = None,
        salience: float = 0.5,
    ) -> EncodingResult:
        """Store ``text`` as one memory that happened at ``timestamp`` (default now)."""
        item = MemoryInput(
            text=text,
            timestamp=timestamp,
            metadata=metadata,
            tags=freeze_strings(tags, "tags"),
            salience=salience,
        )
        return (await self.encode_many([item]))[0]

    async def encode_many(self, items: Sequence[MemoryInput | str]) -> list[EncodingResult]:
        """Store several memories in one transaction (all or none); results in input order.

        A memory whose text (and speaker) is already stored is merged into the stored fiber
        (its mention count grows) instead of stored twice. A statement that sets a new value
        for a known fact ("The wifi password is ...") supersedes the older statement, which
        stays reachable through ``superseded_by`` / ``metadata["supersedes"]``.
        """
        inputs = [MemoryInput(text=i) if isinstance(i, str) else i for i in items]
        if not inputs:
            return []
        plans = [_plan(_validated(item)) for item in inputs]
        plans, self._last = link_threads(plans, self._last, self._thread_window)
        stored = await self._storage.get_fibers(plan.fiber.id for plan in plans)
        fresh, merged = split_duplicates(plans, stored)
        older = await self._older_statements(fresh)
        superseded, fresh = apply_supersession(fresh, older)
        neuron_ids = {n.id for plan in fresh for n in plan.neurons}
        synapse_ids = {s.id for plan in fresh for s in plan.synapses}
        existing_neurons = await self._storage.get_neurons(neuron_ids)
        existing_synapses = await self._storage.get_synapses_by_id(synapse_ids)
        created = _results(fresh, existing_neurons.keys(), existing_synapses.keys())
        delta = self._config.reinforcement_delta
        reinforced = {sid for result in created for sid in result.synapses_reinforced}
        batch = WriteBatch(
            ensure_neurons=tuple(n for r in created for n in r.neurons_created),
            ensure_synapses=tuple(s for r in created for s in r.synapses_created),
            synapse_deltas=tuple((sid, delta) for sid in sorted(reinforced)),
            insert_fibers=tuple(plan.fiber for plan in fresh),
            update_fibers=(*merged.values(), *superseded),
        )
        await self._start_index_of_new_brain()
        seq = await self._storage.write(batch)
        for index in indexes_of(self._storage, self._storage.brain_id):
            index.apply_own_write(batch, seq)
        await self._cache_embeddings(fresh)
        if self._consolidation is not None:
            self._consolidation.notify_encoded(len(fresh))
        by_id = {result.fiber.id: result for result in created}
        return [by_id.get(plan.fiber.id) or _merged_result(merged[plan.fiber.id]) for plan in plans]

    async def _start_index_of_new_brain(self) -> None:
        """Index an empty brain from its first memory on, so recall never has to rebuild.

        Checked once per encoder: a brain that already holds memories is indexed lazily by
        the first recall instead (that can take seconds, and encoding should not).
        """
        if self._index_checked:
            return
        self._index_checked = True
        index = index_for(self._storage, self._storage.brain_id, self._embedder)
        if index.seq < 0 and await self._storage.get_change_seq() == 0:
            await index.sync()

    async def _older_statements(self, plans: Sequence[Plan]) -> dict[str, list[Fiber]]:
        """Stored fibers stating each fact the plans state, by fact neuron id."""
        older: dict[str, list[Fiber]] = {}
        for fact_id in dict.fromkeys(p.fact_neuron_id for p in plans if p.fact_neuron_id):
            older[fact_id] = await self._storage.find_fibers(neuron_id=fact_id)
        return older

    async def _cache_embeddings(self, plans: Sequence[Plan]) -> None:
        if self._embedder is None or not plans:
            return
        vectors = await self._embedder.embed([plan.fiber.content for plan in plans])
        index = index_for(self._storage, self._storage.brain_id, self._embedder)
        for plan, vector in zip(plans, vectors, strict=True):
            index.cache_embedding(plan.fiber.id, vector)


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
    return item


def _plan(item: MemoryInput) -> Plan:
    """The neurons, synapses and fiber of one memory (pure)."""
    moment = as_utc(item.timestamp) if item.timestamp else utcnow()
    metadata = dict(item.metadata or {})
    speaker = metadata.get("speaker")
    extraction = extract(item.text, moment, speaker=speaker if isinstance(speaker, str) else None)
    ids = {key: stable_neuron_id(key) for key in extraction.keys}
    neurons = tuple(
        Neuron.create(
            n.type, n.content, neuron_id=ids[n.key], created_at=moment, metadata={"key": n.key}
        )
        for n in extraction.neurons
    )
    synapses = [*_synapses(extraction, ids, moment)]
    pathway = tuple(ids[key] for key in extraction.keys)
    fact = fact_key(item.text)
    fact_id = None
    if fact is not None:
        fact_neuron = Neuron.create(
            NeuronType.CONCEPT,
            fact.subject,
            created_at=moment,
            metadata={"key": f"fact:{fact.subject}"},
            neuron_id=stable_neuron_id(f"fact:{fact.subject}"),
        )
        fact_id = fact_neuron.id
        neurons = (*neurons, fact_neuron)
        synapses.append(
            Synapse.create(
                fact_id,
                pathway[0],
                SynapseType.RELATED_TO,
                direction=Direction.BIDIRECTIONAL,
                created_at=moment,
            )
        )
        metadata["fact_value"] = fact.value
    fiber = Fiber.create(
        fiber_id=stable_fiber_id(item.text, speaker if isinstance(speaker, str) else None),
        neuron_ids=(*pathway, *((fact_id,) if fact_id else ())),
        synapse_ids=(s.id for s in synapses),
        anchor_neuron_id=pathway[0],
        pathway=pathway,
        content=item.text,
        salience=item.salience,
        tags=item.tags,
        metadata=metadata,
        occurred_at=moment,
    )
    return Plan(fiber, neurons, tuple(synapses), fact_id)


def _synapses(extraction: Extraction, ids: Mapping[str, str], moment: datetime) -> list[Synapse]:
    return [
        Synapse.create(
            ids[link.source_key],
            ids[link.target_key],
            link.type,
            weight=INITIAL_SYNAPSE_WEIGHT,
            direction=Direction.BIDIRECTIONAL if link.bidirectional else Direction.UNIDIRECTIONAL,
            created_at=moment,
        )
        for link in extraction.links
    ]


def _merged_result(fiber: Fiber) -> EncodingResult:
    return EncodingResult(
        fiber=fiber,
        neurons_created=(),
        neurons_linked=tuple(sorted(fiber.neuron_ids)),
        synapses_created=(),
        synapses_reinforced=(),
        merged=True,
    )


def _results(
    plans: Sequence[Plan], existing_neurons: Iterable[str], existing_synapses: Iterable[str]
) -> list[EncodingResult]:
    """Split each plan into created and reused parts; later plans reuse earlier ones."""
    known_neurons, known_synapses = set(existing_neurons), set(existing_synapses)
    results = []
    for plan in plans:
        created_n = tuple(n for n in plan.neurons if n.id not in known_neurons)
        created_s = tuple(s for s in plan.synapses if s.id not in known_synapses)
        results.append(
            EncodingResult(
                fiber=plan.fiber,
                neurons_created=created_n,
                neurons_linked=tuple(n.id for n in plan.neurons if n.id in known_neurons),
                synapses_created=created_s,
                synapses_reinforced=tuple(s.id for s in plan.synapses if s.id in known_synapses),
            )
        )
        known_neurons.update(n.id for n in created_n)
        known_synapses.update(s.id for s in created_s)
    return results
