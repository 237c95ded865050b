"""The HTTP server (needs the ``server`` extra: fastapi, uvicorn, httpx).

:func:`create_app` builds the FastAPI app over an injected storage and a
:class:`~neural_memory.server.config.ServerConfig` (admin key, key store, hosts, limits);
:func:`serve` runs it over a SQLite file with uvicorn (``--workers N`` processes);
:func:`main` is the ``neural-memory-server`` command. Environment variables are read in
:func:`main` only: ``NEURAL_MEMORY_DB`` (the database file), ``NEURAL_MEMORY_HOST``,
``NEURAL_MEMORY_PORT``, ``NEURAL_MEMORY_API_KEY`` (the admin key; generated into the data
directory when unset), ``NEURAL_MEMORY_ALLOWED_HOSTS`` and ``NEURAL_MEMORY_CORS_ORIGINS``.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neural_memory.server._run import serve
    from neural_memory.server.app import create_app

__all__ = ["create_app", "main", "serve"]

_INSTALL_HINT = "pip install 'neural-memory-brain[server]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``neural-memory-server`` command with ``argv``; return the exit code."""
    try:
        from neural_memory.server._run import run_command  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        print(
            f"error: the server needs the 'server' extra ({exc.name or exc}): {_INSTALL_HINT}",
            file=sys.stderr,
        )
        return 1
    return run_command(list(sys.argv[1:] if argv is None else argv))


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from neural_memory.server.app import create_app  # noqa: PLC0415 - fastapi is optional

        return create_app
    if name == "serve":
        from neural_memory.server._run import serve  # noqa: PLC0415 - uvicorn is optional

        return serve
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
