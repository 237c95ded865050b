"""Hippocampus: the episodic index of recent engrams - pattern completion, temporal links."""

from __future__ import annotations

import heapq
import math
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import numpy.typing as npt

from neural_memory.engine.retrieval.vectors import VectorStore
from neuram.activation import (
    Candidate,
    fragment_weights,
    fragments_of,
    initial_activation,
    query_fragments,
    rank,
)
from neuram.engram import Engram, as_vector

__all__ = ["TEMPORAL_WEIGHT", "TEMPORAL_WINDOW_SECONDS", "Hippocampus"]

TEMPORAL_WINDOW_SECONDS = 60.0
"""Engrams encoded within this time of each other are associated (temporal contiguity)."""
TEMPORAL_WEIGHT = 0.5
"""Weight of the association between two engrams encoded at the same moment."""
_COMPACT_AFTER = 1024

Clock = Callable[[], float]


class Hippocampus:
    """Indexes recent engrams in process and completes patterns from partial cues.

    Each engram is indexed by its fragments (the engine's neurons of its text: words,
    names, times) and, once embedded, its vector (the engine's :class:`VectorStore`).
    :meth:`pattern_complete` turns a partial cue into whole memories: initial activation
    from cosine similarity and cue overlap, then spreading through associations at 0.6x per
    hop. Engrams encoded within a minute of each other are associated (temporal contiguity).
    Everything here is synchronous and in memory; sleep moves engrams on to long-term stores.

    Args:
        clock: Current time in POSIX seconds (``time.time`` by default).
        temporal_window_seconds: How close in time two engrams must be to get associated.
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        temporal_window_seconds: float = TEMPORAL_WINDOW_SECONDS,
    ) -> None:
        self._clock = clock or time.time
        self._window = float(temporal_window_seconds)
        self._engrams: dict[str, Engram] = {}
        self._rows: list[str | None] = []
        self._row_of: dict[str, int] = {}
        self._postings: defaultdict[str, set[int]] = defaultdict(set)
        self._vectors = VectorStore()
        self._last: str | None = None

    # -- EngramSource ------------------------------------------------------------------------

    @property
    def size(self) -> int:
        """Number of engrams indexed."""
        return len(self._engrams)

    def fragment_count(self, fragment: str) -> int:
        """How many indexed engrams hold ``fragment``."""
        rows = self._postings.get(fragment)
        return len(rows) if rows else 0

    def lookup(self, engram_id: str) -> Engram | None:
        """The indexed engram with this id, or None."""
        return self._engrams.get(engram_id)

    # -- contents ----------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._engrams)

    def __contains__(self, engram_id: object) -> bool:
        return engram_id in self._engrams

    def engrams(self) -> list[Engram]:
        """Every indexed engram, in encoding order."""
        return list(self._engrams.values())

    def encode(self, engram: Engram, *, now: float | None = None) -> Engram:
        """Index ``engram`` (its fragments are filled in when empty) and link it in time."""
        moment = self._clock() if now is None else float(now)
        if engram.engram_id in self._engrams:
            self.remove(engram.engram_id, scrub=False)
        if not engram.fragments:
            engram.fragments = fragments_of(engram.content, engram.created_at)
        previous = self._engrams.get(self._last) if self._last else None
        if previous is not None:
            gap = abs(moment - previous.created_at)
            if gap <= self._window:
                weight = round(TEMPORAL_WEIGHT * math.exp(-gap / self._window), 6)
                engram.associate(previous.engram_id, weight)
                previous.associate(engram.engram_id, weight)
        self._engrams[engram.engram_id] = engram
        self._add_row(engram)
        self._last = engram.engram_id
        return engram

    def set_embedding(self, engram_id: str, vector: npt.ArrayLike) -> bool:
        """Give an indexed engram its embedding; False if it is not indexed."""
        engram = self._engrams.get(engram_id)
        if engram is None:
            return False
        engram.embedding = as_vector(vector)
        if engram.vector is not None:
            self._vectors.put(self._row_of[engram_id], engram.vector)
        return True

    def remove(self, engram_id: str, *, scrub: bool = True) -> bool:
        """Take an engram out of the index; ``scrub`` also drops the associations to it."""
        engram = self._engrams.pop(engram_id, None)
        if engram is None:
            return False
        row = self._row_of.pop(engram_id)
        self._rows[row] = None
        self._vectors.drop(row)
        for fragment in set(engram.fragments):
            rows = self._postings.get(fragment)
            if rows is not None:
                rows.discard(row)
                if not rows:
                    del self._postings[fragment]
        if scrub:
            for other, _ in engram.associations:
                neighbour = self._engrams.get(other)
                if neighbour is not None:
                    neighbour.dissociate([engram_id])
        if self._last == engram_id:
            self._last = None
        self._compact_if_sparse()
        return True

    # -- recall ------------------------------------------------------------------------------

    def candidates(
        self, cue: Sequence[str], vector: npt.NDArray[np.float32] | None, limit: int
    ) -> list[Candidate]:
        """The ``limit`` engrams most activated by a cue and a query vector (no spreading)."""
        weights = fragment_weights(cue, [self])
        total = sum(weights.values())
        cue_scores: dict[int, float] = defaultdict(float)
        for fragment, weight in weights.items():
            for row in self._postings.get(fragment, ()):
                cue_scores[row] += weight / total if total > 0 else 0.0
        sims: npt.NDArray[np.float32] | None = None
        rows: set[int] = set(cue_scores)
        if vector is not None:
            sims = self._vectors.similarities(vector, len(self._rows))
            live = [r for r in _top(sims, limit) if self._rows[r] is not None]
            rows.update(live)
        blend = {
            row: initial_activation(
                float(sims[row]) if sims is not None else None, cue_scores.get(row, 0.0)
            )
            for row in rows
            if self._rows[row] is not None
        }
        chosen = heapq.nlargest(limit, blend, key=lambda row: (blend[row], -row))
        return [
            Candidate(self._engrams[row_id], float(sims[row]) if sims is not None else None)
            for row in chosen
            if (row_id := self._rows[row]) is not None
        ]

    def pattern_complete(
        self,
        query: str,
        top_k: int = 10,
        *,
        query_embedding: npt.ArrayLike | None = None,
        now: float | None = None,
    ) -> list[tuple[Engram, float]]:
        """Complete a partial cue into whole engrams: ``(engram, score)``, best first.

        ``query_embedding`` adds cosine similarity (the Brain passes the query's vector);
        without it the cue alone activates. A read: nothing is strengthened.
        """
        moment = self._clock() if now is None else float(now)
        cue = query_fragments(query, moment)
        vector = _unit_vector(query_embedding)
        found = self.candidates(cue, vector, max(3 * top_k, 20))
        return rank(found, [self], cue, now=moment, top_k=top_k)

    # -- housekeeping ------------------------------------------------------------------------

    def _compact_if_sparse(self) -> None:
        dead = len(self._rows) - len(self._engrams)
        if dead < _COMPACT_AFTER or dead < len(self._engrams):
            return
        self._rows, self._row_of = [], {}
        self._postings = defaultdict(set)
        self._vectors = VectorStore()
        for engram in self._engrams.values():
            self._add_row(engram)

    def _add_row(self, engram: Engram) -> None:
        """Give ``engram`` the next row: its fragments' postings and its vector."""
        row = len(self._rows)
        self._rows.append(engram.engram_id)
        self._row_of[engram.engram_id] = row
        for fragment in set(engram.fragments):
            self._postings[fragment].add(row)
        if engram.vector is not None:
            self._vectors.put(row, engram.vector)


def _top(values: npt.NDArray[np.float32], k: int) -> Iterable[int]:
    if values.size <= k:
        return range(values.size)
    return (int(i) for i in np.argpartition(-values, k - 1)[:k])


def _unit_vector(value: npt.ArrayLike | None) -> npt.NDArray[np.float32] | None:
    if value is None:
        return None
    vector = np.asarray(value, dtype=np.float32).reshape(-1)
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else None
