"""Storage backends: one async interface (:class:`Storage`), several implementations."""

from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.memory import InMemoryStorage

__all__ = ["InMemoryStorage", "Storage", "WriteBatch"]
