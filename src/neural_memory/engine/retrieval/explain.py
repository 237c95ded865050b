"""Why a memory was recalled: the activation path from the query's anchors to it (pure).

Recall lights up *anchor* neurons (the query's words and names) and spreads activation from
them through synapses and through the memories (fibers) that bind several neurons. This
module retraces that spread: one bounded breadth-first search from every anchor at once over
the index's graph, then, for each recalled memory, the shortest path from an anchor to one of
the memory's own neurons. A hop is either a *synapse* (one neuron linked to another) or a
*memory* (two neurons bound by the same earlier memory). No I/O: the graph is passed in as
plain sequences, the same ones spreading activation runs on.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from neural_memory.engine.retrieval.index import BrainIndex

__all__ = [
    "Explanation",
    "HopKind",
    "PathStep",
    "RowStep",
    "SearchBounds",
    "activation_paths",
    "explain_rows",
    "neuron_ids",
    "relabel",
]


class HopKind(StrEnum):
    """How one step of an activation path was reached."""

    ANCHOR = "anchor"
    """The start: a neuron the query itself lit up."""
    SYNAPSE = "synapse"
    """Through a synapse from the previous neuron."""
    MEMORY = "memory"
    """Through a memory that binds the previous neuron and this one."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SearchBounds:
    """How far and how wide the path search may go (it must stay cheap on hub neurons).

    Attributes:
        max_hops: Longest path, in hops after the anchor.
        max_neurons: Neurons visited at most, over the whole search.
        fibers_per_neuron: Memories followed out of one neuron (the first ones stored).
    """

    max_hops: int = 4
    max_neurons: int = 20_000
    fibers_per_neuron: int = 64


@dataclass(frozen=True, slots=True)
class RowStep:
    """One step of a path in index rows: the neuron reached, how, and through which memory."""

    neuron: int
    via: HopKind
    fiber: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PathStep:
    """One step of an activation path, in ids and words.

    Attributes:
        neuron_id: The neuron reached.
        label: Its text ("Alice", "deploy", "2024-05-07").
        via: How it was reached from the previous step.
        through_memory: For a ``memory`` hop, the id of the memory binding both neurons.
    """

    neuron_id: str
    label: str
    via: HopKind
    through_memory: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Explanation:
    """Why one memory was recalled, beyond its scores.

    Attributes:
        path: From an anchor neuron to a neuron of the memory, anchor first. Empty when no
            anchor reaches the memory within the search bounds: then it was recalled by its
            words (lexical) or meaning (semantic) alone.
        anchors: Labels of the query's anchor neurons the memory itself contains.
    """

    path: tuple[PathStep, ...]
    anchors: tuple[str, ...]

    @property
    def hops(self) -> int:
        """Hops from the anchor to the memory (0: the memory holds an anchor; -1: no path)."""
        return len(self.path) - 1 if self.path else -1


def activation_paths(
    *,
    anchors: Sequence[int],
    targets: Sequence[Sequence[int]],
    fiber_neurons: Sequence[Sequence[int]],
    neuron_fibers: Sequence[Sequence[int]],
    adjacency: Sequence[Mapping[int, float]],
    bounds: SearchBounds = SearchBounds(),
    skip_fibers: Container[int] = frozenset(),
) -> list[tuple[RowStep, ...]]:
    """For each target (the neuron rows of one recalled memory), its shortest anchor path.

    Args:
        anchors: Neuron rows the query lit up.
        targets: For each recalled memory, its neuron rows.
        fiber_neurons: Fiber row -> its neuron rows.
        neuron_fibers: Neuron row -> fiber rows binding it.
        adjacency: Neuron row -> {linked neuron row: synapse weight}.
        bounds: Limits of the search.
        skip_fibers: Fiber rows not to travel through (deleted memories).

    Returns:
        One path per target, anchor first; an empty tuple when none was found.
    """
    parents = _search(anchors, fiber_neurons, neuron_fibers, adjacency, bounds, skip_fibers)
    return [_best_path(parents, rows) for rows in targets]


