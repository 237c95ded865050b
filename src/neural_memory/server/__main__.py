"""``python -m neural_memory.server``: the ``neural-memory-server`` command."""

from neural_memory.server import main

raise SystemExit(main())
