"""serve(): the HTTP server over a SQLite file; run_command(): the command line behind it."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import uvicorn

from neural_memory.errors import NeuralMemoryError, ValidationError
from neural_memory.server.app import DEFAULT_MAX_REQUEST_BYTES, create_app
from neural_memory.storage.sqlite import SQLiteStorage

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = ["DEFAULT_DB", "parse_args", "run_command", "serve", "serve_async"]

DEFAULT_DB = "~/.neural-memory/brain.db"
"""The database file when neither ``--db`` nor ``NEURAL_MEMORY_DB`` names one."""

_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def serve(
    db_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    embedder: Embedder | None = None,
    log_level: str = "info",
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> None:
    """Serve the brains of the SQLite file ``db_path`` over HTTP until interrupted (blocks)."""
    asyncio.run(
        serve_async(
            db_path,
            host,
            port,
            embedder=embedder,
            log_level=log_level,
            max_request_bytes=max_request_bytes,
        )
    )


async def serve_async(
    db_path: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    embedder: Embedder | None = None,
    log_level: str = "info",
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> None:
    """:func:`serve` inside a running event loop; the database is closed on the way out."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValidationError(f"port must be an integer between 0 and 65535, got {port!r}")
    if log_level not in _LOG_LEVELS:
        raise ValidationError(f"log_level must be one of {', '.join(_LOG_LEVELS)}")
    async with SQLiteStorage(db_path) as storage:
        app = create_app(storage, embedder=embedder, max_request_bytes=max_request_bytes)
        config = uvicorn.Config(app, host=host, port=port, log_level=log_level)
        await uvicorn.Server(config).serve()


def parse_args(argv: Sequence[str], env: Mapping[str, str]) -> argparse.Namespace:
    """The command line, with defaults from ``env`` (``NEURAL_MEMORY_DB/HOST/PORT``)."""
    parser = argparse.ArgumentParser(
        prog="neural-memory-server",
        description="Serve NeuralMemory brains over HTTP (engine API and storage RPC API).",
    )
    parser.add_argument(
        "--db",
        default=env.get("NEURAL_MEMORY_DB", DEFAULT_DB),
        help=f"SQLite database file (env NEURAL_MEMORY_DB; default {DEFAULT_DB}).",
    )
    parser.add_argument(
        "--host",
        default=env.get("NEURAL_MEMORY_HOST", "127.0.0.1"),
        help="Interface to listen on (env NEURAL_MEMORY_HOST; default 127.0.0.1).",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=_port(env.get("NEURAL_MEMORY_PORT", "8000"), parser),
        help="TCP port (env NEURAL_MEMORY_PORT; default 8000).",
    )
    parser.add_argument("--log-level", choices=_LOG_LEVELS, default="info")
    parser.add_argument(
        "--max-request-mb",
        type=float,
        default=DEFAULT_MAX_REQUEST_BYTES / 1024 / 1024,
        help="Largest request body accepted, in MiB (default %(default)s).",
    )
    return parser.parse_args(list(argv))


def run_command(argv: Sequence[str]) -> int:
    """Parse ``argv`` (environment as defaults), serve until Ctrl-C; the exit code."""
    args = parse_args(argv, os.environ)
    try:
        serve(
            os.path.expanduser(args.db),
            args.host,
            args.port,
            log_level=args.log_level,
            max_request_bytes=max(1, int(args.max_request_mb * 1024 * 1024)),
        )
    except NeuralMemoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0  # uvicorn shut down gracefully, then re-raised Ctrl-C
    return 0


def _port(text: str, parser: argparse.ArgumentParser) -> int:
    try:
        return int(text)
    except ValueError:
        parser.error(f"NEURAL_MEMORY_PORT must be an integer, got {text!r}")
        raise  # unreachable: parser.error exits
