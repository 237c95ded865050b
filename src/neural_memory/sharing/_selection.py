"""Temporarily select a brain on a storage, restoring the caller's selection afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from neural_memory.errors import BrainNotSetError
from neural_memory.storage.base import Storage

__all__ = ["selected_brain"]


@asynccontextmanager
async def selected_brain(storage: Storage, brain_id: str) -> AsyncIterator[None]:
    """Select ``brain_id`` for the block, then restore the previous selection (or none).

    The selection is per storage object: other tasks using the same storage object during
    the block see ``brain_id`` too.
    """
    try:
        previous: str | None = storage.brain_id
    except BrainNotSetError:
        previous = None
    storage.set_brain(brain_id)
    try:
        yield
    finally:
        if previous is not None:
            storage.set_brain(previous)
        else:
            storage._brain_id = None  # Storage offers no public way to deselect a brain
