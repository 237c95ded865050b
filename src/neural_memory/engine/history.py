"""Supersession history: every stated value of a fact, oldest first."""

from __future__ import annotations

from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import SUPERSEDES
from neural_memory.errors import NotFoundError
from neural_memory.storage.base import Storage

__all__ = ["current_version", "supersession_chain"]

_MAX_CHAIN = 1_000


async def supersession_chain(storage: Storage, fiber_id: str) -> list[Fiber]:
    """All versions of the fact ``fiber_id`` states, oldest first (itself included)."""
    fiber = await storage.get_fiber(fiber_id)
    if fiber is None:
        raise NotFoundError(f"fiber {fiber_id!r} does not exist")
    older: list[Fiber] = []
    cursor = fiber
    while (previous := SUPERSEDES.get(cursor.metadata)) and len(older) < _MAX_CHAIN:
        found = await storage.get_fiber(previous)
        if found is None or found in older:
            break
        older.append(found)
        cursor = found
    newer: list[Fiber] = []
    cursor = fiber
    while cursor.superseded_by and len(newer) < _MAX_CHAIN:
        found = await storage.get_fiber(cursor.superseded_by)
        if found is None or found in newer:
            break
        newer.append(found)
        cursor = found
    return [*reversed(older), fiber, *newer]


async def current_version(storage: Storage, fiber_id: str) -> Fiber:
    """The newest version of the fact ``fiber_id`` states."""
    return (await supersession_chain(storage, fiber_id))[-1]
