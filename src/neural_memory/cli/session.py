"""What the CLI commands do, as async functions over one opened SQLite brain (no printing)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats
from neural_memory.core.fiber_metadata import SPEAKER
from neural_memory.engine.encoder import EncodingResult, MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import DepthLevel, ReflexPipeline, RetrievalResult
from neural_memory.errors import (
    BrainNotFoundError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage.sqlite import SQLiteStorage

if TYPE_CHECKING:
    from neural_memory.engine.lifecycle import DecayReport

__all__ = [
    "BrainSession",
    "brain_named",
    "check_database_path",
    "open_brain",
    "open_database",
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
    _encoder: MemoryEncoder | None = None

    @property
    def path(self) -> str:
        """The database file."""
        return self.storage.path

    @property
    def encoder(self) -> MemoryEncoder:
        """The session's encoder (one, so successive memories form threads)."""
        if self._encoder is None:
            self._encoder = MemoryEncoder(self.storage, self.brain.config)
        return self._encoder

    async def remember(
        self, text: str, *, speaker: str | None = None, when: datetime | None = None
    ) -> EncodingResult:
        """Store one memory (said by ``speaker`` at ``when``, default now)."""
        metadata = {SPEAKER.name: speaker} if speaker else None
        return await self.encoder.encode(text, timestamp=when, metadata=metadata)

    async def remember_many(self, items: list[MemoryInput]) -> int:
        """Store several memories in one transaction; return how many."""
        return len(await self.encoder.encode_many(items))

    async def recall(
        self,
        query: str,
        *,
        max_tokens: int | None = None,
        max_fibers: int = 10,
        depth: DepthLevel | None = None,
        explain: bool = False,
    ) -> RetrievalResult:
        """Answer ``query`` from this brain (the index is built once per session)."""
        if self._pipeline is None:
            self._pipeline = ReflexPipeline(self.storage, self.brain.config)
        return await self._pipeline.query(
            query, depth, max_tokens, max_fibers=max_fibers, explain=explain
        )

    async def stats(self) -> BrainStats:
        """Counts of the brain."""
        return await self.storage.get_stats()

    async def decay(self, *, dry_run: bool) -> DecayReport:
        """Apply (or, with ``dry_run``, only compute) one forgetting pass at the brain's rate."""
        from neural_memory.engine.lifecycle import DecayManager  # noqa: PLC0415 - rarely needed

        manager = DecayManager(decay_rate=self.brain.config.decay_rate)
        return await manager.apply_decay(self.storage, dry_run=dry_run)


def check_database_path(path: str, *, may_create_folder: bool) -> None:
    """Refuse a database path whose folder is missing, unless the folder may be created.

    Raises:
        StorageUnavailableError: The folder does not exist (and may not be created), or is
            not a folder.
    """
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(folder):
        return
    if os.path.exists(folder):
        raise StorageUnavailableError(f"cannot create the directory {folder!r}: not a folder")
    if not may_create_folder:
        raise StorageUnavailableError(
            f"the folder {folder!r} does not exist: create it first or choose another --db"
        )


@asynccontextmanager
async def open_database(
    path: str, *, create: bool, may_create_folder: bool = True
) -> AsyncIterator[SQLiteStorage]:
    """The SQLite file at ``path``, open (created when missing and ``create``)."""
    check_database_path(path, may_create_folder=may_create_folder)
    if not create and not os.path.exists(path):
        raise StorageUnavailableError(f"no database at {path!r}")
    storage = SQLiteStorage(path)
    try:
        await storage.initialize()
        yield storage
    finally:
        await storage.close()


@asynccontextmanager
async def open_brain(
    path: str,
    name: str,
    *,
    create: bool,
    fresh: bool = False,
    may_create_folder: bool = True,
) -> AsyncIterator[BrainSession]:
    """Open the brain called ``name`` in the SQLite file at ``path``; close it afterwards.

    Args:
        path: The database file.
        name: The brain's name (names are unique; two brains of one name are an error).
        create: Create the file and the brain when missing. Without it, a missing file raises
            StorageUnavailableError and a missing brain BrainNotFoundError.
        fresh: Delete the brain first, so it starts empty (needs ``create``).
        may_create_folder: Create the file's folder when missing (else an error).
    """
    if not name.strip():
        raise ValidationError("the brain name must not be empty")
    async with open_database(path, create=create, may_create_folder=may_create_folder) as storage:
        brain = await brain_named(storage, name)
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


async def brain_named(storage: SQLiteStorage, name: str) -> Brain | None:
    """The brain called ``name``, or None (ValidationError when several share the name)."""
    found = [brain for brain in await storage.list_brains() if brain.name == name]
    if len(found) > 1:
        raise ValidationError(
            f"{len(found)} brains are called {name!r}: rename one with `nmem brain rename`"
        )
    return found[0] if found else None


def parse_when(text: str) -> datetime:
    """An ISO 8601 date or date-time; a time without a zone is taken as local time."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise ValidationError(f"--when must be an ISO 8601 date or time, got {text!r}") from exc
    return moment if moment.tzinfo is not None else moment.astimezone()
