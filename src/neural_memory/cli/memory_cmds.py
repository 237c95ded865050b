"""``nmem remember | recall | forget | edit | show | list``: one memory at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from neural_memory.cli import render
from neural_memory.cli.base import (
    BrainOption,
    DbOption,
    FullOption,
    JsonOption,
    app,
    emit,
    in_brain,
    read_text,
    reported,
    settings,
)
from neural_memory.cli.session import BrainSession, parse_when
from neural_memory.core.fiber_metadata import MENTIONS
from neural_memory.core.typed_memory import MemoryType
from neural_memory.engine.memories import (
    EditResult,
    MemoryFilter,
    MemorySpec,
    MemoryView,
    RememberResult,
    edit_memory,
    forget_memory,
    list_memories,
    remember_memory,
    show_memory,
)
from neural_memory.engine.retrieval import DepthLevel
from neural_memory.errors import ValidationError

__all__ = ["edit", "forget", "list_", "recall", "remember", "show"]

_TYPES = ", ".join(t.value for t in MemoryType)
TypeOption = Annotated[
    str | None, typer.Option("--type", "-t", help=f"Memory type: {_TYPES}.", show_default=False)
]


def _memory_type(name: str | None) -> MemoryType | None:
    if name is None:
        return None
    try:
        return MemoryType(name.strip().lower())
    except ValueError:
        raise ValidationError(f"unknown memory type {name!r}; one of: {_TYPES}") from None


@app.command()
def remember(
    text: Annotated[
        str | None, typer.Argument(help="What to remember; - reads it from stdin.")
    ] = None,
    file: Annotated[str | None, typer.Option("--file", "-f", help="Read it from a file.")] = None,
    memory_type: TypeOption = None,
    priority: Annotated[int | None, typer.Option(min=0, max=10, help="Importance 0-10.")] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A label (repeatable).")] = None,
    project: Annotated[str | None, typer.Option(help="Project name (created if new).")] = None,
    expires_in_days: Annotated[
        float | None, typer.Option("--expires-in-days", min=0.001, help="Forget it after.")
    ] = None,
    speaker: Annotated[str | None, typer.Option(help="Who said it.")] = None,
    when: Annotated[
        str | None, typer.Option(help="When it happened (ISO 8601; default now).")
    ] = None,
    db: DbOption = None,
    brain: BrainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Store one memory in a brain (created on first use). Repeats are merged."""
    with reported():
        body = read_text(text, file, "memory text")
        spec = MemorySpec(
            text=body,
            when=parse_when(when) if when is not None else None,
            speaker=speaker,
            memory_type=_memory_type(memory_type),
            priority=priority,
            tags=frozenset(tag or ()),
            project=project,
            expires_in_days=expires_in_days,
            source="cli",
        )
        config = settings(db, brain)

    async def store(session: BrainSession) -> tuple[bool, RememberResult]:
        return session.created, await remember_memory(session.storage, session.encoder, spec)

    created, done = in_brain(config, store, create=True, model=True)
    encoding = done.encoding
    document = {
        "id": encoding.fiber.id,
        "brain": config.brain,
        "new_brain": created,
        "merged": encoding.merged,
        "type": done.typed.memory_type.value if done.typed else None,
        "neurons_created": len(encoding.neurons_created),
        "neurons_shared": len(encoding.neurons_linked),
    }

    def human(console: Console) -> None:
        if encoding.merged:
            console.print(
                Text(
                    f"Already remembered: merged with memory {encoding.fiber.id} "
                    f"(mentioned {MENTIONS.get(encoding.fiber.metadata) or 2} times)."
                )
            )
            return
        note = " (a new brain)" if created else ""
        console.print(Text(f"Remembered in brain {config.brain!r}{note}."))
        console.print(
            Text(
                f"{document['neurons_created']} new neurons, {document['neurons_shared']} "
                "shared with earlier memories",
                style="dim",
            )
        )
        console.print(Text(f"memory id {encoding.fiber.id}", style="dim"))

    emit(document, as_json=as_json, human=human)


_DEPTHS = {d.name.lower(): d for d in DepthLevel}


