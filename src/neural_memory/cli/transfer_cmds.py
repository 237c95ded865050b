"""``nmem export`` and ``nmem import``: whole brains to and from files, with progress.

``export`` writes a brain snapshot (docs/export-format.md) to a file or stdout; ``import``
reads one from a file or stdin into a new brain. ``import --from neural-memory PATH`` reads
a neural-memory 4.x SQLite brain instead (:mod:`neural_memory.cli.nm4`) and encodes its
memories again, keeping their dates, tags, types, priorities, expiry and projects.
"""

from __future__ import annotations

import dataclasses
import io
import os
import sys
import uuid
from collections.abc import Sequence
from contextlib import aclosing
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.text import Text

from neural_memory.cli.base import (
    BrainOption,
    DbOption,
    JsonOption,
    app,
    emit,
    err_console,
    model_ready,
    progress,
    reported,
    run,
    settings,
)
from neural_memory.cli.config import Settings
from neural_memory.cli.nm4 import LegacyMemory, read_legacy_brain
from neural_memory.cli.session import BrainSession, brain_named, open_brain, open_database
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory
from neural_memory.engine.encoder import EncodingResult, MemoryInput
from neural_memory.engine.memories import project_named
from neural_memory.errors import AlreadyExistsError, ValidationError
from neural_memory.sharing import BrainExporter, BrainImporter
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = ["export", "import_"]

IMPORT_CHUNK = 1_000
"""Memories encoded per transaction by ``import --from neural-memory`` (one bulk plan each)."""
_READ_CHUNK = 1 << 20


