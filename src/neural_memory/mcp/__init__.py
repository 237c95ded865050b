"""The MCP server (needs the ``mcp`` extra): NeuralMemory as tools for any MCP client.

``neural-memory-mcp`` serves one brain of a SQLite file over stdio with the tools
``remember``, ``recall``, ``stats`` and ``consolidate``. Environment variables are read in
:func:`main` only: ``NEURAL_MEMORY_DB`` (the database file) and ``NEURAL_MEMORY_BRAIN`` (the
brain's name; created when missing). :func:`create_server` builds the server over any
storage, for embedding or testing.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from neural_memory.mcp.server import create_server

__all__ = ["create_server", "main"]

_INSTALL_HINT = "pip install 'neural-memory-brain[mcp]'"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``neural-memory-mcp`` command with ``argv``; return the exit code."""
    try:
        from neural_memory.mcp._run import run_command  # noqa: PLC0415 - optional extra
    except ImportError as exc:
        print(
            f"error: the MCP server needs the 'mcp' extra ({exc.name or exc}): {_INSTALL_HINT}",
            file=sys.stderr,
        )
        return 1
    return run_command(list(sys.argv[1:] if argv is None else argv))


def __getattr__(name: str) -> Any:
    if name == "create_server":
        from neural_memory.mcp.server import create_server  # noqa: PLC0415 - mcp is optional

        return create_server
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
