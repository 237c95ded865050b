"""The ``nmem`` Typer application, its shared options and how commands run and print.

Every command takes ``--db``, ``--brain`` and ``--json``: JSON goes to stdout, people's
output is rich text, progress and errors go to stderr. ``nmem --no-embeddings COMMAND``
(or ``NEURAL_MEMORY_EMBEDDINGS=off``, or ``embeddings = "off"`` in the config file) keeps
the embedding model unused; otherwise it is used whenever the ``embeddings`` extra is
installed, loaded once per command with a spinner while it loads.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from neural_memory.cli import render
from neural_memory.cli.config import Settings, resolve
from neural_memory.cli.session import BrainSession, open_brain, open_database
from neural_memory.engine._default_embedder import set_default_embedder
from neural_memory.errors import NeuralMemoryError, ValidationError
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = [
    "BrainOption",
    "DbOption",
    "FullOption",
    "JsonOption",
    "app",
    "emit",
    "err_console",
    "in_brain",
    "in_database",
    "model_ready",
    "progress",
    "read_text",
    "reported",
    "run",
    "settings",
]

_T = TypeVar("_T")

app = typer.Typer(
    name="nmem",
    help="Long-term memory that behaves like a brain: remember text, recall it by association.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="SQLite database file (env NEURAL_MEMORY_DB, config `db`; "
        "default ~/.neural-memory/brain.db).",
        show_default=False,
    ),
]
BrainOption = Annotated[
    str | None,
    typer.Option(
        "--brain",
        "-b",
        help="Brain name (env NEURAL_MEMORY_BRAIN, config `brain`, `nmem brain use`; "
        "default 'default').",
        show_default=False,
    ),
]
JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON (for programs) instead of text.")
]
FullOption = Annotated[
    bool, typer.Option("--full", help="Show long memories whole instead of shortened.")
]


@app.callback()
def options(
    no_embeddings: Annotated[
        bool,
        typer.Option(
            "--no-embeddings",
            help="Do not use the embedding model, even when installed (env "
            "NEURAL_MEMORY_EMBEDDINGS=off, config `embeddings`).",
        ),
    ] = False,
) -> None:
    """Long-term memory that behaves like a brain: remember text, recall it by association."""
    if no_embeddings:
        set_default_embedder(None)


def settings(db: str | None = None, brain: str | None = None) -> Settings:
    """The command's settings: its options, then the environment, then the config file.

    Settings that turn the embedding model off turn it off for the process. A bad config
    file is reported as one error line (exit 1).
    """
    with reported():
        config = resolve(os.environ, db=db, brain=brain)
    if not config.embeddings:
        set_default_embedder(None)
    return config


def err_console() -> Console:
    """The console for progress, notes and errors (stderr, so stdout stays clean)."""
    return Console(stderr=True)


@contextmanager
def reported() -> Iterator[None]:
    """A NeuralMemoryError becomes one red line and exit 1; Ctrl-C exits 130 quietly."""
    try:
        yield
    except NeuralMemoryError as exc:
        render.error_line(err_console(), str(exc) or type(exc).__name__)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def run(work: Coroutine[Any, Any, _T]) -> _T:
    """Run one command's coroutine; its errors are reported as one line."""
    with reported():
        return asyncio.run(work)


def in_brain(
    config: Settings,
    action: Callable[[BrainSession], Awaitable[_T]],
    *,
    create: bool = False,
    model: bool = False,
) -> _T:
    """Run ``action`` on the brain ``config`` names, opened for it and closed after.

    ``create``: create the brain (and its file) when missing. ``model``: the action embeds
    text, so the embedding model is loaded first (:func:`model_ready`). Errors are reported
    as one line (exit 1).
    """

    async def work() -> _T:
        if model:
            await model_ready()
        async with open_brain(
            config.db,
            config.brain,
            create=create,
            may_create_folder=config.db_is_default or not create,
        ) as session:
            return await action(session)

    return run(work())


def in_database(
    config: Settings, action: Callable[[SQLiteStorage], Awaitable[_T]], *, create: bool = False
) -> _T:
    """Run ``action`` on the database ``config`` names (created when missing and ``create``)."""

    async def work() -> _T:
        async with open_database(
            config.db, create=create, may_create_folder=config.db_is_default or not create
        ) as storage:
            return await action(storage)

    return run(work())


async def model_ready() -> None:
    """Load the default embedding model, if any and not loaded yet, with a spinner on stderr."""
    await render.model_ready(err_console())


def emit(document: Mapping[str, Any], *, as_json: bool, human: Callable[[Console], None]) -> None:
    """Print ``document`` as JSON, or call ``human`` with the stdout console."""
    if as_json:
        typer.echo(json.dumps(document, ensure_ascii=False, indent=2, default=str))
    else:
        human(Console())


def progress(console: Console) -> Progress:
    """A progress display on ``console`` (shown only on a terminal)."""
    return Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )


def read_text(argument: str | None, file: str | None, what: str) -> str:
    """The text of an argument (``-`` reads stdin) or of ``--file``; exactly one of them.

    Raises:
        ValidationError: Neither or both were given, or the file cannot be read.
    """
    if (argument is None) == (file is None):
        raise ValidationError(f"give the {what} as an argument, as - (stdin) or with --file")
    if file is not None:
        try:
            with open(os.path.expanduser(file), encoding="utf-8") as handle:
                return handle.read()
        except OSError as exc:
            raise ValidationError(f"cannot read {file!r}: {exc.strerror}") from exc
        except UnicodeDecodeError as exc:
            raise ValidationError(f"{file!r} is not UTF-8 text") from exc
    return sys.stdin.read() if argument == "-" else str(argument)
