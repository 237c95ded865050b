"""NeuralMemory: long-term memory for AI agents that behaves like a brain.

Memories are fibers through a graph of neurons and synapses; recall is spreading
activation; memories fade unless recalled, and idle consolidation keeps what matters.
"""

from neural_memory.core import (
    Brain,
    BrainConfig,
    Direction,
    Fiber,
    Neuron,
    NeuronType,
    Synapse,
    SynapseType,
)
from neural_memory.errors import (
    AlreadyExistsError,
    BrainNotFoundError,
    BrainNotSetError,
    ConfigError,
    EmbeddingError,
    LimitExceededError,
    NeuralMemoryError,
    NotFoundError,
    SnapshotFormatError,
    StorageClosedError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)

__version__ = "0.1.0"

__all__ = [
    "AlreadyExistsError",
    "Brain",
    "BrainConfig",
    "BrainNotFoundError",
    "BrainNotSetError",
    "ConfigError",
    "Direction",
    "EmbeddingError",
    "Fiber",
    "LimitExceededError",
    "NeuralMemoryError",
    "Neuron",
    "NeuronType",
    "NotFoundError",
    "SnapshotFormatError",
    "StorageClosedError",
    "StorageError",
    "StorageUnavailableError",
    "Synapse",
    "SynapseType",
    "ValidationError",
    "__version__",
]
