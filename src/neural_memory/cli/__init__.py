"""The ``nmem`` command line, also installed as ``neural-memory`` (needs the ``cli`` extra).

Settings come from the options, then environment variables, then a config file (see
:mod:`neural_memory.cli.config`); this package is the only place that reads them:
``NEURAL_MEMORY_DB``, ``NEURAL_MEMORY_BRAIN``, ``NEURAL_MEMORY_URL``,
``NEURAL_MEMORY_API_KEY`` and ``NEURAL_MEMORY_CONFIG``.
"""

from __future__ import annotations

import os
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
    invoked = os.path.basename(sys.argv[0]) if sys.argv else ""
    prog = "nmem" if invoked.startswith("nmem") else "neural-memory"
    try:
        app(args=args, prog_name=prog)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0
