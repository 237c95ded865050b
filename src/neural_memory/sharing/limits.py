"""The format constants and the size limits an imported snapshot must respect.

The limits exist so a hostile or corrupt file is refused with a clear message instead of
exhausting memory or planting absurd values; they are far above what a real brain needs.
The limits of one record (ids, texts, tags, metadata, numbers, dates) are those every
storage write enforces, defined in :mod:`neural_memory.core.limits` and re-exported here;
this module adds only the limits of a whole snapshot.
"""

from __future__ import annotations

from neural_memory.core.limits import (
    MAX_FIBER_MEMBERS,
    MAX_ID_LENGTH,
    MAX_METADATA_CHARS,
    MAX_NAME_LENGTH,
    MAX_TAGS,
    MAX_TEXT_LENGTH,
)

__all__ = [
    "MAX_FIBER_MEMBERS",
    "MAX_FIBERS",
    "MAX_ID_LENGTH",
    "MAX_METADATA_CHARS",
    "MAX_NAME_LENGTH",
    "MAX_NEURONS",
    "MAX_PROJECTS",
    "MAX_SNAPSHOT_CHARS",
    "MAX_SYNAPSES",
    "MAX_TAGS",
    "MAX_TEXT_LENGTH",
    "MAX_TYPED_MEMORIES",
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_FORMAT_VERSION",
]

SNAPSHOT_FORMAT = "neural-memory-brain"
"""The value of the ``format`` field of every snapshot."""

SNAPSHOT_FORMAT_VERSION = 1
"""The snapshot layout this code writes and reads (see docs/export-format.md)."""

MAX_SNAPSHOT_CHARS = 256 * 1024 * 1024
"""Longest JSON text accepted (characters)."""

MAX_NEURONS = 2_000_000
MAX_SYNAPSES = 10_000_000
MAX_FIBERS = 1_000_000
MAX_TYPED_MEMORIES = 1_000_000
MAX_PROJECTS = 100_000
