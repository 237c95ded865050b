"""The ``neural-memory-mcp`` command: one brain of a SQLite file, over stdio or HTTP."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from neural_memory.core.brain import Brain
from neural_memory.engine._default_embedder import (
    add_embeddings_argument,
    embedder_setting,
    set_default_embedder,
)
from neural_memory.errors import (
    NeuralMemoryError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.mcp.auth import ApiKeyGate, Authenticator, KeyStoreAuthenticator
from neural_memory.mcp.server import Tier, create_server
from neural_memory.server.keys import KEY_STORE_FILE, Keyring, KeyStore, admin_key
from neural_memory.storage.base import Storage
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = [
    "DEFAULT_BRAIN",
    "DEFAULT_DB",
    "DEFAULT_PORT",
    "brain_named",
    "parse_args",
    "run_command",
    "serve_http",
    "serve_stdio",
]

DEFAULT_DB = "~/.neural-memory/brain.db"
"""The database file when neither ``--db`` nor ``NEURAL_MEMORY_DB`` names one."""

DEFAULT_BRAIN = "default"
"""The brain's name when neither ``--brain`` nor ``NEURAL_MEMORY_BRAIN`` names one."""

DEFAULT_PORT = 8765
"""The HTTP port when ``--port`` is not given."""

_KEY_ENV = "NEURAL_MEMORY_API_KEY"

MCP_PATH = "/mcp"
"""Where the streamable HTTP endpoint listens."""


def parse_args(argv: Sequence[str], env: Mapping[str, str]) -> argparse.Namespace:
    """The command line, with defaults from ``env``."""
    parser = argparse.ArgumentParser(
        prog="neural-memory-mcp",
        description="Serve one NeuralMemory brain to MCP clients over stdio or streamable HTTP.",
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
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio")
    parser.add_argument("--host", default="127.0.0.1", help="HTTP: the address to listen on.")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help="HTTP: the port.")
    parser.add_argument(
        "--tier",
        choices=("default", "full"),
        default=env.get("NEURAL_MEMORY_MCP_TIER", "full"),
        help="Tool set: default (6 core tools) or full (11; env NEURAL_MEMORY_MCP_TIER).",
    )
    add_embeddings_argument(parser, env)
    return parser.parse_args(list(argv))


async def brain_named(storage: Storage, name: str) -> Brain:
    """The brain called ``name`` in ``storage``, created when there is none."""
    if not name.strip():
        raise ValidationError("the brain name must not be empty")
    found = [brain for brain in await storage.list_brains() if brain.name == name]
    if len(found) > 1:
        raise ValidationError(f"{len(found)} brains are called {name!r}: rename all but one")
    if found:
        return found[0]
    brain = Brain.create(name)
    await storage.save_brain(brain)
    return brain


async def serve_stdio(db_path: str, brain_name: str, tier: Tier = "full") -> None:
    """Serve the brain over stdin/stdout until the client disconnects."""
    async with SQLiteStorage(db_path) as storage:
        brain = await brain_named(storage, brain_name)
        await create_server(storage, brain, tier=tier).run_stdio_async()


async def serve_http(
    db_path: str,
    brain_name: str,
    authenticator: Authenticator,
    *,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    tier: Tier = "full",
) -> None:
    """Serve the brain over streamable HTTP at ``/mcp``; every request needs an API key."""
    import uvicorn  # noqa: PLC0415 - only the HTTP transport needs it

    async with SQLiteStorage(db_path) as storage:
        brain = await brain_named(storage, brain_name)
        server = create_server(storage, brain, tier=tier)
        app = ApiKeyGate(
            server.streamable_http_app(streamable_http_path=MCP_PATH, host=host),
            authenticator,
            brain.id,
        )
        config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")
        await uvicorn.Server(config).serve()


def run_command(argv: Sequence[str]) -> int:
    """Parse ``argv`` (environment as defaults) and serve; the exit code."""
    args = parse_args(argv, os.environ)
    path = os.path.expanduser(args.db)
    try:
        if embedder_setting(args.embeddings) is None:
            set_default_embedder(None)  # this process is the server: its default is off
        folder = os.path.dirname(os.path.abspath(path))
        if args.db != DEFAULT_DB and not os.path.isdir(folder):
            raise StorageUnavailableError(
                f"the folder {folder!r} does not exist: create it first or choose another --db"
            )
        if args.transport == "stdio":
            asyncio.run(serve_stdio(path, args.brain, args.tier))
            return 0
        folder = os.path.dirname(os.path.abspath(path))
        key = admin_key(Path(folder), os.environ.get(_KEY_ENV), "neural-memory-mcp")
        keys = KeyStore(Path(folder) / KEY_STORE_FILE)
        try:
            authenticator = KeyStoreAuthenticator(Keyring(key, keys))
            asyncio.run(
                serve_http(
                    path, args.brain, authenticator, host=args.host, port=args.port, tier=args.tier
                )
            )
        finally:
            keys.close()
    except NeuralMemoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
