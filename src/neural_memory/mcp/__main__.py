"""``python -m neural_memory.mcp``: the ``neural-memory-mcp`` command."""

from neural_memory.mcp import main

raise SystemExit(main())