@app.command()
def export(
    output: Annotated[
        str, typer.Argument(help="The file to write; - (default) writes to stdout.")
    ] = "-",
    db: DbOption = None,
    brain: BrainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Export a brain, with every memory, to one JSON snapshot."""
    config = settings(db, brain)
    console = err_console()

    async def work() -> None:
        async with open_brain(config.db, config.brain, create=False) as session:
            with console.status(f"Reading brain {config.brain!r}…"):
                snapshot = await BrainExporter().export(session.storage, session.brain.id)
        text = snapshot.to_json()
        document = {
            "brain": config.brain,
            "file": None if output == "-" else output,
            "memories": len(snapshot.fibers),
            "neurons": len(snapshot.neurons),
            "synapses": len(snapshot.synapses),
            "bytes": len(text.encode()),
        }
        note = Text(f"Exported {len(snapshot.fibers):,} memories of brain {config.brain!r}.")
        if output == "-":  # the snapshot is the output; the note goes to stderr
            sys.stdout.write(text + "\n")
            sys.stdout.flush()
            console.print(note)
        else:
            _write(output, text, console)
            emit(document, as_json=as_json, human=lambda c: c.print(note))

    run(work())


def _write(path: str, text: str, console: Console) -> None:
    data = text.encode()
    try:
        with open(os.path.expanduser(path), "wb") as handle, progress(console) as bar:
            task = bar.add_task("writing", total=len(data))
            for start in range(0, len(data), _READ_CHUNK):
                handle.write(data[start : start + _READ_CHUNK])
                bar.advance(task, len(data[start : start + _READ_CHUNK]))
    except OSError as exc:
        raise ValidationError(f"cannot write {path!r}: {exc.strerror}") from exc


def _read(path: str, console: Console) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        size = os.path.getsize(os.path.expanduser(path))
        buffer = io.BytesIO()
        with open(os.path.expanduser(path), "rb") as handle, progress(console) as bar:
            task = bar.add_task("reading", total=size)
            while chunk := handle.read(_READ_CHUNK):
                buffer.write(chunk)
                bar.advance(task, len(chunk))
        return buffer.getvalue().decode("utf-8")
    except OSError as exc:
        raise ValidationError(f"cannot read {path!r}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ValidationError(f"{path!r} is not UTF-8 text") from exc


@app.command("import")
def import_(
    source: Annotated[
        str, typer.Argument(help="A snapshot file (- reads stdin), or a neural-memory file.")
    ],
    origin: Annotated[
        str,
        typer.Option(
            "--from", help="snapshot (written by `nmem export`) or neural-memory (a 4.x brain)."
        ),
    ] = "snapshot",
    source_brain: Annotated[
        str | None,
        typer.Option("--source-brain", help="neural-memory: which brain of the file (name/id)."),
    ] = None,
    db: DbOption = None,
    brain: Annotated[
        str | None,
        typer.Option("--brain", "-b", help="The new brain's name (default: the source's name)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import a brain into a new brain of the database (its name must be free)."""
    if origin not in {"snapshot", "neural-memory"}:
        with reported():
            raise ValidationError(f"--from must be snapshot or neural-memory, got {origin!r}")
    config = settings(db, None)
    console = err_console()
    if origin == "neural-memory":
        document = run(_import_legacy(source, source_brain, brain, console, config))
    else:
        document = run(_import_snapshot(source, brain, console, config))
    emit(
        document,
        as_json=as_json,
        human=lambda c: c.print(
            Text(
                f"Imported {document['memories']:,} memories into the new brain "
                f"{document['brain']!r}."
                + (
                    f" {document['merged']:,} repeats were merged."
                    if document.get("merged")
                    else ""
                )
            )
        ),
    )


async def _import_snapshot(
    source: str, name: str | None, console: Console, config: Settings
) -> dict[str, Any]:
    text = _read(source, console)
    importer = BrainImporter()
    with console.status("Checking the snapshot…"):
        snapshot = importer.from_json(text)
    new_name = (name or snapshot.brain.name).strip()
    async with open_database(
        config.db, create=True, may_create_folder=config.db_is_default
    ) as storage:
        await _refuse_taken(storage, new_name)
        with progress(console) as bar:
            task = bar.add_task("importing", total=None)

            def advance(stage: str, done: int, total: int) -> None:
                bar.update(task, description=stage, completed=done, total=total)

            result = await importer.import_brain(
                storage, snapshot, _new_id(), name=new_name, progress=advance
            )
    return {"brain": new_name, "brain_id": result.brain_id, "memories": result.fibers,
            "neurons": result.neurons, "synapses": result.synapses}  # fmt: skip


def _new_id() -> str:
    return str(uuid.uuid4())


async def _refuse_taken(storage: SQLiteStorage, name: str) -> None:
    """AlreadyExistsError when a brain of ``storage`` is called ``name``."""
    if await brain_named(storage, name) is not None:
        raise AlreadyExistsError(
            f"a brain called {name!r} already exists: choose another name with --brain"
        )


async def _import_legacy(
    source: str, source_brain: str | None, name: str | None, console: Console, config: Settings
) -> dict[str, Any]:
    with console.status("Reading the neural-memory brain…"):
        legacy = read_legacy_brain(source, source_brain)
    new_name = (name or legacy.name).strip()
    async with open_database(
        config.db, create=True, may_create_folder=config.db_is_default
    ) as storage:
        await _refuse_taken(storage, new_name)
    await model_ready()
    async with open_brain(config.db, new_name, create=True) as session:
        with progress(console) as bar:
            merged = await _encode_legacy(session, legacy.memories, bar)
    return {"brain": new_name, "memories": len(legacy.memories) - merged, "merged": merged,
            "source": str(source)}  # fmt: skip


async def _encode_legacy(
    session: BrainSession, memories: Sequence[LegacyMemory], bar: Progress
) -> int:
    """Encode ``memories`` in chunks with their typed records; return how many merged.

    The next chunk's texts are read while one chunk is embedded and written.
    """
    task = bar.add_task("importing memories", total=len(memories))
    merged = 0
    projects: dict[str, str] = {}
    chunks = [memories[i : i + IMPORT_CHUNK] for i in range(0, len(memories), IMPORT_CHUNK)]
    inputs = ([_input(m) for m in chunk] for chunk in chunks)
    async with aclosing(session.encoder.encode_batches(inputs)) as encoded:
        done = 0
        async for results in encoded:
            chunk, done = chunks[done], done + 1
            merged += await _store_typed(session, chunk, results, projects)
            bar.advance(task, len(chunk))
    return merged


async def _store_typed(
    session: BrainSession,
    chunk: Sequence[LegacyMemory],
    results: Sequence[EncodingResult],
    projects: dict[str, str],
) -> int:
    """Store the typed records of a chunk's new memories; return how many were merged."""
    merged = 0
    typed: list[TypedMemory] = []
    for memory, result in zip(chunk, results, strict=True):
        merged += int(result.merged)
        if memory.memory_type is None or result.merged:
            continue
        project_id = None
        if memory.project:
            if memory.project not in projects:
                found = await project_named(session.storage, memory.project, create=True)
                projects[memory.project] = found.id if found else ""
            project_id = projects[memory.project] or None
        typed.append(_typed(memory, memory.memory_type, result.fiber.id, project_id))
    if typed:
        await session.storage.write(WriteBatch(put_typed_memories=tuple(typed)))
    return merged


def _input(memory: LegacyMemory) -> MemoryInput:
    return MemoryInput(
        text=memory.text,
        timestamp=memory.occurred_at or memory.created_at,
        metadata={"imported_from": "neural-memory", "source_id": memory.source_id},
        tags=memory.tags,
    )


def _typed(
    memory: LegacyMemory, memory_type: MemoryType, fiber_id: str, project_id: str | None
) -> TypedMemory:
    record = TypedMemory.create(
        fiber_id,
        memory_type,
        Priority.NORMAL if memory.priority is None else memory.priority,
        source="neural-memory",
        tags=memory.tags,
        project_id=project_id,
        created_at=memory.created_at,
    )
    return dataclasses.replace(record, expires_at=memory.expires_at)
