"""The consolidation passes as pure functions: data in, planned changes out (no I/O)."""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from neural_memory.core.events import RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import CONCEPT_OF, MENTIONS, SOURCES, SPEAKER, STAGE
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.core.synapse import Direction, Synapse, SynapseType
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.engine._store_merge import stable_fiber_id
from neural_memory.engine.facts import fact_key

__all__ = [
    "Changes",
    "plan_duplicates",
    "plan_expiry",
    "plan_maturation",
    "plan_orphans",
    "plan_promotion",
    "plan_replay",
    "plan_successors",
    "plan_supersession",
]

SEMANTIC_TAG = "semantic"


@dataclass
class Changes:
    """What one or more passes want written (accumulated, then written in one batch)."""

    update_fibers: dict[str, Fiber] = field(default_factory=dict)
    insert_fibers: list[Fiber] = field(default_factory=list)
    delete_fibers: set[str] = field(default_factory=set)
    ensure_neurons: list[Neuron] = field(default_factory=list)
    ensure_synapses: list[Synapse] = field(default_factory=list)
    synapse_deltas: dict[str, float] = field(default_factory=dict)
    delete_neurons: set[str] = field(default_factory=set)
    put_typed_memories: list[TypedMemory] = field(default_factory=list)
    delete_typed_memories: set[str] = field(default_factory=set)
    merged_into: dict[str, str] = field(default_factory=dict)
    """Deleted duplicate id -> the memory it was merged into."""

    def fiber(self, fiber: Fiber) -> Fiber:
        """The latest planned version of ``fiber``."""
        return self.update_fibers.get(fiber.id, fiber)


def plan_expiry(memories: Iterable[TypedMemory], now: datetime, changes: Changes) -> int:
    """Expired typed memories are removed with their fibers (expiry is an explicit wish)."""
    count = 0
    for memory in memories:
        if memory.is_expired(now):
            changes.delete_typed_memories.add(memory.id)
            changes.delete_fibers.add(memory.fiber_id)
            count += 1
    return count


def plan_duplicates(
    fibers: Sequence[Fiber], typed: Mapping[str, TypedMemory], changes: Changes
) -> int:
    """Fibers with the same words from the same speaker merge into the oldest one."""
    groups: defaultdict[str, list[Fiber]] = defaultdict(list)
    for fiber in fibers:
        if fiber.id in changes.delete_fibers or not fiber.content:
            continue
        groups[stable_fiber_id(fiber.content, SPEAKER.get(fiber.metadata))].append(fiber)
    merged = 0
    for group in groups.values():
        if len(group) < 2:
            continue
        keep, *rest = sorted(group, key=lambda f: (f.created_at, f.id))
        mentions = sum(MENTIONS.get(f.metadata) or 1 for f in group)
        kept = changes.fiber(keep)
        changes.update_fibers[keep.id] = (
            kept.with_metadata(mentions=mentions)
            .add_tags(*(tag for f in rest for tag in f.tags))
            .with_salience(max(f.salience for f in group))
        )
        for duplicate in rest:
            changes.delete_fibers.add(duplicate.id)
            changes.merged_into[duplicate.id] = keep.id
            memory = typed.get(duplicate.id)
            if memory is not None and keep.id not in typed:
                changes.put_typed_memories.append(_repoint(memory, keep.id))
            elif memory is not None:
                changes.delete_typed_memories.add(memory.id)
            merged += 1
    return merged


def plan_supersession(fibers: Sequence[Fiber], changes: Changes) -> int:
    """Older statements of a fact that were stored without a link get superseded now."""
    by_subject: defaultdict[str, list[Fiber]] = defaultdict(list)
    for fiber in fibers:
        if fiber.id in changes.delete_fibers:
            continue
        fact = fact_key(fiber.content)
        if fact is not None:
            by_subject[fact.subject].append(changes.fiber(fiber))
    count = 0
    for statements in by_subject.values():
        chain = sorted(statements, key=lambda f: (f.occurred_at, f.id))
        for old, new in itertools.pairwise(chain):
            old_value, new_value = fact_key(old.content), fact_key(new.content)
            if old.superseded_by or old_value == new_value:
                continue
            changes.update_fibers[old.id] = changes.fiber(old).superseded(new.id)
            changes.update_fibers[new.id] = changes.fiber(new).with_metadata(supersedes=old.id)
            count += 1
    return count


def plan_successors(fibers: Sequence[Fiber], changes: Changes) -> int:
    """Versions superseded by a memory being deleted point past it; the count rewritten.

    Storage refuses to delete a fiber another one's ``superseded_by`` names. A merged
    duplicate hands its place to the memory it merged into; any other deleted version to
    its own successor (the next kept version), or to none, which makes the older version
    current again.
    """
    by_id = {fiber.id: changes.fiber(fiber) for fiber in fibers}
    count = 0
    for fiber in fibers:
        current = changes.fiber(fiber)
        if fiber.id in changes.delete_fibers or current.superseded_by not in changes.delete_fibers:
            continue
        successor: str | None = current.superseded_by
        seen: set[str] = set()
        while successor in changes.delete_fibers and successor not in seen:
            seen.add(successor)
            if successor in changes.merged_into:
                successor = changes.merged_into[successor]
            else:
                deleted = by_id.get(successor)
                successor = deleted.superseded_by if deleted else None
        if successor in changes.delete_fibers or successor == fiber.id:
            successor = None
        changes.update_fibers[fiber.id] = replace(current, superseded_by=successor)
        count += 1
    return count


