"""The ``neural-memory`` command line (needs the ``cli`` extra: typer and rich).

Environment variables are read here only: ``NEURAL_MEMORY_DB`` (the database file of
``remember``, ``recall``, ``stats`` and ``decay``) and ``NEURAL_MEMORY_BRAIN`` (the brain name).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); return the exit code."""
    try:
        from neural_memory.cli.app import app  # noqa: PLC0415 - typer is an optional extra
    except ImportError as exc:
        print(
            f"error: the command line needs the 'cli' extra ({exc.name or exc}): "
            "pip install 'neural-memory-brain[cli]'",
            file=sys.stderr,
        )
        return 1
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="neural-memory")
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
