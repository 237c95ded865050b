"""What the CLI commands do, as async functions over one opened SQLite brain (no printing)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats
from neural_memory.engine.encoder import EncodingResult, MemoryEncoder, MemoryInput
from neural_memory.engine.lifecycle import DecayManager, DecayReport
from neural_memory.engine.retrieval import ReflexPipeline, RetrievalResult
from neural_memory.errors import BrainNotFoundError, StorageUnavailableError, ValidationError
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = [
    "BrainSession",
    "open_brain",
    "parse_when",
]


@dataclass(slots=True)
class BrainSession:
    """One brain of one SQLite file, opened for the duration of a command.

    Attributes:
        storage: The open storage, with ``brain`` selected.
        brain: The brain the command works on.
        created: True when the brain was created by this session.
    """

    storage: SQLiteStorage
    brain: Brain
    created: bool
    _pipeline: ReflexPipeline | None = None

    @property
    def path(self) -> str:
        """The database file."""
        return self.storage.path

    async def remember(
        self, text: str, *, speaker: str | None = None, when: datetime | None = None
    ) -> EncodingResult:
        """Store one memory (said by ``speaker`` at ``when``, default now)."""
        metadata = {"speaker": speaker} if speaker else None
        encoder = MemoryEncoder(self.storage, self.brain.config)
        return await encoder.encode(text, timestamp=when, metadata=metadata)

    async def remember_many(self, items: list[MemoryInput]) -> int:
        """Store several memories in one transaction; return how many."""
        encoder = MemoryEncoder(self.storage, self.brain.config)
        return len(await encoder.encode_many(items))

    async def recall(
        self, query: str, *, max_tokens: int | None = None, max_fibers: int = 10
    ) -> RetrievalResult:
        """Answer ``query`` from this brain (the index is built once per session)."""
        if self._pipeline is None:
            self._pipeline = ReflexPipeline(self.storage, self.brain.config)
        return await self._pipeline.query(query, max_tokens=max_tokens, max_fibers=max_fibers)

    async def stats(self) -> BrainStats:
        """Counts of the brain."""
        return await self.storage.get_stats()

    async def decay(self, *, dry_run: bool) -> DecayReport:
        """Apply (or, with ``dry_run``, only compute) one forgetting pass at the brain's rate."""
        manager = DecayManager(decay_rate=self.brain.config.decay_rate)
        return await manager.apply_decay(self.storage, dry_run=dry_run)


@asynccontextmanager
async def open_brain(
    path: str, name: str, *, create: bool, fresh: bool = False
) -> AsyncIterator[BrainSession]:
    """Open the brain called ``name`` in the SQLite file at ``path``; close it afterwards.

    Args:
        path: The database file.
        name: The brain's name (looked up by name; the first match, oldest first).
        create: Create the file and the brain when missing. Without it, a missing file raises
            StorageUnavailableError and a missing brain BrainNotFoundError.
        fresh: Delete the brain first, so it starts empty (needs ``create``).
    """
    if not name.strip():
        raise ValidationError("the brain name must not be empty")
    if not create and not os.path.exists(path):
        raise StorageUnavailableError(f"no database at {path!r}")
    storage = SQLiteStorage(path)
    try:
        await storage.initialize()
        brain = await _find_brain(storage, name)
        if brain is not None and fresh:
            await storage.delete_brain(brain.id)
            brain = None
        created = brain is None
        if brain is None:
            if not create:
                raise BrainNotFoundError(f"no brain named {name!r} in {path!r}")
            brain = Brain.create(name)
            await storage.save_brain(brain)
        storage.set_brain(brain.id)
        yield BrainSession(storage, brain, created)
    finally:
        await storage.close()


async def _find_brain(storage: SQLiteStorage, name: str) -> Brain | None:
    for brain in await storage.list_brains():
        if brain.name == name:
            return brain
    return None


def parse_when(text: str) -> datetime:
    """An ISO 8601 date or date-time; a time without a zone is taken as local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationError(f"--when must be an ISO 8601 date or time, got {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.astimezone()
