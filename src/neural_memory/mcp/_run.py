"""The ``neural-memory-mcp`` command: one brain of a SQLite file, served over stdio."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

from neural_memory.core.brain import Brain
from neural_memory.errors import NeuralMemoryError, ValidationError
from neural_memory.mcp.server import create_server
from neural_memory.storage.base import Storage
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = ["DEFAULT_BRAIN", "DEFAULT_DB", "brain_named", "parse_args", "run_command", "serve_stdio"]

DEFAULT_DB = "~/.neural-memory/brain.db"
"""The database file when neither ``--db`` nor ``NEURAL_MEMORY_DB`` names one."""

DEFAULT_BRAIN = "default"
"""The brain's name when neither ``--brain`` nor ``NEURAL_MEMORY_BRAIN`` names one."""


def parse_args(argv: Sequence[str], env: Mapping[str, str]) -> argparse.Namespace:
    """The command line, with defaults from ``env``."""
    parser = argparse.ArgumentParser(
        prog="neural-memory-mcp",
        description="Serve one NeuralMemory brain to MCP clients over stdio.",
    )
    parser.add_argument(
        "--db",
        default=env.get("NEURAL_MEMORY_DB", DEFAULT_DB),
        help=f"SQLite database file (env NEURAL_MEMORY_DB; default {DEFAULT_DB}).",
    )
    parser.add_argument(
        "--brain",
        default=env.get("NEURAL_MEMORY_BRAIN", DEFAULT_BRAIN),
        help=f"Brain name, created if missing (env NEURAL_MEMORY_BRAIN; default {DEFAULT_BRAIN}).",
    )
    return parser.parse_args(list(argv))


async def brain_named(storage: Storage, name: str) -> Brain:
    """The oldest brain called ``name`` in ``storage``, created when there is none."""
    if not name.strip():
        raise ValidationError("the brain name must not be empty")
    for brain in await storage.list_brains():
        if brain.name == name:
            return brain
    brain = Brain.create(name)
    await storage.save_brain(brain)
    return brain


async def serve_stdio(db_path: str, brain_name: str) -> None:
    """Serve the brain over stdin/stdout until the client disconnects."""
    async with SQLiteStorage(db_path) as storage:
        brain = await brain_named(storage, brain_name)
        await create_server(storage, brain).run_stdio_async()


def run_command(argv: Sequence[str]) -> int:
    """Parse ``argv`` (environment as defaults) and serve; the exit code."""
    args = parse_args(argv, os.environ)
    try:
        asyncio.run(serve_stdio(os.path.expanduser(args.db), args.brain))
    except NeuralMemoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
