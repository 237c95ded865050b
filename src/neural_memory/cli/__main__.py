"""``python -m neural_memory.cli``: the same as the ``neural-memory`` command."""

import sys

from neural_memory.cli import main

if __name__ == "__main__":
    sys.exit(main())
