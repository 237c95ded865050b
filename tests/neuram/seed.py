"""The neuram seed document's code samples, checked verbatim and run with top-level await."""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path
from typing import Any

SEED = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "003_9f77b60f3ef5bdfb.txt"
SAMPLES = Path(__file__).parent / "samples"


def sample_body(path: Path) -> str:
    """A sample file without its leading comment lines (the header pragmas)."""
    lines = path.read_text().splitlines()
    while lines and lines[0].startswith("#"):
        lines.pop(0)
    return "\n".join(lines).strip()


def assert_verbatim(sample: str) -> None:
    """The sample must appear, character for character, in the seed (when it is present)."""
    if SEED.exists():
        assert textwrap.dedent(sample).strip() in SEED.read_text(), "sample differs from seed"


async def run_snippet(
    sample: str, namespace: dict[str, Any], replace: dict[str, str] | None = None
) -> dict[str, Any]:
    """Check ``sample`` against the seed, apply ``replace`` (e.g. the Redis URL), run it.

    ``replace`` is applied only after the verbatim check, to point the sample at the test's
    own redis-server instead of ``localhost:6379``; nothing else is changed.
    """
    assert_verbatim(sample)
    code = textwrap.dedent(sample)
    for old, new in (replace or {}).items():
        assert old in code
        code = code.replace(old, new)
    compiled = compile(code, "<neuram seed sample>", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    result = eval(compiled, namespace)  # the trusted seed document's own sample
    if inspect.iscoroutine(result):
        await result
    return namespace
