"""Lifecycle: forgetting (decay) and strengthening (reinforcement) of memories."""

from neural_memory.engine.lifecycle.curves import decay_factor, fiber_stability_days, retention
from neural_memory.engine.lifecycle.decay import DecayManager, DecayReport
from neural_memory.engine.lifecycle.reinforcement import ReinforcementManager, ReinforcementReport

__all__ = [
    "DecayManager",
    "DecayReport",
    "ReinforcementManager",
    "ReinforcementReport",
    "decay_factor",
    "fiber_stability_days",
    "retention",
]
