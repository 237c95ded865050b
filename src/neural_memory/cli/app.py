"""The ``nmem`` (alias ``neural-memory``) command: every subcommand, and ``demo``.

The commands live in modules by theme (memories, brains, transfer, servers); importing
them registers them on the one Typer application of :mod:`neural_memory.cli.base`.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from neural_memory.cli import brain_cmds, memory_cmds, render, server_cmds, transfer_cmds
from neural_memory.cli.base import app, model_ready, reported, settings
from neural_memory.cli.sample import SAMPLE_QUESTIONS, sample_conversation
from neural_memory.cli.session import BrainSession, open_brain
from neural_memory.engine.encoder import MemoryInput

__all__ = ["app"]

COMMAND_MODULES = (memory_cmds, brain_cmds, transfer_cmds, server_cmds)
"""The modules whose import registered their commands on ``app``."""

DEMO_DB = "./neural-memory-demo.db"
DEMO_BRAIN = "demo"
_DEMO_ROWS = 5


def _path(db: str) -> str:
    return os.path.expanduser(db)


# -- demo ------------------------------------------------------------------------------------


@app.command()
def demo(
    questions: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="QUESTION",
            help="Questions to ask (none: prompt for them, or ask three samples).",
        ),
    ] = None,
    db: Annotated[str, typer.Option("--db", help="SQLite database file.")] = DEMO_DB,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Forget the demo brain and start it anew.")
    ] = False,
) -> None:
    """Remember a sample conversation, then answer questions about it."""
    settings()  # only for the embeddings switch (environment, config file)
    console = Console()
    interactive = not questions and sys.stdin.isatty()
    asked = list(questions) if questions else ([] if interactive else list(SAMPLE_QUESTIONS))
    with reported(), asyncio.Runner() as runner:
        _demo(runner, console, _path(db), asked, fresh=fresh, interactive=interactive)


def _demo(
    runner: asyncio.Runner,
    console: Console,
    path: str,
    questions: list[str],
    *,
    fresh: bool,
    interactive: bool,
) -> None:
    """Answer each question on one open brain; prompts are read outside the event loop.

    Reading stdin outside the loop lets Ctrl-C at the prompt interrupt it at once (inside
    ``asyncio.run`` the first Ctrl-C only cancels the task), and the storage is still closed.
    """
    runner.run(model_ready())
    brain = open_brain(path, DEMO_BRAIN, create=True, fresh=fresh)
    session = runner.run(brain.__aenter__())
    try:
        runner.run(_seed_demo(console, session))
        for question in _prompted(console) if interactive else iter(questions):
            result = runner.run(session.recall(question))
            console.print()
            console.print(render.answer_table(result, limit=_DEMO_ROWS))
            console.print(render.summary_line(result, shown=_DEMO_ROWS))
    finally:
        runner.run(brain.__aexit__(None, None, None))


async def _seed_demo(console: Console, session: BrainSession) -> None:
    stats = await session.stats()
    if stats.fiber_count:
        console.print(
            Text(f"Using the demo brain in {session.path} ({stats.fiber_count} memories).")
        )
        return
    turns = sample_conversation()
    count = await session.remember_many(
        [MemoryInput(text=t.text, timestamp=t.at, metadata={"speaker": t.speaker}) for t in turns]
    )
    speakers = " and ".join(sorted({t.speaker for t in turns}))
    days = sorted({t.at.date().isoformat() for t in turns})
    console.print(
        Text(
            f"Remembered {count} lines of a conversation between {speakers} "
            f"({len(days)} sessions, {days[0]} to {days[-1]}) in {session.path}."
        )
    )


def _prompted(console: Console) -> Iterator[str]:
    console.print("Ask about the conversation (an empty line or Ctrl-D ends). For example:")
    for sample in SAMPLE_QUESTIONS:
        console.print(Text(f"  {sample}", style="dim"))
    while True:
        try:
            question = console.input("[bold]question>[/bold] ").strip()
        except EOFError:
            console.print()
            return
        if not question:
            return
        yield question