@app.command()
def recall(
    query: Annotated[str, typer.Argument(help="What to recall; - reads it from stdin.")],
    why: Annotated[
        bool, typer.Option("--why", help="Say why each memory was recalled (scores, path).")
    ] = False,
    depth: Annotated[
        str | None, typer.Option(help="instant, context, habit or deep (default: from query).")
    ] = None,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="Token budget of the context.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Memories to show.")] = 10,
    full: FullOption = False,
    db: DbOption = None,
    brain: BrainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Recall the memories of a brain that answer QUERY."""
    with reported():
        text = read_text(query, None, "query")
        level = _DEPTHS.get(depth.lower()) if depth else None
        if depth and level is None:
            raise ValidationError(f"--depth must be one of {', '.join(_DEPTHS)}, got {depth!r}")
        config = settings(db, brain)
    result = in_brain(
        config,
        lambda session: session.recall(
            text, max_tokens=max_tokens, max_fibers=limit, depth=level, explain=why
        ),
        model=True,
    )

    def human(console: Console) -> None:
        if not result.fibers:
            console.print(Text(f"Nothing found for {result.query!r} in brain {config.brain!r}."))
            return
        console.print(render.answer_table(result, full=full))
        if why:
            console.print(render.why_table(result))
        console.print(render.summary_line(result))

    emit(render.result_document(result), as_json=as_json, human=human)


MemoryIdArgument = Annotated[str, typer.Argument(help="The memory's id.")]


@app.command()
def forget(
    memory_id: MemoryIdArgument,
    db: DbOption = None,
    brain: BrainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a memory for good, with all its older versions."""
    config = settings(db, brain)
    deleted = in_brain(config, lambda session: forget_memory(session.storage, memory_id))
    older = len(deleted) - 1
    note = f" and {older} older version{'s' if older != 1 else ''}" if older else ""
    emit(
        {"deleted": deleted},
        as_json=as_json,
        human=lambda console: console.print(Text(f"Forgot memory {memory_id}{note}.")),
    )


@app.command()
def edit(
    memory_id: MemoryIdArgument,
    text: Annotated[
        str | None, typer.Option("--text", help="The corrected text; - reads stdin.")
    ] = None,
    memory_type: TypeOption = None,
    db: DbOption = None,
    brain: BrainOption = None,
    as_json: JsonOption = False,
    full: FullOption = False,
) -> None:
    """Correct a memory's text or type; the old version stays in its history."""
    with reported():
        new_text = read_text(text, None, "text") if text is not None else None
        new_type = _memory_type(memory_type)
        config = settings(db, brain)

    async def correct(session: BrainSession) -> tuple[EditResult, MemoryView]:
        done = await edit_memory(
            session.storage, session.encoder, memory_id, text=new_text, memory_type=new_type
        )
        return done, await show_memory(session.storage, done.current.id)

    done, view = in_brain(config, correct, model=new_text is not None)

    def human(console: Console) -> None:
        if done.current.id != done.previous.id:
            console.print(Text(f"Corrected: {done.current.id} replaces {done.previous.id} (kept)."))
        else:
            console.print(Text(f"Updated memory {done.current.id}."))
        console.print(render.memory_table(view, full=full))

    emit(
        {"previous_id": done.previous.id, "memory": render.memory_document(view)},
        as_json=as_json,
        human=human,
    )


@app.command()
def show(
    memory_id: MemoryIdArgument,
    full: FullOption = False,
    db: DbOption = None,
    brain: BrainOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one memory: text, time, speaker, type, tags, project and versions."""
    config = settings(db, brain)
    view = in_brain(config, lambda session: show_memory(session.storage, memory_id))
    emit(
        render.memory_document(view),
        as_json=as_json,
        human=lambda console: console.print(render.memory_table(view, full=full)),
    )


@app.command("list")
def list_(
    memory_type: TypeOption = None,
    tag: Annotated[str | None, typer.Option(help="Only memories with this tag.")] = None,
    project: Annotated[str | None, typer.Option(help="Only this project's memories.")] = None,
    since: Annotated[str | None, typer.Option(help="From this date or time (ISO 8601).")] = None,
    until: Annotated[str | None, typer.Option(help="Before this date or time (ISO 8601).")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many at most.")] = 20,
    all_versions: Annotated[
        bool, typer.Option("--all-versions", help="Also older versions of edited memories.")
    ] = False,
    full: FullOption = False,
    db: DbOption = None,
    brain: BrainOption = None,
    as_json: JsonOption = False,
) -> None:
    """List memories, newest first, filtered by type, tag, project and dates."""
    with reported():
        query = MemoryFilter(
            memory_type=_memory_type(memory_type),
            tag=tag,
            project=project,
            since=_moment(since, "--since"),
            until=_moment(until, "--until"),
            include_superseded=all_versions,
            limit=limit,
        )
        config = settings(db, brain)
    views = in_brain(config, lambda session: list_memories(session.storage, query))

    def human(console: Console) -> None:
        if not views:
            console.print(Text(f"No memories match in brain {config.brain!r}."))
            return
        console.print(render.memory_list_table(views, full=full))

    emit({"memories": [render.memory_document(v) for v in views]}, as_json=as_json, human=human)


def _moment(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        return parse_when(text)
    except ValidationError:
        raise ValidationError(f"{option} must be an ISO 8601 date or time, got {text!r}") from None
