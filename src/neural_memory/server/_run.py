"""serve(): the HTTP server over a SQLite file or PostgreSQL; run_command(): its command line.

This is the server's edge: the only place that reads the environment
(``NEURAL_MEMORY_DB``, ``NEURAL_MEMORY_HOST``, ``NEURAL_MEMORY_PORT``,
``NEURAL_MEMORY_API_KEY``, ``NEURAL_MEMORY_ALLOWED_HOSTS``, ``NEURAL_MEMORY_CORS_ORIGINS``,
``NEURAL_MEMORY_EMBEDDINGS``: ``off`` is ``--no-embeddings``).

With ``--workers N`` uvicorn starts N processes, each building its app with
:func:`worker_app` from the settings the parent put in ``NEURAL_MEMORY_SERVER_SETTINGS``;
they share the SQLite database and the key store (both in WAL mode).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import ipaddress
import json
import logging
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import uvicorn

from neural_memory.engine._default_embedder import (
    DEFAULT_EMBEDDER,
    EmbedderChoice,
    add_embeddings_argument,
    embedder_setting,
)
from neural_memory.errors import ConfigError, NeuralMemoryError, ValidationError
from neural_memory.server.app import create_app
from neural_memory.server.config import LOOPBACK_HOSTS, ServerConfig
from neural_memory.server.keys import KEY_STORE_FILE, Access, KeyStore, admin_key
from neural_memory.storage.base import Storage
from neural_memory.storage.sqlite import SQLiteStorage

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "DEFAULT_DB",
    "KEY_STORE_FILE",
    "event_loop_factory",
    "ServeOptions",
    "is_postgres_url",
    "open_storage",
    "parse_args",
    "run_command",
    "run_keys",
    "serve",
    "serve_async",
    "worker_app",
]

DEFAULT_DB = "~/.neural-memory/brain.db"
"""The database file when neither ``--db`` nor ``NEURAL_MEMORY_DB`` names one."""


_SETTINGS_ENV = "NEURAL_MEMORY_SERVER_SETTINGS"
_POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_KEY_ENV = "NEURAL_MEMORY_API_KEY"
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug")
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class ServeOptions:
    """How to run one server process or a group of workers."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    allow_remote: bool = False
    log_level: str = "info"

    def __post_init__(self) -> None:
        port = self.port
        if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
            raise ValidationError(f"port must be an integer between 0 and 65535, got {port!r}")
        if self.log_level not in _LOG_LEVELS:
            raise ValidationError(f"log_level must be one of {', '.join(_LOG_LEVELS)}")
        if isinstance(self.workers, bool) or not isinstance(self.workers, int):
            raise ValidationError("workers must be an integer")
        if self.workers < 1:
            raise ValidationError("workers must be at least 1")
        if not self.allow_remote and not is_loopback(self.host):
            raise ConfigError(
                f"{self.host} is not a loopback address: pass --allow-remote to listen on it "
                "(and put a TLS-terminating reverse proxy in front: keys travel in headers)"
            )


def is_loopback(host: str) -> bool:
    """``host`` names only this machine."""
    if host.lower() in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serve(
    db_path: str | os.PathLike[str],
    config: ServerConfig,
    options: ServeOptions | None = None,
    *,
    embedder: EmbedderChoice = DEFAULT_EMBEDDER,
) -> None:
    """Serve the brains of ``db_path`` (SQLite file or PostgreSQL URL) until interrupted.

    ``embedder``: see :func:`~neural_memory.server.app.create_app` (workers take the default
    model or None: an embedder object cannot be shared with worker processes).
    """
    options = options or ServeOptions()
    _warn_if_remote(options)
    if options.workers == 1:
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            runner.run(serve_async(db_path, config, options, embedder=embedder))
        return
    if embedder is not None and embedder is not DEFAULT_EMBEDDER:
        raise ValidationError("an embedder object cannot be shared with worker processes")
    settings: dict[str, Any] = {"db": str(db_path), "embeddings": embedder is not None}
    settings.update(_config_settings(config))
    os.environ[_SETTINGS_ENV] = json.dumps(settings)
    os.environ[_KEY_ENV] = config.admin_key  # inherited by the workers only
    uvicorn.run(
        "neural_memory.server._run:worker_app",
        factory=True,
        host=options.host,
        port=options.port,
        workers=options.workers,
        log_level=options.log_level,
    )