def plan_replay(
    events: Sequence[RecallEvent], fibers: Mapping[str, Fiber], delta: float, changes: Changes
) -> int:
    """Memories recalled together get linked, or their link strengthened.

    The link joins their most telling neurons: the first neuron on each pathway that the
    other memory lacks.
    """
    pairs: Counter[tuple[str, str]] = Counter()
    for event in events:
        top = [fibers[f] for f in event.fiber_ids[:3] if f in fibers]
        for left, right in itertools.combinations(top, 2):
            ends = (_distinct(left, right), _distinct(right, left))
            if ends[0] and ends[1] and ends[0] != ends[1]:
                a, b = sorted((ends[0], ends[1]))
                pairs[(a, b)] += 1
    for (a, b), count in pairs.items():
        synapse = Synapse.create(
            a,
            b,
            SynapseType.CO_OCCURS,
            weight=min(1.0, 0.3 + delta * count),
            direction=Direction.BIDIRECTIONAL,
        )
        changes.ensure_synapses.append(synapse)
        changes.synapse_deltas[synapse.id] = changes.synapse_deltas.get(synapse.id, 0.0) + delta
    return len(pairs)


def plan_maturation(fibers: Sequence[Fiber], min_recalls: int, changes: Changes) -> int:
    """Episodic memories recalled often enough mature into semantic knowledge."""
    count = 0
    for fiber in fibers:
        current = changes.fiber(fiber)
        if (STAGE.get(current.metadata) or "episodic") == "episodic" and (
            current.access_count >= min_recalls
        ):
            changes.update_fibers[fiber.id] = current.with_metadata(stage=SEMANTIC_TAG).add_tags(
                SEMANTIC_TAG
            )
            count += 1
    return count


def plan_promotion(
    fibers: Sequence[Fiber],
    neurons: Mapping[str, Neuron],
    promoted: set[str],
    min_mentions: int,
    now: datetime,
    changes: Changes,
) -> int:
    """A detail repeated across days becomes a semantic concept memory of its own."""
    mentions: defaultdict[str, list[Fiber]] = defaultdict(list)
    for fiber in fibers:
        for neuron_id in fiber.neuron_ids:
            mentions[neuron_id].append(fiber)
    created = 0
    for neuron_id, where in mentions.items():
        neuron = neurons.get(neuron_id)
        days = {f.occurred_at.date() for f in where if f.occurred_at}
        if (
            neuron is None
            or neuron_id in promoted
            or neuron.type not in (NeuronType.ENTITY, NeuronType.CONCEPT, NeuronType.SPATIAL)
            or len(where) < min_mentions
            or len(days) < 2
            or len(where) > 50 * min_mentions  # a hub, not a detail
        ):
            continue
        first, last = min(days), max(days)
        content = (
            f"{neuron.content} came up in {len(where)} memories "
            f"between {first.isoformat()} and {last.isoformat()}"
        )
        changes.insert_fibers.append(
            Fiber.create(
                neuron_ids={neuron_id},
                anchor_neuron_id=neuron_id,
                pathway=[neuron_id],
                content=content,
                tags={SEMANTIC_TAG, "consolidated"},
                metadata={
                    STAGE.name: SEMANTIC_TAG,
                    CONCEPT_OF.name: neuron_id,
                    SOURCES.name: [f.id for f in where[:20]],
                },
                occurred_at=now,
                created_at=now,
            )
        )
        promoted.add(neuron_id)
        created += 1
    return created


def plan_orphans(
    neurons: Sequence[Neuron],
    synapses: Sequence[Synapse],
    fibers: Sequence[Fiber],
    changes: Changes,
) -> tuple[int, int]:
    """Unconnected neurons get linked to their fiber's anchor, or pruned when unbound."""
    connected = {end for s in synapses for end in (s.source_id, s.target_id)}
    connected.update(end for s in changes.ensure_synapses for end in (s.source_id, s.target_id))
    anchor_of: dict[str, str] = {}
    for fiber in fibers:
        if fiber.id in changes.delete_fibers:
            continue
        for neuron_id in fiber.neuron_ids:
            anchor_of.setdefault(neuron_id, fiber.anchor_neuron_id)
    linked = pruned = 0
    for neuron in neurons:
        if neuron.id in connected:
            continue
        anchor = anchor_of.get(neuron.id)
        if anchor is None:
            changes.delete_neurons.add(neuron.id)
            pruned += 1
        elif anchor != neuron.id:
            changes.ensure_synapses.append(
                Synapse.create(
                    anchor,
                    neuron.id,
                    SynapseType.RELATED_TO,
                    weight=0.3,
                    direction=Direction.BIDIRECTIONAL,
                )
            )
            linked += 1
    return linked, pruned


def _distinct(fiber: Fiber, other: Fiber) -> str | None:
    return next((n for n in fiber.pathway if n not in other.neuron_ids), None)


def _repoint(memory: TypedMemory, fiber_id: str) -> TypedMemory:
    return replace(memory, fiber_id=fiber_id)
