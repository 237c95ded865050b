"""Planning memories (pure): the neurons, synapses and fiber each memory will add.

What :class:`~neural_memory.engine.encoder.MemoryEncoder` does before it looks at storage:
extraction of each text and the records made from it, shared by the memories planned together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from neural_memory.core._validation import EMPTY_MAPPING, assembler, freeze_strings
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import SPEAKER
from neural_memory.core.neuron import Neuron, NeuronType, stable_neuron_id
from neural_memory.core.synapse import Direction, Synapse, SynapseType, stable_synapse_id
from neural_memory.engine._store_merge import Plan
from neural_memory.engine.extraction import ExtractedLink, ExtractedNeuron, Extraction, extract
from neural_memory.engine.facts import FactKey, fact_key
from neural_memory.engine.timeparse import Granularity, TimeSpan
from neural_memory.errors import ValidationError

if TYPE_CHECKING:
    from neural_memory.engine.encoder import MemoryInput

__all__ = [
    "INITIAL_SYNAPSE_WEIGHT",
    "Job",
    "Packed",
    "extract_all",
    "moment_of",
    "pack",
    "plan_all",
    "speaker_of",
    "unpack",
]

INITIAL_SYNAPSE_WEIGHT = 0.5
"""Weight of a synapse the first time two neurons are linked."""


@dataclass(frozen=True, slots=True)
class Job:
    """One (validated, timed) memory to plan: its fiber id and the memory it follows."""

    item: MemoryInput
    fiber_id: str
    follows: str | None


Packed = tuple[
    tuple[tuple[str, int, str, int], ...],
    tuple[tuple[str, str, int, bool], ...],
    tuple[str, ...],
    tuple[tuple[int, int, int, str], ...],
    tuple[str, str] | None,
]
"""A text's :class:`Extraction` and fact key as plain tuples, enum members as their index
(see :func:`pack`)."""

Read = tuple[Extraction, FactKey | None]
"""What planning reads of a text: its extraction and the fact it states, if any."""

_NEURON_TYPES = tuple(NeuronType)
_SYNAPSE_TYPES = tuple(SynapseType)
_GRANULARITIES = tuple(Granularity)
_NEURON_CODES = {kind: code for code, kind in enumerate(_NEURON_TYPES)}
_SYNAPSE_CODES = {kind: code for code, kind in enumerate(_SYNAPSE_TYPES)}
_GRANULARITY_CODES = {kind: code for code, kind in enumerate(_GRANULARITIES)}


def extract_all(jobs: Sequence[tuple[str, datetime, str | None]]) -> list[Packed]:
    """Extraction of several texts, packed (what a planner process runs)."""
    return [pack(read(text, moment, speaker)) for text, moment, speaker in jobs]


def read(text: str, moment: datetime, speaker: str | None) -> Read:
    """The extraction of ``text`` and the fact it states."""
    return extract(text, moment, speaker=speaker), fact_key(text)


def pack(found: Read) -> Packed:
    """``found`` as plain tuples: another process reads them back several times faster.

    Unpickling an enum member or a dataclass runs Python code for each; a tuple of strings
    and ints is read in C, so a planner process saves the event loop's process the work.
    """
    extraction, fact = found
    spans = extraction.time_spans
    return (
        tuple((n.key, _NEURON_CODES[n.type], n.content, n.position) for n in extraction.neurons),
        tuple((x[0], x[1], _SYNAPSE_CODES[x[2]], x[3]) for x in extraction.links),
        extraction.terms,
        tuple(
            (s.start.toordinal(), s.end.toordinal(), _GRANULARITY_CODES[s.granularity], s.text)
            for s in spans
        ),
        None if fact is None else (fact.subject, fact.value),
    )


def unpack(packed: Packed) -> Read:
    """What :func:`pack` packed."""
    neurons, links, terms, spans, fact = packed
    kinds, links_kinds, grains = _NEURON_TYPES, _SYNAPSE_TYPES, _GRANULARITIES
    extraction = Extraction(
        tuple(ExtractedNeuron(key, kinds[k], content, at) for key, k, content, at in neurons),
        tuple(ExtractedLink(a, b, links_kinds[k], both) for a, b, k, both in links),
        terms,
        tuple(
            TimeSpan(date.fromordinal(a), date.fromordinal(b), grains[g], text)
            for a, b, g, text in spans
        ),
    )
    return extraction, None if fact is None else FactKey(*fact)


def moment_of(item: MemoryInput) -> datetime:
    """When ``item`` happened (now, when it does not say)."""
    return as_utc(item.timestamp) if item.timestamp else utcnow()


def speaker_of(item: MemoryInput) -> str | None:
    """Who said ``item`` (its metadata's speaker), if known."""
    return SPEAKER.get(item.metadata or {})


def plan_all(jobs: Sequence[Job], extractions: Sequence[Packed] | None = None) -> list[Plan]:
    """The neurons, synapses and fiber of each (validated) memory (from :func:`extract_all`).

    Memories planned together share their neuron and synapse objects: a word mentioned by a
    thousand memories of a bulk import is one ``Neuron`` (made at its first mention, which is
    when storage would create it), not a thousand copies to validate and throw away.
    """
    shared = _SharedParts()
    if extractions is None:
        return [shared.plan(job) for job in jobs]
    return [shared.plan(job, unpack(found)) for job, found in zip(jobs, extractions, strict=True)]


@dataclass(slots=True)
class _SharedParts:
    """Neurons and synapses already made for the memories planned so far, by id."""

    neurons: dict[str, Neuron] = field(default_factory=dict)
    synapses: dict[tuple[str, str, SynapseType], Synapse] = field(default_factory=dict)

    def plan(self, job: Job, found: Read | None = None) -> Plan:
        """The neurons, synapses and fiber of one memory."""
        item = job.item
        moment = moment_of(item)
        metadata = dict(item.metadata or {})
        if item.conversation is not None:
            metadata["conversation"] = item.conversation
        if item.follows is not None:
            metadata["follows"] = item.follows
        speaker = speaker_of(item)
        extraction, fact = read(item.text, moment, speaker) if found is None else found
        ids = {n.key: _neuron_id(n.key) for n in extraction.neurons}  # keys are unique
        neuron, link = self.neuron, self.link
        neurons = [neuron(ids[n.key], n.type, n.content, n.key, moment) for n in extraction.neurons]
        synapses = [
            link(ids[x.source_key], ids[x.target_key], x.type, x.bidirectional, moment)
            for x in extraction.links
        ]
        pathway = tuple(ids.values())
        fact_id = None
        if fact is not None:
            fact_key_text = f"fact:{fact.subject}"
            fact_id = _neuron_id(fact_key_text)
            neurons.append(
                self.neuron(fact_id, NeuronType.CONCEPT, fact.subject, fact_key_text, moment)
            )
            synapses.append(self.fact_synapse(fact_id, pathway[0], moment))
            metadata["fact_value"] = fact.value
        if job.follows is not None:
            metadata["follows"] = job.follows
        fiber = _new_fiber(  # from validated input: the anchor and pathway are its neurons
            id=job.fiber_id,
            neuron_ids=frozenset((*pathway, *((fact_id,) if fact_id else ()))),
            synapse_ids=frozenset(s.id for s in synapses),
            anchor_neuron_id=pathway[0],
            pathway=pathway,
            content=item.text,
            conductivity=1.0,
            salience=float(item.salience),
            last_conducted=None,
            access_count=0,
            tags=freeze_strings(item.tags, "tags"),
            metadata=MappingProxyType(metadata),
            occurred_at=moment,
            created_at=utcnow(),
            superseded_by=None,
        )
        return Plan(fiber, tuple(neurons), tuple(synapses), fact_id)

    def neuron(
        self, neuron_id: str, kind: NeuronType, content: str, key: str, moment: datetime
    ) -> Neuron:
        """The neuron ``neuron_id`` (made now, at ``moment``, at its first mention)."""
        neuron = self.neurons.get(neuron_id)
        if neuron is None:
            neuron = self.neurons[neuron_id] = _new_neuron(  # extraction's words: never blank
                id=neuron_id,
                type=kind,
                content=content,
                metadata=MappingProxyType({"key": key}),
                created_at=moment,
                activation=1.0,
                access_count=0,
                last_accessed=None,
            )
        return neuron

    def fact_synapse(self, fact_id: str, subject_id: str, moment: datetime) -> Synapse:
        """The link from a fact neuron to the first neuron of the statement."""
        return self.link(fact_id, subject_id, SynapseType.RELATED_TO, True, moment)

    def link(
        self, source: str, target: str, kind: SynapseType, both: bool, moment: datetime
    ) -> Synapse:
        """The synapse ``source -kind-> target`` (made now, at ``moment``, at its first use)."""
        synapse = self.synapses.get((source, target, kind))
        if synapse is None:
            if source == target:
                raise ValidationError("a synapse cannot connect a neuron to itself")
            synapse = self.synapses[source, target, kind] = _new_synapse(
                id=_synapse_id(source, target, kind),
                source_id=source,
                target_id=target,
                type=kind,
                weight=INITIAL_SYNAPSE_WEIGHT,
                direction=_DIRECTIONS[both],
                metadata=EMPTY_MAPPING,
                created_at=moment,
                last_activated=None,
                reinforced_count=0,
            )
        return synapse


_DIRECTIONS = {True: Direction.BIDIRECTIONAL, False: Direction.UNIDIRECTIONAL}
"""A link's direction by whether it runs both ways (a member lookup on an Enum is slow)."""

_new_neuron = assembler(Neuron)
_new_synapse = assembler(Synapse)
_new_fiber = assembler(Fiber)


@lru_cache(maxsize=262_144)
def _neuron_id(key: str) -> str:
    """``stable_neuron_id`` of a key, remembered: a brain's vocabulary repeats."""
    return stable_neuron_id(key)


@lru_cache(maxsize=262_144)
def _synapse_id(source: str, target: str, kind: SynapseType) -> str:
    """``stable_synapse_id`` of a link, remembered: a brain's links repeat."""
    return stable_synapse_id(source, target, kind)
