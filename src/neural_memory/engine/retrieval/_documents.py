"""The lexical documents of memories, and counting them ahead of the index (pure, no I/O).

A memory's document is its lexical terms, space-separated: what the recall index's BM25
part indexes. For a batch holding a long memory, :func:`prepare_fibers` computes and counts
them in a worker thread, so the index applies the batch without holding the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from typing import cast

from neural_memory.engine.retrieval.lexical import CountedDocument, count_terms
from neural_memory.engine.text import document_terms
from neural_memory.storage._core import FiberRows, fiber_rows_of
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "LONG_MEMORY_CHARS",
    "PreparedFibers",
    "documents_of",
    "has_long_memory",
    "prepare_fibers",
]

LONG_MEMORY_CHARS = 20_000
"""A batch holding a memory longer than this has its memories' terms counted in a worker
thread before the index applies it (:func:`prepare_fibers`), not on the event loop."""


@dataclass(frozen=True, slots=True)
class PreparedFibers:
    """The lexical side of a batch's memories, computed before the index applies the batch.

    Attributes:
        documents: Each memory's lexical document (its terms, space-separated), by fiber id.
        counted: The same terms counted (:func:`~.lexical.count_terms`), by fiber id.
    """

    documents: dict[str, str]
    counted: dict[str, CountedDocument]


def has_long_memory(batch: WriteBatch) -> bool:
    """Whether ``batch`` writes a memory longer than ``LONG_MEMORY_CHARS``."""
    fibers = chain(batch.insert_fibers, batch.update_fibers)
    return any(len(fiber.content) > LONG_MEMORY_CHARS for fiber in fibers)


def prepare_fibers(batch: WriteBatch) -> PreparedFibers:
    """What applying ``batch``'s memories to an index costs most: their terms, counted.

    Pure (no index, no I/O): a caller runs it in a worker thread when the batch
    :func:`has_long_memory`, so a memory of a million characters never holds the event
    loop while its terms are counted.
    """
    fibers = [*batch.insert_fibers, *batch.update_fibers]
    unique = list({fiber.id: fiber for fiber in fibers}.values())
    rows = fiber_rows_of(unique)
    documents = dict(zip(rows.ids, documents_of(rows), strict=True))
    counted = {fiber_id: count_terms(text.split()) for fiber_id, text in documents.items()}
    return PreparedFibers(documents, counted)


def documents_of(rows: FiberRows) -> list[str]:
    """Each memory's lexical terms, space-separated: as stored with it, else computed."""
    if None not in rows.terms:
        return cast("list[str]", rows.terms)
    return [
        stored if stored is not None else " ".join(document_terms(content or "", speaker))
        for stored, content, speaker in zip(rows.terms, rows.contents, rows.speakers, strict=True)
    ]
