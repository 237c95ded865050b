"""Storage backends: one async interface (:class:`Storage`), several implementations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from neural_memory.storage.base import Storage
from neural_memory.storage.batch import FiberVector, WriteBatch
from neural_memory.storage.memory import InMemoryStorage
from neural_memory.storage.redis import RedisStorage
from neural_memory.storage.sqlite import SQLiteStorage

if TYPE_CHECKING:
    from neural_memory.storage.postgres import PostgresStorage
    from neural_memory.storage.shared import SharedStorage

__all__ = [
    "FiberVector",
    "InMemoryStorage",
    "PostgresStorage",
    "RedisStorage",
    "SQLiteStorage",
    "SharedStorage",
    "Storage",
    "WriteBatch",
]


def __getattr__(name: str) -> Any:
    # SharedStorage is imported on first use: it pulls in the HTTP wire codec.
    if name == "SharedStorage":
        from neural_memory.storage.shared import SharedStorage  # noqa: PLC0415

        return SharedStorage
    # PostgresStorage is imported on first use: it needs the optional asyncpg package.
    if name == "PostgresStorage":
        from neural_memory.storage.postgres import PostgresStorage  # noqa: PLC0415

        return PostgresStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
