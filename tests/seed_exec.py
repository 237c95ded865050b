"""Run a code sample of the seed document verbatim, with top-level ``await``, in a namespace.

A test keeps the sample as a string, checks it is a verbatim part of the seed document (when
the document is beside the repo) and runs it with the variables the sample assumes
(``storage``, ``brain``, ...). The namespace after the run holds what the sample assigned.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from typing import Any

SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_0ed239d7ccc09238.txt"


def assert_verbatim(sample: str) -> None:
    """The sample must appear, character for character, in the seed (when it is present)."""
    if SEED.exists():
        assert textwrap.dedent(sample).strip() in SEED.read_text(), "sample differs from seed"


async def run_seed_sample(sample: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Check ``sample`` against the seed, run it in ``namespace`` and return the namespace."""
    assert_verbatim(sample)
    code = compile(
        textwrap.dedent(sample), "<seed sample>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    )
    result = eval(code, namespace)  # the trusted seed document's own sample
    if inspect.iscoroutine(result):
        await result
    return namespace