def event_loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """The uvloop event loop when installed (the ``server`` extra), else None (asyncio's).

    uvicorn picks uvloop for its worker processes itself; a single process runs the
    server inside a loop of its own making, so it chooses the same one here.
    """
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def serve_async(
    db_path: str | os.PathLike[str],
    config: ServerConfig,
    options: ServeOptions | None = None,
    *,
    embedder: EmbedderChoice = DEFAULT_EMBEDDER,
) -> None:
    """:func:`serve` (one process) inside a running event loop; the database is closed after."""
    options = options or ServeOptions()
    async with open_storage(db_path) as storage:
        app = create_app(storage, config=config, embedder=embedder)
        uv_config = uvicorn.Config(
            app, host=options.host, port=options.port, log_level=options.log_level
        )
        try:
            await uvicorn.Server(uv_config).serve()
        finally:
            app.state.key_store.close()


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn factory), from the parent's settings."""
    settings: dict[str, Any] = json.loads(os.environ[_SETTINGS_ENV])
    db = settings.pop("db")
    embedder = DEFAULT_EMBEDDER if settings.pop("embeddings", True) else None
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in settings.items()
    }
    config = ServerConfig(admin_key=os.environ[_KEY_ENV], **values)
    return create_app(open_storage(db), config=config, embedder=embedder, owns_storage=True)


def open_storage(db: str | os.PathLike[str]) -> Storage:
    """The storage ``db`` names: a PostgreSQL URL (``postgresql://...``) or a SQLite file.

    Any number of server processes, on any number of machines, can serve one PostgreSQL
    database: each recall catches its index up from the brain's change sequence first, so a
    memory stored through one server is recalled through every other (docs/scale.md).
    """
    if is_postgres_url(db):
        from neural_memory.storage.postgres import PostgresStorage  # noqa: PLC0415 (extra)

        return PostgresStorage(os.fspath(db))
    return SQLiteStorage(db)


def is_postgres_url(db: str | os.PathLike[str]) -> bool:
    """``db`` is a PostgreSQL connection URL rather than a file name."""
    return os.fspath(db).startswith(_POSTGRES_SCHEMES)


def _config_settings(config: ServerConfig) -> dict[str, Any]:
    settings = asdict(config)
    del settings["admin_key"]
    settings["key_store"] = str(config.key_store)
    return settings


def _warn_if_remote(options: ServeOptions) -> None:
    if not is_loopback(options.host):
        _log.warning(
            "listening on %s: this server speaks plain HTTP, so API keys cross the network "
            "in clear text; serve it behind a TLS-terminating reverse proxy",
            options.host,
        )


def parse_args(argv: Sequence[str], env: Mapping[str, str]) -> argparse.Namespace:
    """The command line, with defaults from ``env`` (``NEURAL_MEMORY_DB/HOST/PORT``...)."""
    parser = argparse.ArgumentParser(
        prog="neural-memory-server",
        description="Serve NeuralMemory brains over HTTP (engine API and storage RPC API).",
    )
    parser.add_argument(
        "--db",
        default=env.get("NEURAL_MEMORY_DB", DEFAULT_DB),
        help="SQLite database file or PostgreSQL URL (postgresql://user@host/db; env "
        f"NEURAL_MEMORY_DB; default {DEFAULT_DB}). Keys live beside the file, or in "
        "~/.neural-memory for a URL.",
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
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="Allow listening on a non-loopback address (use a TLS reverse proxy).",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=_names(env.get("NEURAL_MEMORY_ALLOWED_HOSTS", "")),
        help="Host header accepted besides loopback names (repeat; env "
        "NEURAL_MEMORY_ALLOWED_HOSTS, comma-separated).",
    )
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=_names(env.get("NEURAL_MEMORY_CORS_ORIGINS", "")),
        help="Browser origin allowed by CORS (repeat; env NEURAL_MEMORY_CORS_ORIGINS). "
        "Default: none, CORS off.",
    )
    parser.add_argument("--workers", type=int, default=1, help="Worker processes (default 1).")
    parser.add_argument(
        "--rate-limit",
        type=float,
        default=ServerConfig.__dataclass_fields__["rate_limit"].default,
        help="Requests per second per key and worker, 0 for none (default %(default)s).",
    )
    parser.add_argument("--log-level", choices=_LOG_LEVELS, default="info")
    add_embeddings_argument(parser, env)
    return parser.parse_args(list(argv))


