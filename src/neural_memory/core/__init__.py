"""The immutable data model of NeuralMemory (no I/O)."""

from neural_memory.core.alert import Alert, AlertSeverity, AlertStatus, AlertType
from neural_memory.core.brain import Brain, BrainConfig
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.events import BrainStats, ChangeKind, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron, NeuronType, neuron_key, stable_neuron_id
from neural_memory.core.project import Project
from neural_memory.core.synapse import Direction, Synapse, SynapseType, stable_synapse_id
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory

__all__ = [
    "Alert",
    "AlertSeverity",
    "AlertStatus",
    "AlertType",
    "Brain",
    "BrainConfig",
    "BrainStats",
    "ChangeKind",
    "ChangeRecord",
    "Direction",
    "Fiber",
    "MemoryType",
    "Neuron",
    "NeuronType",
    "Priority",
    "Project",
    "RecallEvent",
    "Synapse",
    "SynapseType",
    "TypedMemory",
    "as_utc",
    "neuron_key",
    "stable_neuron_id",
    "stable_synapse_id",
    "utcnow",
]