def _search(
    anchors: Sequence[int],
    fiber_neurons: Sequence[Sequence[int]],
    neuron_fibers: Sequence[Sequence[int]],
    adjacency: Sequence[Mapping[int, float]],
    bounds: SearchBounds,
    skip_fibers: Container[int],
) -> dict[int, tuple[RowStep, int, int]]:
    """Breadth-first from every anchor: neuron row -> (its step, parent row, depth)."""
    parents: dict[int, tuple[RowStep, int, int]] = {
        a: (RowStep(a, HopKind.ANCHOR), -1, 0) for a in anchors
    }
    queue = deque(dict.fromkeys(anchors))
    while queue and len(parents) < bounds.max_neurons:
        row = queue.popleft()
        depth = parents[row][2]
        if depth >= bounds.max_hops:
            continue
        for step in _neighbours(row, fiber_neurons, neuron_fibers, adjacency, bounds, skip_fibers):
            if step.neuron not in parents:
                parents[step.neuron] = (step, row, depth + 1)
                queue.append(step.neuron)
    return parents


def _neighbours(
    row: int,
    fiber_neurons: Sequence[Sequence[int]],
    neuron_fibers: Sequence[Sequence[int]],
    adjacency: Sequence[Mapping[int, float]],
    bounds: SearchBounds,
    skip_fibers: Container[int],
) -> list[RowStep]:
    """Synapse neighbours strongest first, then neurons sharing a memory with ``row``."""
    linked = sorted(adjacency[row].items(), key=lambda item: (-item[1], item[0]))
    steps = [RowStep(n, HopKind.SYNAPSE) for n, weight in linked if weight > 0]
    for fiber in neuron_fibers[row][: bounds.fibers_per_neuron]:
        if fiber in skip_fibers:
            continue
        steps.extend(RowStep(n, HopKind.MEMORY, fiber) for n in fiber_neurons[fiber] if n != row)
    return steps


def _best_path(
    parents: Mapping[int, tuple[RowStep, int, int]], rows: Sequence[int]
) -> tuple[RowStep, ...]:
    """The path to the memory's neuron nearest an anchor (ties: the memory's first neuron)."""
    reached = [(parents[r][2], i, r) for i, r in enumerate(rows) if r in parents]
    if not reached:
        return ()
    _, _, row = min(reached)
    path: list[RowStep] = []
    while row >= 0:
        step, parent, _ = parents[row]
        path.append(step)
        row = parent
    return tuple(reversed(path))


def explain_rows(
    index: BrainIndex,
    anchors: Sequence[int],
    rows: Sequence[int],
    bounds: SearchBounds = SearchBounds(),
) -> list[Explanation]:
    """The explanation of each recalled fiber row of ``index`` for the query's ``anchors``."""
    paths = activation_paths(
        anchors=anchors,
        targets=[index.fibers[r].neuron_rows for r in rows],
        fiber_neurons=index.fiber_neuron_view(),
        neuron_fibers=index.neurons.fibers,
        adjacency=index.neurons.adjacency,
        bounds=bounds,
        skip_fibers=_DeadFibers(index),
    )
    anchor_set = set(anchors)
    return [
        Explanation(
            path=tuple(_step(index, step) for step in path),
            anchors=tuple(_label(index, n) for n in index.fibers[r].neuron_rows if n in anchor_set),
        )
        for r, path in zip(rows, paths, strict=True)
    ]


def _label(index: BrainIndex, row: int) -> str:
    """A neuron's id: the index keeps no text; :func:`relabel` puts the words in."""
    return index.neurons.ids[row]


def neuron_ids(explanations: Sequence[Explanation]) -> set[str]:
    """Every neuron the explanations name (to look their words up)."""
    return {step.neuron_id for e in explanations for step in e.path} | {
        anchor for e in explanations for anchor in e.anchors
    }


def relabel(explanations: Sequence[Explanation], labels: Mapping[str, str]) -> list[Explanation]:
    """The explanations with each neuron's words (``labels``: neuron id -> text) as labels."""
    return [
        Explanation(
            path=tuple(
                replace(step, label=labels.get(step.neuron_id, step.label)) for step in e.path
            ),
            anchors=tuple(labels.get(anchor, anchor) for anchor in e.anchors),
        )
        for e in explanations
    ]


def _step(index: BrainIndex, step: RowStep) -> PathStep:
    return PathStep(
        neuron_id=index.neurons.ids[step.neuron],
        label=_label(index, step.neuron),
        via=step.via,
        through_memory=index.fibers[step.fiber].id if step.fiber is not None else None,
    )


class _DeadFibers(Container[int]):
    """Fiber rows of deleted memories, looked up on demand (no scan of the whole index)."""

    def __init__(self, index: BrainIndex) -> None:
        self._index = index

    def __contains__(self, row: object) -> bool:
        return isinstance(row, int) and not self._index.fibers[row].alive
