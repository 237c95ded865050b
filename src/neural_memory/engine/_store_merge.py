"""What storing a memory changes besides adding it (pure): merges, supersession, new links."""

from __future__ import annotations

import hashlib
import itertools
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import FACT_VALUE, MENTIONS
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.engine.text import tokenize

__all__ = [
    "Plan",
    "apply_supersession",
    "link_threads",
    "link_uses",
    "new_synapses",
    "reinforcements",
    "split_duplicates",
    "stable_fiber_id",
]


@dataclass(frozen=True, slots=True)
class Plan:
    """The neurons, synapses and fiber one memory will add (before looking at storage)."""

    fiber: Fiber
    neurons: tuple[Neuron, ...]
    synapses: tuple[Synapse, ...]
    fact_neuron_id: str | None = None


def stable_fiber_id(text: str, speaker: str | None) -> str:
    """The id of a memory: the same words from the same speaker are the same memory.

    A text without words ("!!!", an emoji) is only the same as the same characters.
    """
    words = " ".join(tokenize(text)) or "\x00" + " ".join(text.split())
    key = "|".join((speaker or "", words)).encode()
    return f"f-{hashlib.blake2b(key, digest_size=16, person=b'nm-fiber').hexdigest()}"


Tail = tuple[str, datetime]
"""A thread's last memory: its fiber id and when it happened."""


def link_threads(
    memories: Sequence[tuple[str, datetime, bool]],
    conversations: Sequence[str | None],
    tails: Mapping[str | None, Tail | None],
    window: timedelta,
) -> tuple[list[str | None], dict[str | None, Tail | None]]:
    """Which memory each memory follows in its conversation (None: none, or one it names).

    ``memories`` are (fiber id, when it happened, whether it names what it follows itself).
    A memory follows the last one of its conversation (``tails``, then the memories before
    it) when it happened no earlier and at most ``window`` later; a memory that names what it
    follows keeps that. Returns what each follows and every conversation's new last memory.
    Worked out before the fibers are made, so no fiber is built twice.
    """
    ends: dict[str | None, Tail | None] = dict(tails)
    follows: list[str | None] = []
    for (fiber_id, when, named), conversation in zip(memories, conversations, strict=True):
        previous = ends.get(conversation)
        linked = (
            previous is not None
            and previous[0] != fiber_id
            and timedelta(0) <= when - previous[1] <= window
            and not named
        )
        follows.append(previous[0] if linked and previous is not None else None)
        ends[conversation] = (fiber_id, when)
    return follows, ends


def split_duplicates(
    plans: Sequence[Plan], stored: Mapping[str, Fiber]
) -> tuple[list[Plan], dict[str, Fiber]]:
    """Plans to store, and stored fibers (by id) that absorb a repeated mention instead."""
    fresh: list[Plan] = []
    merged: dict[str, Fiber] = {}
    first: dict[str, Plan] = {}
    for plan in plans:
        fiber_id = plan.fiber.id
        base = merged.get(fiber_id) or stored.get(fiber_id)
        if base is None and fiber_id in first:
            base = first[fiber_id].fiber
        if base is None:
            first[fiber_id] = plan
            fresh.append(plan)
            continue
        mentions = (MENTIONS.get(base.metadata) or 1) + 1
        seen = plan.fiber.occurred_at or plan.fiber.created_at
        merged[fiber_id] = base.with_metadata(mentions=mentions, last_mentioned=seen.isoformat())
    for fiber_id, fiber in list(merged.items()):
        if fiber_id in first:  # repeated inside this batch: fold into the new fiber
            index = fresh.index(first[fiber_id])
            fresh[index] = replace(first[fiber_id], fiber=fiber)
            del merged[fiber_id]
    return fresh, merged


def apply_supersession(
    plans: Sequence[Plan], older: Mapping[str, Sequence[Fiber]]
) -> tuple[list[Fiber], list[Plan]]:
    """Mark older statements of the same fact superseded by the newest one.

    Returns the stored fibers to update and the plans (a plan stating an older value than a
    stored one is itself stored as superseded). Statements of one fact form a chain, newest
    last: each is ``superseded_by`` the next, and each newer one records what it
    ``supersedes`` in its metadata.
    """
    updates: dict[str, Fiber] = {}
    result = list(plans)
    stating: dict[str, list[int]] = {}  # fact neuron id -> the plans stating it, in order
    for index, plan in enumerate(plans):
        if plan.fact_neuron_id:
            stating.setdefault(plan.fact_neuron_id, []).append(index)
    for fact_id, mine in stating.items():
        stored = [f for f in older.get(fact_id, ()) if f.superseded_by is None]
        chain = sorted(
            [*stored, *(result[i].fiber for i in mine)], key=lambda f: (f.occurred_at, f.id)
        )
        for old, new in itertools.pairwise(chain):
            if FACT_VALUE.get(old.metadata) == FACT_VALUE.get(new.metadata):
                continue
            updates[old.id] = updates.get(old.id, old).superseded(new.id)
            updates[new.id] = updates.get(new.id, new).with_metadata(supersedes=old.id)
        for i in mine:
            fiber_id = result[i].fiber.id
            if fiber_id in updates:
                result[i] = replace(result[i], fiber=updates.pop(fiber_id))
    return list(updates.values()), result


def link_uses(plans: Sequence[Plan]) -> dict[str, int]:
    """How many of the plans use each link, by synapse id (in order of first use)."""
    return Counter(synapse.id for plan in plans for synapse in plan.synapses)


def new_synapses(
    uses: Mapping[str, int], created: Iterable[Synapse], delta: float
) -> tuple[Synapse, ...]:
    """The synapses the plans create (``created``: those storage did not hold when planned).

    A link used by several of the plans (``uses``) starts reinforced once (the first use
    creates it). Links storage holds already are only reinforced (see :func:`reinforcements`).
    """
    return tuple(s.reinforce(delta, at=s.created_at) if uses[s.id] > 1 else s for s in created)


def reinforcements(uses: Mapping[str, int], delta: float) -> tuple[tuple[str, float], ...]:
    """A delta for every link the plans use: it moves only the links stored before the batch.

    So a link that exists is reinforced once per batch, and two processes creating the same
    link at once leave it created once and reinforced once (no lost reinforcement). In id
    order (deterministic).
    """
    return tuple((sid, delta) for sid in sorted(uses))
