"""ReinforcementManager: strengthen what recall used (Hebbian learning, LTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from neural_memory.core._validation import require_unit
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["ReinforcementManager", "ReinforcementReport", "reinforcement_batch"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReinforcementReport:
    """What one reinforcement strengthened."""

    neurons_reinforced: int
    synapses_reinforced: int
    """Synapse ids submitted (ids the storage does not know are skipped by it)."""
    fibers_conducted: int


def reinforcement_batch(
    delta: float,
    *,
    neuron_ids: Sequence[str],
    synapse_ids: Sequence[str],
    fiber_ids: Sequence[str],
    at: datetime | None = None,
) -> WriteBatch:
    """The deltas that strengthen these neurons and synapses and let these fibers conduct.

    Each id counts once. Only deltas, no whole records: the storage moves the stored
    counters in place (atomic across processes), and the batch costs no record check.
    """
    return WriteBatch(
        neuron_accesses=tuple((nid, delta) for nid in dict.fromkeys(neuron_ids)),
        synapse_deltas=tuple((sid, delta) for sid in dict.fromkeys(synapse_ids)),
        fiber_conducts=tuple(dict.fromkeys(fiber_ids)),
        deltas_at=as_utc(at) if at else utcnow(),
    )


class ReinforcementManager:
    """Strengthens accessed neurons, synapses and fibers in one transaction.

    Args:
        reinforcement_delta: Strength added to each neuron activation and synapse weight.
    """

    def __init__(self, reinforcement_delta: float = 0.05) -> None:
        self.reinforcement_delta = require_unit(reinforcement_delta, "reinforcement_delta")

    async def reinforce(
        self,
        storage: Storage,
        activated_neurons: Sequence[str] = (),
        activated_synapses: Sequence[str] = (),
        *,
        conducted_fibers: Sequence[str] = (),
        at: datetime | None = None,
    ) -> ReinforcementReport:
        """Strengthen these neurons and synapses and let these fibers conduct.

        Unknown ids are skipped. Everything moves as deltas, so a stale copy never
        overwrites a newer count (atomic across processes, except neuron and fiber counts on
        Redis: see ``storage/_accesses.py``).
        """
        neurons = await storage.get_neurons(activated_neurons) if activated_neurons else {}
        fibers = await storage.get_fibers(conducted_fibers) if conducted_fibers else {}
        batch = reinforcement_batch(
            self.reinforcement_delta,
            neuron_ids=list(neurons),
            synapse_ids=activated_synapses,
            fiber_ids=list(fibers),
            at=at,
        )
        await storage.write(batch)
        return ReinforcementReport(
            neurons_reinforced=len(neurons),
            synapses_reinforced=len(batch.synapse_deltas),
            fibers_conducted=len(fibers),
        )
