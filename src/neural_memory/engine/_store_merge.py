"""What storing a memory changes besides adding it: duplicate merging and supersession (pure)."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import FACT_VALUE, FOLLOWS, MENTIONS
from neural_memory.core.neuron import Neuron
from neural_memory.core.synapse import Synapse
from neural_memory.engine.text import tokenize

__all__ = [
    "Plan",
    "apply_supersession",
    "link_threads",
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
    """The id of a memory: the same words from the same speaker are the same memory."""
    key = "|".join((speaker or "", " ".join(tokenize(text)))).encode()
    return f"f-{hashlib.blake2b(key, digest_size=16, person=b'nm-fiber').hexdigest()}"


Tail = tuple[str, datetime]
"""A thread's last memory: its fiber id and when it happened."""


def link_threads(
    plans: Sequence[Plan],
    conversations: Sequence[str | None],
    tails: Mapping[str | None, Tail | None],
    window: timedelta,
) -> tuple[list[Plan], dict[str | None, Tail | None]]:
    """Record in each memory which memory it follows in its conversation.

    A memory follows the last one of its conversation (``tails``, then the plans before it)
    when it happened no earlier and at most ``window`` later; a memory that names what it
    follows keeps that. Returns the plans and every conversation's new last memory.
    """
    ends: dict[str | None, Tail | None] = dict(tails)
    linked: list[Plan] = []
    for plan, conversation in zip(plans, conversations, strict=True):
        fiber = plan.fiber
        when = fiber.occurred_at or fiber.created_at
        previous = ends.get(conversation)
        if (
            previous is not None
            and previous[0] != fiber.id
            and timedelta(0) <= when - previous[1] <= window
            and FOLLOWS.get(fiber.metadata) is None
        ):
            fiber = fiber.with_metadata(follows=previous[0])
        linked.append(replace(plan, fiber=fiber))
        ends[conversation] = (fiber.id, when)
    return linked, ends


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
    for fact_id in dict.fromkeys(p.fact_neuron_id for p in plans if p.fact_neuron_id):
        stored = [f for f in older.get(fact_id, ()) if f.superseded_by is None]
        mine = [i for i, p in enumerate(result) if p.fact_neuron_id == fact_id]
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
