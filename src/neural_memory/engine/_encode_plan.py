"""Planning memories (pure): the neurons, synapses and fiber each memory will add.

What :class:`~neural_memory.engine.encoder.MemoryEncoder` does before it looks at storage:
extraction of each text and the records made from it, shared by the memories planned together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING

from neural_memory.core._validation import EMPTY_MAPPING, assembler, freeze_strings
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import SPEAKER
from neural_memory.core.neuron import Neuron, NeuronType, stable_neuron_id
from neural_memory.core.synapse import Direction, Synapse, SynapseType, stable_synapse_id
from neural_memory.core.text import remember_document_terms
from neural_memory.engine._store_merge import Plan
from neural_memory.engine.extraction import extract
from neural_memory.engine.facts import fact_key
from neural_memory.errors import ValidationError

if TYPE_CHECKING:
    from neural_memory.engine.encoder import MemoryInput

__all__ = [
    "INITIAL_SYNAPSE_WEIGHT",
    "Job",
    "LinkPart",
    "NeuronPart",
    "Parts",
    "Sent",
    "extract_all",
    "moment_of",
    "plan_all",
    "read",
    "received",
    "speaker_of",
]

INITIAL_SYNAPSE_WEIGHT = 0.5
"""Weight of a synapse the first time two neurons are linked."""


@dataclass(frozen=True, slots=True)
class Job:
    """One (validated, timed) memory to plan: its fiber id and the memory it follows."""

    item: MemoryInput
    fiber_id: str
    follows: str | None


NeuronPart = tuple[str, NeuronType, str, int]
"""A neuron as extraction found it: key, type, content, position (an ``ExtractedNeuron``)."""
LinkPart = tuple[str, str, SynapseType, bool]
"""A link as extraction found it: source key, target key, type, both ways (``ExtractedLink``)."""
Parts = tuple[Sequence[NeuronPart], Sequence[LinkPart], tuple[str, str] | None]
"""What planning reads of a text: its neurons, its links and the fact it states (subject,
value), if any."""


def read(text: str, moment: datetime, speaker: str | None) -> Parts:
    """What planning reads of ``text`` written at ``moment`` by ``speaker``."""
    found = extract(text, moment, speaker=speaker)
    fact = fact_key(text)
    return found.neurons, found.links, None if fact is None else (fact.subject, fact.value)


Sent = tuple[Parts, tuple[str, ...]]
"""What a planner process sends back for a text: its :data:`Parts` and its lexical terms."""


def extract_all(jobs: Sequence[tuple[str, datetime, str | None]]) -> list[Sent]:
    """:func:`read` of several texts as plain tuples, with their terms (what a planner runs).

    Named tuples and dataclasses unpickle through Python code, one call per object; plain
    tuples of strings, numbers and enum members (each member pickled once per call, then
    referenced) unpickle in C, so the loop's process gets them at little cost.
    """
    return [_sent(text, moment, speaker) for text, moment, speaker in jobs]


def _sent(text: str, moment: datetime, speaker: str | None) -> Sent:
    found = extract(text, moment, speaker=speaker)
    fact = fact_key(text)
    return (
        (
            tuple((key, kind, content, at) for key, kind, content, at in found.neurons),
            tuple((source, target, kind, both) for source, target, kind, both in found.links),
            None if fact is None else (fact.subject, fact.value),
        ),
        found.terms,
    )


def received(
    texts: Sequence[tuple[str, datetime, str | None]], sent: Sequence[Sent]
) -> list[Parts]:
    """The parts :func:`extract_all` sent for ``texts``, their terms remembered.

    Storage and the recall index would otherwise compute each memory's terms again.
    """
    for (text, _, speaker), (_, terms) in zip(texts, sent, strict=True):
        remember_document_terms(text, speaker, terms)
    return [parts for parts, _ in sent]


def moment_of(item: MemoryInput) -> datetime:
    """When ``item`` happened (now, when it does not say)."""
    return as_utc(item.timestamp) if item.timestamp else utcnow()


def speaker_of(item: MemoryInput) -> str | None:
    """Who said ``item`` (its metadata's speaker), if known."""
    return SPEAKER.get(item.metadata or {})


def plan_all(jobs: Sequence[Job], found: Sequence[Parts] | None = None) -> list[Plan]:
    """The neurons, synapses and fiber of each (validated) memory (from :func:`extract_all`).

    Memories planned together share their neuron and synapse objects: a word mentioned by a
    thousand memories of a bulk import is one ``Neuron`` (made at its first mention, which is
    when storage would create it), not a thousand copies to validate and throw away.
    """
    shared = _SharedParts()
    if found is None:
        return [shared.plan(job) for job in jobs]
    return [shared.plan(job, parts) for job, parts in zip(jobs, found, strict=True)]


@dataclass(slots=True)
class _SharedParts:
    """Neurons and synapses already made for the memories planned so far, by id."""

    neurons: dict[str, Neuron] = field(default_factory=dict)
    synapses: dict[tuple[str, str, SynapseType], Synapse] = field(default_factory=dict)

    def plan(self, job: Job, found: Parts | None = None) -> Plan:
        """The neurons, synapses and fiber of one memory."""
        item = job.item
        moment = moment_of(item)
        metadata = dict(item.metadata or {})
        if item.conversation is not None:
            metadata["conversation"] = item.conversation
        if item.follows is not None:
            metadata["follows"] = item.follows
        speaker = speaker_of(item)
        found_neurons, found_links, fact = found or read(item.text, moment, speaker)
        ids = {key: _neuron_id(key) for key, _, _, _ in found_neurons}  # keys are unique
        neuron, link = self.neuron, self.link
        neurons = [
            neuron(ids[key], kind, content, key, moment) for key, kind, content, _ in found_neurons
        ]
        synapses = [
            link(ids[source], ids[target], kind, both, moment)
            for source, target, kind, both in found_links
        ]
        pathway = tuple(ids.values())
        fact_id = None
        if fact is not None:
            subject, value = fact
            fact_key_text = f"fact:{subject}"
            fact_id = _neuron_id(fact_key_text)
            neurons.append(self.neuron(fact_id, NeuronType.CONCEPT, subject, fact_key_text, moment))
            synapses.append(self.fact_synapse(fact_id, pathway[0], moment))
            metadata["fact_value"] = value
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
