"""The lexical documents of memories, and counting them ahead of the index (pure, no I/O).

A memory's document is its lexical terms, space-separated: what the recall index's BM25
part indexes. For a batch holding a long memory or many memories, :func:`prepare_fibers`
builds their rows and documents (and counts a long memory's terms) in a worker thread, so
the index applies the batch without holding the event loop for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

from neural_memory.core.fiber import Fiber
from neural_memory.engine.retrieval.lexical import CountedDocument, count_terms
from neural_memory.engine.text import document_terms
from neural_memory.storage._core import FiberRows, fiber_rows_of
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "LONG_MEMORY_CHARS",
    "MANY_MEMORIES",
    "PreparedFibers",
    "documents_of",
    "prepare_fibers",
    "worth_preparing",
]

LONG_MEMORY_CHARS = 20_000
"""A batch holding a memory longer than this has its memories' terms counted in a worker
thread before the index applies it (:func:`prepare_fibers`), not on the event loop."""
MANY_MEMORIES = 2_000
"""So does a batch of at least this many memories (their rows are built there)."""


@dataclass(frozen=True, slots=True)
class PreparedFibers:
    """The index's side of a batch's memories, computed before the index applies the batch.

    Attributes:
        rows: The memories as index rows (``fiber_rows_of`` of the batch's memories, each id
            once, the last version of it).
        documents: Each memory's lexical document (its terms, space-separated), in the
            order of ``rows``.
        counted: The same terms counted (:func:`~.lexical.count_terms`), by fiber id, when
            the batch holds a long memory (else None: the index counts them in bulk).
    """

    rows: FiberRows
    documents: list[str]
    counted: dict[str, CountedDocument] | None


def worth_preparing(batch: WriteBatch) -> bool:
    """Whether ``batch`` writes a long memory or many (a pass over a large brain).

    Long: more than ``LONG_MEMORY_CHARS`` characters; many: at least ``MANY_MEMORIES``.
    """
    fibers = [*batch.insert_fibers, *batch.update_fibers]
    return len(fibers) >= MANY_MEMORIES or _has_long_memory(fibers)


def prepare_fibers(batch: WriteBatch) -> PreparedFibers:
    """What applying ``batch``'s memories to an index costs most: their rows and terms.

    Pure (no index, no I/O): a caller runs it in a worker thread when the batch is
    :func:`worth_preparing`, so neither a memory of a million characters nor a pass over
    every memory holds the event loop while its rows are built and its terms counted.
    """
    fibers = [*batch.insert_fibers, *batch.update_fibers]
    unique = list({fiber.id: fiber for fiber in fibers}.values())
    rows = fiber_rows_of(unique)
    documents = documents_of(rows)
    counted = None
    if _has_long_memory(unique):
        pairs = zip(rows.ids, documents, strict=True)
        counted = {fiber_id: count_terms(text.split()) for fiber_id, text in pairs}
    return PreparedFibers(rows, documents, counted)


def _has_long_memory(fibers: list[Fiber]) -> bool:
    return any(len(fiber.content) > LONG_MEMORY_CHARS for fiber in fibers)


def documents_of(rows: FiberRows) -> list[str]:
    """Each memory's lexical terms, space-separated: as stored with it, else computed."""
    if None not in rows.terms:
        return cast("list[str]", rows.terms)
    return [
        stored if stored is not None else " ".join(document_terms(content or "", speaker))
        for stored, content, speaker in zip(rows.terms, rows.contents, rows.speakers, strict=True)
    ]
