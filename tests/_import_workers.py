"""Functions run in separate (spawned) processes by ``test_import_processes.py``."""

from __future__ import annotations

import asyncio
from multiprocessing.synchronize import Barrier
from pathlib import Path

from neural_memory.errors import AlreadyExistsError
from neural_memory.sharing import BrainImporter
from neural_memory.storage import RedisStorage, SQLiteStorage, Storage


def open_storage(target: str) -> Storage:
    """``sqlite:<path>`` or ``redis:<namespace>@<url>``."""
    kind, _, rest = target.partition(":")
    if kind == "sqlite":
        return SQLiteStorage(rest)
    namespace, _, url = rest.partition("@")
    return RedisStorage(url, namespace=namespace)


def import_snapshot(
    target: str, snapshot: str, brain_id: str, outcome: str, start: Barrier
) -> None:
    """Import the snapshot file into ``brain_id``; write "ok" or "exists" to ``outcome``."""
    asyncio.run(_import(target, snapshot, brain_id, outcome, start))


async def _import(target: str, snapshot: str, brain_id: str, outcome: str, start: Barrier) -> None:
    text = Path(snapshot).read_text(encoding="utf-8")
    async with open_storage(target) as storage:
        start.wait(timeout=60)
        try:
            await BrainImporter().import_brain(storage, text, brain_id)
        except AlreadyExistsError:
            Path(outcome).write_text("exists", encoding="utf-8")
            return
    Path(outcome).write_text("ok", encoding="utf-8")


def import_until_killed(target: str, snapshot: str, brain_id: str, started: str) -> None:
    """Import the snapshot, after writing ``started``; the test kills the process meanwhile."""
    asyncio.run(_import_until_killed(target, snapshot, brain_id, started))


async def _import_until_killed(target: str, snapshot: str, brain_id: str, started: str) -> None:
    importer = BrainImporter()
    parsed = importer.from_json(Path(snapshot).read_text(encoding="utf-8"))
    async with open_storage(target) as storage:
        Path(started).write_text("importing", encoding="utf-8")
        await importer.import_brain(storage, parsed, brain_id)
