"""The ``Retriever`` protocol, the document type it indexes, and the NeuralMemory adapter.

Every system under test implements the same two coroutines:

* ``index(items)`` stores one memory per :class:`Doc` (called once per brain), and
* ``search(query, k=..., reference_time=...)`` returns doc ids, best first.

:class:`NeuralMemoryRetriever` drives ``neural_memory`` through its public API only, so
the benchmark measures what a user of the library gets.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from neural_memory.engine.tokens import count_tokens


@dataclass(frozen=True, slots=True)
class Doc:
    """One memory to index: a dialog or chat turn.

    ``speaker`` is the LoCoMo speaker name or the LongMemEval role; ``date_text`` is the
    session date as written in the data set (used by the README's BM25 document text).
    """

    id: str
    text: str
    speaker: str
    timestamp: datetime
    date_text: str | None = None
    session: str | None = None
    """The session the turn belongs to (systems that sleep between sessions group by it)."""


def plain_text(doc: Doc) -> str:
    """The turn as a user writes it, date and speaker in the text: "[2023-05-08 13:56] Ann: hi"."""
    return f"[{doc.timestamp:%Y-%m-%d %H:%M}] {doc.speaker}: {doc.text}"


@dataclass(frozen=True, slots=True)
class SearchOutput:
    """Ranked ids plus, when the system builds one, the context string it would inject."""

    ids: list[str]
    context: str | None = None
    latency_ms: float | None = None
    """The system's own query time, when it runs elsewhere (the harness then uses it)."""


@runtime_checkable
class Retriever(Protocol):
    """A system under test: one instance per brain (conversation or haystack)."""

    name: str

    async def index(self, items: Sequence[Doc]) -> None:
        """Store one memory per item."""
        ...

    async def search(
        self, query: str, *, k: int, reference_time: datetime | None, asker: str | None = None
    ) -> list[str]:
        """Return up to ``k`` doc ids, best first; ``asker`` names who asks (may be ignored)."""
        ...

    async def close(self) -> None:
        """Release whatever the retriever holds (storage, models)."""
        ...


@runtime_checkable
class ContextRetriever(Retriever, Protocol):
    """A retriever that can also return the context it would hand to an LLM."""

    async def search_with_context(
        self,
        query: str,
        *,
        k: int,
        reference_time: datetime | None,
        max_tokens: int,
        asker: str | None = None,
    ) -> SearchOutput:
        """Ranked ids and the context built under ``max_tokens``."""
        ...


class SystemUnavailableError(RuntimeError):
    """Raised when a system cannot run here (missing package or model); the run skips it."""


class RetrieverError(RuntimeError):
    """One index or query of a system failed; the harness counts its questions as misses.

    ``kind`` is ``"timeout"`` (the time limit passed) or ``"error"`` (the system failed).
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


def normalise_text(text: str) -> str:
    """Lower-case and collapse whitespace, for "does this text appear in the context"."""
    return " ".join(text.lower().split())


def evidence_in_context(evidence_texts: Sequence[str], context: str) -> float:
    """Fraction of evidence texts that appear (whitespace/case-normalised) in ``context``."""
    if not evidence_texts:
        raise ValueError("no evidence texts")
    haystack = normalise_text(context)
    found = sum(1 for text in evidence_texts if normalise_text(text) in haystack)
    return found / len(evidence_texts)


def estimate_tokens(text: str) -> int:
    """Token count by the engine's own rule, so baselines and the engine fill a budget alike."""
    return count_tokens(text)


def budget_context(
    texts: Sequence[str], max_tokens: int, costs: Sequence[int] | None = None
) -> str:
    """Join ranked texts best first while they fit ``max_tokens`` (one token per newline).

    A text that does not fit is skipped and a shorter one further down may still fit, as
    the engine's context builder does. ``costs`` are precomputed ``estimate_tokens``.
    """
    parts: list[str] = []
    used = 0
    for position, text in enumerate(texts):
        own = costs[position] if costs is not None else estimate_tokens(text)
        cost = own + (1 if parts else 0)
        if used + cost > max_tokens:
            continue
        parts.append(text)
        used += cost
    return "\n".join(parts)


async def _maybe_await(value: Any) -> Any:
    if inspect.isawaitable(value):
        return await value
    return value
