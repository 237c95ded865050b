"""Text normalisation shared by encoding and retrieval: see :mod:`neural_memory.core.text`.

The functions live in ``core`` because storage stores each memory's lexical terms with it
(``fibers.terms``), and storage may not import the engine; they are re-exported here, where
the engine has always imported them from.
"""

from __future__ import annotations

from neural_memory.core import text as _text
from neural_memory.core.text import *  # noqa: F403 (the same names, re-exported)

__all__ = _text.__all__
