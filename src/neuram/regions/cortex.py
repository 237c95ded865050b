"""The long-term regions: Neocortex, Cerebellum and BasalGanglia (views of the stores)."""

from __future__ import annotations

from typing import ClassVar

from neural_memory.errors import ValidationError
from neuram.engram import BASAL_GANGLIA, CEREBELLUM, NEOCORTEX, Engram, MemoryType
from neuram.forgetting import Moment, current_strength
from neuram.regions.longterm import LongTermMemory

__all__ = ["BasalGanglia", "Cerebellum", "LongTermRegion", "Neocortex", "region_for"]


class LongTermRegion:
    """A long-term store: the engrams of some memory types, kept in the engine's storage.

    Consolidation into the region multiplies an engram's stability by ``stability_factor``.

    Args:
        memory: The long-term stores (shared by every region of a Brain).
    """

    region: ClassVar[str]
    memory_types: ClassVar[frozenset[MemoryType]]
    stability_factor: ClassVar[float]

    def __init__(self, memory: LongTermMemory) -> None:
        self._memory = memory

    @classmethod
    def consolidated_stability(cls, engram: Engram) -> float:
        """The stability ``engram`` gets when sleep consolidates it into this region."""
        return engram.stability * cls.stability_factor

    async def engrams(self) -> list[Engram]:
        """Every engram stored in this region, oldest first."""
        return await self._memory.engrams(self.region)

    async def get(self, engram_id: str) -> Engram | None:
        """The engram with this id if this region holds it, else None."""
        engram = await self._memory.get(engram_id)
        return engram if engram is not None and engram.region == self.region else None

    async def count(self) -> int:
        """How many engrams this region holds."""
        return len(await self.engrams())


class Neocortex(LongTermRegion):
    """Long-term semantic and episodic memory; consolidation doubles stability."""

    region = NEOCORTEX
    memory_types = frozenset({MemoryType.SEMANTIC, MemoryType.EPISODIC})
    stability_factor = 2.0


class Cerebellum(LongTermRegion):
    """Procedural memory - skills and workflows.

    Consolidation makes them 50x as stable, so a learned skill survives weeks unpractised.
    """

    region = CEREBELLUM
    memory_types = frozenset({MemoryType.PROCEDURAL})
    stability_factor = 50.0


class BasalGanglia(LongTermRegion):
    """Habit memory, modulated by a dopamine-style reward signal.

    A reward ``r`` (-1 to 1) is applied once, when it arrives: stability is multiplied by
    ``1 + r`` (at least 0.25) and synaptic strength moves by ``0.5 x r``. The memory type and
    salience are never touched. Consolidation doubles stability, as in the Neocortex.
    """

    region = BASAL_GANGLIA
    memory_types = frozenset({MemoryType.HABITUAL})
    stability_factor = 2.0

    @staticmethod
    def modulate(engram: Engram, reward: float) -> Engram:
        """Apply one reward signal to ``engram`` (in place) and return it."""
        if isinstance(reward, bool) or not isinstance(reward, int | float):
            raise ValidationError("reward must be a number")
        if not -1.0 <= reward <= 1.0:
            raise ValidationError(f"reward must be between -1 and 1, got {reward}")
        engram.reward = float(reward)
        engram.stability *= max(0.25, 1.0 + reward)
        engram.synaptic_strength = min(1.0, max(0.05, engram.synaptic_strength + 0.5 * reward))
        return engram

    @staticmethod
    def habit_strength(engram: Engram, now: Moment | None = None) -> float:
        """How strongly the habit drives behaviour now: synaptic strength x retention."""
        return current_strength(engram, now)


_REGIONS: dict[MemoryType, type[LongTermRegion]] = {
    memory_type: region
    for region in (Neocortex, Cerebellum, BasalGanglia)
    for memory_type in region.memory_types
}


def region_for(memory_type: MemoryType) -> type[LongTermRegion]:
    """The long-term region that consolidates memories of ``memory_type``."""
    return _REGIONS[MemoryType(memory_type)]
