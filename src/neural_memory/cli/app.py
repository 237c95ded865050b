"""The ``neural-memory`` command: demo, remember, recall, stats, decay (typer + rich)."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from neural_memory.cli import render
from neural_memory.cli.sample import SAMPLE_QUESTIONS, sample_conversation
from neural_memory.cli.session import BrainSession, open_brain, parse_when
from neural_memory.engine.encoder import MemoryInput
from neural_memory.errors import NeuralMemoryError

__all__ = ["app"]

_T = TypeVar("_T")

DEMO_DB = "./neural-memory-demo.db"
DEMO_BRAIN = "demo"
DEFAULT_DB = "~/.neural-memory/brain.db"
DEFAULT_BRAIN = "default"
_DEMO_ROWS = 5

app = typer.Typer(
    name="neural-memory",
    help="Long-term memory that behaves like a brain: remember text, recall it by association.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    str,
    typer.Option(
        "--db",
        envvar="NEURAL_MEMORY_DB",
        help="SQLite database file.",
        show_default=True,
    ),
]
BrainOption = Annotated[
    str,
    typer.Option(
        "--brain", "-b", envvar="NEURAL_MEMORY_BRAIN", help="Brain name (looked up by name)."
    ),
]


@contextmanager
def _reported() -> Iterator[None]:
    """A NeuralMemoryError becomes one red line and exit 1; Ctrl-C exits 130 quietly."""
    try:
        yield
    except NeuralMemoryError as exc:
        render.error_line(Console(stderr=True), str(exc) or type(exc).__name__)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def _run(work: Coroutine[Any, Any, _T]) -> _T:
    """Run one command's coroutine under :func:`_reported`."""
    with _reported():
        return asyncio.run(work)


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
    console = Console()
    interactive = not questions and sys.stdin.isatty()
    asked = list(questions) if questions else ([] if interactive else list(SAMPLE_QUESTIONS))
    with _reported(), asyncio.Runner() as runner:
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


# -- remember / recall -----------------------------------------------------------------------


@app.command()
def remember(
    text: Annotated[str, typer.Argument(help="What to remember.")],
    db: DbOption = DEFAULT_DB,
    brain: BrainOption = DEFAULT_BRAIN,
    speaker: Annotated[str | None, typer.Option(help="Who said it.")] = None,
    when: Annotated[
        str | None, typer.Option(help="When it happened (ISO 8601; default now).")
    ] = None,
) -> None:
    """Store one memory in a brain (created on first use)."""
    console = Console()

    async def work() -> None:
        moment = parse_when(when) if when is not None else None
        async with open_brain(_path(db), brain, create=True) as session:
            result = await session.remember(text, speaker=speaker, when=moment)
        note = " (a new brain)" if session.created else ""
        console.print(Text(f"Remembered in brain {brain!r}{note}."))
        console.print(
            Text(
                f"{len(result.neurons_created)} new neurons, {len(result.neurons_linked)} shared "
                "with earlier memories",
                style="dim",
            )
        )
        console.print(Text(f"memory id {result.fiber.id}", style="dim"))

    _run(work())


@app.command()
def recall(
    query: Annotated[str, typer.Argument(help="What to recall.")],
    db: DbOption = DEFAULT_DB,
    brain: BrainOption = DEFAULT_BRAIN,
    max_tokens: Annotated[
        int | None, typer.Option(min=1, help="Token budget of the context.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="Memories to show.")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Recall the memories of a brain that answer QUERY."""
    console = Console()

    async def work() -> None:
        async with open_brain(_path(db), brain, create=False) as session:
            result = await session.recall(query, max_tokens=max_tokens, max_fibers=limit)
        if as_json:
            typer.echo(render.result_json(result))
        else:
            console.print(render.answer_table(result))
            console.print(render.summary_line(result))

    _run(work())


# -- stats / decay ---------------------------------------------------------------------------


@app.command()
def stats(db: DbOption = DEFAULT_DB, brain: BrainOption = DEFAULT_BRAIN) -> None:
    """Show how many memories, neurons and synapses a brain holds."""
    console = Console()

    async def work() -> None:
        path = _path(db)
        async with open_brain(path, brain, create=False) as session:
            counts = await session.stats()
            brain_id = session.brain.id
        console.print(render.stats_table(brain, brain_id, path, counts))

    _run(work())


@app.command()
def decay(
    db: DbOption = DEFAULT_DB,
    brain: BrainOption = DEFAULT_BRAIN,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would change.")
    ] = False,
) -> None:
    """Let unused memories fade (Ebbinghaus forgetting) and prune dead links."""
    console = Console()

    async def work() -> None:
        async with open_brain(_path(db), brain, create=False) as session:
            report = await session.decay(dry_run=dry_run)
        console.print(render.decay_table(report))

    _run(work())