def run_command(argv: Sequence[str]) -> int:
    """Parse ``argv`` (environment as defaults), serve until Ctrl-C; the exit code.

    ``neural-memory-server keys ...`` manages scoped keys instead (see :func:`run_keys`).
    """
    if argv and argv[0] == "keys":
        return run_keys(argv[1:], os.environ)
    args = parse_args(argv, os.environ)
    try:
        db = args.db if is_postgres_url(args.db) else Path(os.path.expanduser(args.db))
        data_dir = _data_dir(args.db)
        options = ServeOptions(
            host=args.host,
            port=args.port,
            workers=args.workers,
            allow_remote=args.allow_remote,
            log_level=args.log_level,
        )
        config = ServerConfig(
            admin_key=admin_key(data_dir, os.environ.get(_KEY_ENV)),
            key_store=data_dir / KEY_STORE_FILE,
            allowed_hosts=tuple(args.allowed_host),
            cors_origins=tuple(args.cors_origin),
            rate_limit=args.rate_limit,
        )
        if args.rate_limit > 0:
            config = replace(config, rate_burst=max(1, int(args.rate_limit * 2)))
        serve(db, config, options, embedder=embedder_setting(args.embeddings))
    except NeuralMemoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0  # uvicorn shut down gracefully, then re-raised Ctrl-C
    return 0


def run_keys(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """The ``keys`` command: the key store beside the database, no server needed.

    ``keys create --brain ID [--brain ID ...] --access read|write|admin``, ``keys list``,
    ``keys revoke KEY_ID``.
    """
    parser = argparse.ArgumentParser(
        prog="neural-memory-server keys", description="Manage scoped API keys."
    )
    parser.add_argument("--db", default=env.get("NEURAL_MEMORY_DB", DEFAULT_DB))
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="Create a key (its secret is printed once).")
    create.add_argument("--brain", action="append", required=True, dest="brains")
    create.add_argument("--access", choices=[a.value for a in Access], required=True)
    commands.add_parser("list", help="List the keys (ids and scopes, no secrets).")
    revoke = commands.add_parser("revoke", help="Revoke a key by id.")
    revoke.add_argument("key_id")
    args = parser.parse_args(list(argv))
    store = KeyStore(_data_dir(args.db) / KEY_STORE_FILE)
    try:
        return _keys_command(store, args)
    except NeuralMemoryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _keys_command(store: KeyStore, args: argparse.Namespace) -> int:
    if args.command == "create":
        key, secret = store.create(args.brains, Access(args.access))
        print(json.dumps({"id": key.id, "key": secret, "access": key.access.value}))
        return 0
    if args.command == "list":
        for key in store.list():
            brains = ",".join(sorted(key.brains or ()))
            print(f"{key.id}\t{key.access.value}\t{brains}")
        return 0
    if not store.revoke(args.key_id):
        print(f"error: no key {args.key_id!r}", file=sys.stderr)
        return 1
    return 0


def _data_dir(db: str) -> Path:
    """Where the key store and the admin key file live: beside the database file."""
    home = DEFAULT_DB if is_postgres_url(db) else db
    return Path(os.path.expanduser(home)).parent


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _port(text: str, parser: argparse.ArgumentParser) -> int:
    try:
        return int(text)
    except ValueError:
        parser.error(f"NEURAL_MEMORY_PORT must be an integer, got {text!r}")
        raise  # unreachable: parser.error exits
