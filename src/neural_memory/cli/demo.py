"""The demo: remember a sample conversation, then answer questions about it.

``nmem demo`` runs it, and so does ``python -m neural_memory.cli.demo [QUESTION ...]
[--db FILE] [--fresh] [--no-embeddings]`` (what ``scripts/demo.sh`` calls): that entry point
imports only what the demo needs — no Typer (whose argument coercion imports pydantic), no
other command — so a warm run answers sooner.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Iterator, Sequence

from rich.console import Console
from rich.text import Text

from neural_memory.cli import render
from neural_memory.cli.sample import SAMPLE_QUESTIONS, sample_conversation
from neural_memory.cli.session import BrainSession, open_brain
from neural_memory.engine._default_embedder import (
    EMBEDDINGS_ENV,
    embedder_setting,
    set_default_embedder,
)
from neural_memory.engine.encoder import MemoryInput
from neural_memory.errors import NeuralMemoryError

__all__ = ["DEMO_BRAIN", "DEMO_DB", "main", "run_demo"]

DEMO_DB = "./neural-memory-demo.db"
"""Where the demo keeps its brain (the current folder)."""
DEMO_BRAIN = "demo"
"""The demo brain's name."""
_DEMO_ROWS = 5


def run_demo(questions: Sequence[str], db: str, *, fresh: bool) -> None:
    """Answer ``questions`` (none: prompt on a terminal, else ask the samples) on the demo brain.

    The prompts are read outside the event loop, so Ctrl-C at the prompt interrupts at once
    (inside ``asyncio.run`` the first Ctrl-C only cancels the task) and the storage is still
    closed.
    """
    console = Console()
    interactive = not questions and sys.stdin.isatty()
    asked = list(questions) if questions else ([] if interactive else list(SAMPLE_QUESTIONS))
    with asyncio.Runner() as runner:
        runner.run(render.model_ready(Console(stderr=True)))
        brain = open_brain(os.path.expanduser(db), DEMO_BRAIN, create=True, fresh=fresh)
        session = runner.run(brain.__aenter__())
        try:
            runner.run(_seed_demo(console, session))
            for question in _prompted(console) if interactive else iter(asked):
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


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m neural_memory.cli.demo``: parse ``argv``, run the demo; the exit code.

    Reads ``NEURAL_MEMORY_EMBEDDINGS`` (``off`` is ``--no-embeddings``).
    """
    parser = argparse.ArgumentParser(
        prog="neural-memory demo", description="Remember a sample conversation, then ask it."
    )
    parser.add_argument("questions", nargs="*", metavar="QUESTION", help="Questions to ask.")
    parser.add_argument("--db", default=DEMO_DB, help="SQLite database file.")
    parser.add_argument("--fresh", action="store_true", help="Start the demo brain anew.")
    parser.add_argument("--no-embeddings", action="store_true", help="Lexical recall only.")
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    try:
        if args.no_embeddings or embedder_setting(os.environ.get(EMBEDDINGS_ENV)) is None:
            set_default_embedder(None)
        run_demo(args.questions, args.db, fresh=args.fresh)
    except NeuralMemoryError as exc:
        render.error_line(Console(stderr=True), str(exc) or type(exc).__name__)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
