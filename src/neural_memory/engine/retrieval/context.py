"""Context assembly: recalled memories as text under a hard token budget (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import SPEAKER
from neural_memory.engine.tokens import count_tokens, truncate_to_tokens

__all__ = ["build_context", "format_memory", "same_line"]


def format_memory(fiber: Fiber) -> str:
    """One memory as a context line: ``- [2023-05-08] Caroline: text``."""
    when = fiber.occurred_at.date().isoformat() if fiber.occurred_at else ""
    speaker = SPEAKER.get(fiber.metadata)
    who = f"{speaker}: " if speaker else ""
    return f"- [{when}] {who}{fiber.content.strip()}"


def same_line(before: Fiber, after: Fiber) -> bool:
    """Whether ``after`` formats to the same context line as ``before`` (no need to redo it)."""
    return (
        before.content == after.content
        and before.occurred_at == after.occurred_at
        and SPEAKER.get(before.metadata) == SPEAKER.get(after.metadata)
    )


def build_context(lines: Sequence[tuple[str, int]], max_tokens: int) -> tuple[str, int, list[int]]:
    """Join ``(line, token_count)`` pairs best first while they fit ``max_tokens``.

    Returns the text, its token count and the positions of the lines used. The budget is
    never exceeded: a first line longer than the budget is truncated, and later lines that
    do not fit are skipped (a shorter one further down may still fit). The returned count is
    that of the joined text, which never exceeds the sum of the line counts plus one per
    line break.
    """
    parts: list[str] = []
    used: list[int] = []
    total = 0
    for position, (line, cost) in enumerate(lines):
        text, needed = line, cost + (1 if parts else 0)
        if total + needed > max_tokens:
            if parts:
                continue
            text = truncate_to_tokens(line, max_tokens)
            needed = count_tokens(text)
            if not text:
                continue
        parts.append(text)
        used.append(position)
        total += needed
    joined = "\n".join(parts)
    return joined, min(total, count_tokens(joined)) if joined else 0, used
