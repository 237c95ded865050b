"""ReinforcementManager: strengthen what recall used (Hebbian learning, LTP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from neural_memory.core._validation import require_unit
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["ReinforcementManager", "ReinforcementReport"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReinforcementReport:
    """What one reinforcement strengthened."""

    neurons_reinforced: int
    synapses_reinforced: int
    """Synapse ids submitted (ids the storage does not know are skipped by it)."""
    fibers_conducted: int


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

        Unknown ids are skipped. Synapse weights move atomically (safe across processes).
        """
        moment = as_utc(at) if at else utcnow()
        delta = self.reinforcement_delta
        neurons = await storage.get_neurons(activated_neurons) if activated_neurons else {}
        fibers = await storage.get_fibers(conducted_fibers) if conducted_fibers else {}
        batch = WriteBatch(
            update_neurons=tuple(n.accessed(delta=delta, at=moment) for n in neurons.values()),
            synapse_deltas=tuple((sid, delta) for sid in dict.fromkeys(activated_synapses)),
            deltas_at=moment,
            update_fibers=tuple(f.conduct(conducted_at=moment) for f in fibers.values()),
        )
        await storage.write(batch)
        return ReinforcementReport(
            neurons_reinforced=len(neurons),
            synapses_reinforced=len(batch.synapse_deltas),
            fibers_conducted=len(fibers),
        )
