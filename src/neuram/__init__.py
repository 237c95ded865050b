"""neuram: memory for AI agents that works the way your brain does.

Brain regions are Python objects: a SensoryCortex whose raw input fades in 3 seconds, a
Thalamus that filters it, an Amygdala that tags salience, a PrefrontalCortex holding 7 +/- 2
items, a Hippocampus that completes patterns, and long-term Neocortex, Cerebellum and
BasalGanglia stores kept in Redis (or an embedded SQLite file). Memories (engrams) fade as
``R(t) = e^(-t/S)``, grow more stable each time they are recalled, and a sleep cycle
consolidates what matters and prunes what faded. Built on the ``neural_memory`` engine.
"""

from neuram.brain import Brain
from neuram.engram import Engram, MemoryType
from neuram.forgetting import compute_retention, time_until_forgotten
from neuram.regions.amygdala import Amygdala
from neuram.regions.cortex import BasalGanglia, Cerebellum, Neocortex
from neuram.regions.hippocampus import Hippocampus
from neuram.regions.prefrontal import PrefrontalCortex
from neuram.regions.sensory import SensoryCortex
from neuram.regions.sleep import SleepCycle
from neuram.regions.thalamus import Thalamus

__all__ = [
    "Amygdala",
    "BasalGanglia",
    "Brain",
    "Cerebellum",
    "Engram",
    "Hippocampus",
    "MemoryType",
    "Neocortex",
    "PrefrontalCortex",
    "SensoryCortex",
    "SleepCycle",
    "Thalamus",
    "compute_retention",
    "time_until_forgotten",
]
