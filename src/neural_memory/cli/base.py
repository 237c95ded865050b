"""The ``nmem`` Typer application, its shared options and how commands run and print.

Every command takes ``--db``, ``--brain`` and ``--json``: JSON goes to stdout, people's
output is rich text, progress and errors go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable, Coroutine, Iterator, Mapping
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
from neural_memory.errors import NeuralMemoryError, ValidationError

__all__ = [
    "BrainOption",
    "DbOption",
    "FullOption",
    "JsonOption",
    "app",
    "emit",
    "err_console",
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


def settings(db: str | None = None, brain: str | None = None) -> Settings:
    """The command's settings: its options, then the environment, then the config file.

    A bad config file is reported as one error line (exit 1).
    """
    with reported():
        return resolve(os.environ, db=db, brain=brain)


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
