"""The ``nmem`` command (alias ``neural-memory``): every subcommand, and ``demo``.

The commands live in modules by theme (memories, brains, transfer, servers); importing
them registers them on the one Typer application of :mod:`neural_memory.cli.base`. The
demo itself is :mod:`neural_memory.cli.demo`.
"""

from __future__ import annotations

from typing import Annotated

import typer

from neural_memory.cli import brain_cmds, memory_cmds, server_cmds, transfer_cmds
from neural_memory.cli.base import app, reported, settings
from neural_memory.cli.demo import DEMO_DB, run_demo

__all__ = ["app"]

COMMAND_MODULES = (memory_cmds, brain_cmds, transfer_cmds, server_cmds)
"""The modules whose import registered their commands on ``app``."""


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
    with reported():
        run_demo(questions or [], db, fresh=fresh)
