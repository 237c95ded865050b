"""Storage backends: one async interface (:class:`Storage`), several implementations."""

from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.memory import InMemoryStorage
from neural_memory.storage.redis import RedisStorage
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = ["InMemoryStorage", "RedisStorage", "SQLiteStorage", "Storage", "WriteBatch"]
