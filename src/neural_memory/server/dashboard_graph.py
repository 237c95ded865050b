"""Neighbourhood: the part of a brain's graph around some memories or neurons, bounded.

It grows hop by hop from seed neurons through synapses and through the memories (fibers)
that bind a neuron, until ``limit`` elements (neurons + synapses + memories) are reached.
A hub neuron (a date, a frequent speaker) contributes at most ``fibers_per_neuron``
memories, and one hop looks up the memories of at most ``fiber_lookups`` neurons (one
storage query each), so one hop never explodes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import NeuronType
from neural_memory.core.synapse import Synapse
from neural_memory.server.dashboard_models import GraphEdge, GraphFiber, GraphNode, GraphResponse
from neural_memory.storage.base import Storage

__all__ = ["Neighbourhood"]

_LABEL_CHARS = 80


class Neighbourhood:
    """A bounded neighbourhood of the graph of ``storage``'s current brain."""

    def __init__(
        self,
        storage: Storage,
        *,
        limit: int,
        types: frozenset[NeuronType] | None = None,
        fibers_per_neuron: int = 12,
        frontier_cap: int = 400,
        fiber_lookups: int = 120,
    ) -> None:
        self._storage = storage
        self._limit = limit
        self._types = types
        self._fibers_per_neuron = fibers_per_neuron
        self._frontier_cap = frontier_cap
        self._fiber_lookups = fiber_lookups
        self._neurons: dict[str, GraphNode] = {}
        self._synapses: dict[str, Synapse] = {}
        self._fibers: dict[str, Fiber] = {}
        self._seeds: list[str] = []
        self._frontier: list[str] = []
        self.truncated = False

    @property
    def size(self) -> int:
        """Elements gathered so far."""
        return len(self._neurons) + len(self._synapses) + len(self._fibers)

    def _room(self) -> bool:
        if self.size >= self._limit:
            self.truncated = True
            return False
        return True

    async def seed_neurons(self, neuron_ids: Iterable[str]) -> None:
        """Start from these neurons (unknown ids are ignored)."""
        await self._add_neurons(list(neuron_ids), seeds=True)

    async def seed_fibers(self, fibers: Sequence[Fiber]) -> None:
        """Start from these memories and their neurons."""
        for fiber in fibers:
            self._fibers[fiber.id] = fiber
        await self._add_neurons(
            [n for f in fibers for n in (f.pathway or f.neuron_ids)], seeds=True
        )

    async def grow(self, hops: int) -> None:
        """Add ``hops`` rings of synapses, memories and their neurons."""
        for _ in range(hops):
            frontier, self._frontier = self._frontier[: self._frontier_cap], []
            if not frontier or not self._room():
                return
            await self._through_synapses(frontier)
            await self._through_fibers(frontier)

    async def _through_synapses(self, frontier: list[str]) -> None:
        reached: list[str] = []
        for synapse in await self._storage.get_synapses_for_neurons(frontier):
            if synapse.id in self._synapses:
                continue
            if not self._room():
                break
            self._synapses[synapse.id] = synapse
            reached += [synapse.source_id, synapse.target_id]
        await self._add_neurons(reached)

    async def _through_fibers(self, frontier: list[str]) -> None:
        reached: list[str] = []
        for neuron_id in frontier[: self._fiber_lookups]:
            if not self._room():
                break
            found = await self._storage.find_fibers(neuron_id, limit=self._fibers_per_neuron)
            for fiber in found:
                if fiber.id not in self._fibers and self._room():
                    self._fibers[fiber.id] = fiber
                    reached += fiber.pathway or sorted(fiber.neuron_ids)
        await self._add_neurons(reached)

    async def _add_neurons(self, neuron_ids: list[str], *, seeds: bool = False) -> None:
        wanted = [n for n in dict.fromkeys(neuron_ids) if n not in self._neurons]
        found = await self._storage.get_neurons(wanted) if wanted else {}
        for neuron_id in wanted:
            neuron = found.get(neuron_id)
            if neuron is None or (self._types is not None and neuron.type not in self._types):
                continue
            if not seeds and not self._room():
                break
            self._neurons[neuron_id] = GraphNode(
                id=neuron.id,
                type=neuron.type.value,
                label=neuron.content[:_LABEL_CHARS],
                activation=neuron.activation,
            )
            self._frontier.append(neuron_id)
            if seeds:
                self._seeds.append(neuron_id)

    def response(self) -> GraphResponse:
        """What was gathered: only synapses and memberships between drawn neurons."""
        nodes = self._neurons
        return GraphResponse(
            nodes=list(nodes.values()),
            edges=[
                GraphEdge(
                    id=s.id,
                    source=s.source_id,
                    target=s.target_id,
                    type=s.type.value,
                    weight=s.weight,
                )
                for s in self._synapses.values()
                if s.source_id in nodes and s.target_id in nodes
            ],
            fibers=[
                GraphFiber(
                    id=f.id,
                    label=f.content[:_LABEL_CHARS],
                    neuron_ids=[n for n in sorted(f.neuron_ids) if n in nodes],
                    superseded=f.superseded_by is not None,
                )
                for f in self._fibers.values()
            ],
            seeds=self._seeds,
            truncated=self.truncated,
        )
