"""``python -m neural_memory.server``: the ``neural-memory-server`` command."""

from neural_memory.server import main

if __name__ == "__main__":  # not when a spawned helper process re-imports the main module
    raise SystemExit(main())
