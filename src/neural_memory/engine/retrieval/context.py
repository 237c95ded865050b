"""Context assembly: recalled memories as text under a hard token budget (pure)."""

from __future__ import annotations

from collections.abc import Sequence

from neural_memory.core.fiber import Fiber
from neural_memory.engine.tokens import count_tokens, truncate_to_tokens

__all__ = ["build_context", "format_memory"]


def format_memory(fiber: Fiber) -> str:
    """One memory as a context line: ``- [2023-05-08] Caroline: text``."""
    when = fiber.occurred_at.date().isoformat() if fiber.occurred_at else ""
    speaker = fiber.metadata.get("speaker")
    who = f"{speaker}: " if isinstance(speaker, str) and speaker else ""
    return f"- [{when}] {who}{fiber.content.strip()}"


def build_context(fibers: Sequence[Fiber], max_tokens: int) -> tuple[str, int, list[Fiber]]:
    """Join memories best first while they fit ``max_tokens``; return text, tokens, fibers used.

    The budget is never exceeded: a first memory longer than the budget is truncated, and
    later memories that do not fit are skipped (a shorter one further down may still fit).
    """
    lines: list[str] = []
    used: list[Fiber] = []
    total = 0
    for fiber in fibers:
        line = format_memory(fiber)
        cost = count_tokens(line) + (1 if lines else 0)
        if total + cost > max_tokens:
            if lines:
                continue
            line = truncate_to_tokens(line, max_tokens)
            cost = count_tokens(line)
        lines.append(line)
        used.append(fiber)
        total += cost
    text = "\n".join(lines)
    return text, count_tokens(text) if text else 0, used
