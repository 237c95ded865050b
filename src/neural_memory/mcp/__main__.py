"""``python -m neural_memory.mcp``: the ``neural-memory-mcp`` command."""

from neural_memory.mcp import main

if __name__ == "__main__":  # not when a spawned helper process re-imports the main module
    raise SystemExit(main())
