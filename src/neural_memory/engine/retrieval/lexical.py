"""LexicalIndex: an incremental Okapi BM25 index over fiber rows (in memory, no I/O)."""

from __future__ import annotations

import math
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "CountedDocument",
    "LexicalIndex",
    "count_terms",
    "group_bounds",
    "merge_rows",
    "sorted_union",
]

FloatArray = npt.NDArray[np.float32]
POSTINGS_KEPT = 4_000_000
"""How many per-posting BM25 gains (4 bytes each) an index keeps between queries at most."""
RowArray = npt.NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class CountedDocument:
    """A document's distinct terms, in order of first occurrence, and how often each occurs."""

    terms: tuple[str, ...]
    counts: tuple[int, ...]

    @property
    def length(self) -> int:
        """How many terms the document has (repeats included)."""
        return sum(self.counts)


def count_terms(terms: Iterable[str]) -> CountedDocument:
    """``terms`` counted, ready for :meth:`LexicalIndex.extend_counted` (pure: no index).

    What indexing a long document costs most besides the index's own appends, so a caller
    can count it in a worker thread and keep the event loop free.
    """
    counts = Counter(terms)
    return CountedDocument(tuple(counts), tuple(counts.values()))


class LexicalIndex:
    """Okapi BM25 over documents identified by dense integer rows.

    Documents are added incrementally; removing one tombstones it (its postings stay but
    score zero), so postings never need rewriting. Scoring a query touches only the
    postings of its terms and returns a dense score vector.

    Args:
        k1: Term-frequency saturation.
        b: Length normalisation.
    """

    def __init__(self, *, k1: float = 1.2, b: float = 0.75) -> None:
        self.k1 = k1
        self.b = b
        self._rows: MutableMapping[str, array[int]] = {}
        self._tfs: MutableMapping[str, array[float]] = {}
        self._lengths: array[float] = array("f")
        self._alive: bytearray = bytearray()
        self._live_count = 0
        self._live_length = 0.0
        self._term_scores: OrderedDict[str, FloatArray] = OrderedDict()
        self._kept_postings = 0

    @property
    def size(self) -> int:
        """Number of rows ever added (live or not)."""
        return len(self._lengths)

    @property
    def live_count(self) -> int:
        """Number of live documents."""
        return self._live_count

    def add(self, row: int, terms: Iterable[str]) -> None:
        """Index document ``row`` (rows must be added in increasing order, without gaps)."""
        if row != len(self._lengths):
            raise ValueError(f"rows must be added in order: expected {len(self._lengths)}")
        self.extend_counted([count_terms(terms)])

    def extend_counted(self, documents: Sequence[CountedDocument]) -> None:
        """Index ``documents``, counted already (:func:`count_terms`), as the next rows.

        One step per distinct term of each document: for a few long documents, less work
        than :meth:`extend`, none of it counting.
        """
        rows_of, tfs_of = self._rows, self._tfs
        for row, document in enumerate(documents, len(self._lengths)):
            for term, tf in zip(document.terms, document.counts, strict=True):
                postings = rows_of.get(term)
                if postings is None:
                    postings = rows_of[term] = array("i")
                    tfs_of[term] = array("f")
                postings.append(row)
                tfs_of[term].append(tf)
            length = document.length
            self._lengths.append(length)
            self._alive.append(1)
            self._live_count += 1
            self._live_length += length
        if documents:
            self._forget_term_scores()

    def extend(self, documents: Sequence[str]) -> None:
        """Index ``documents`` (space-separated terms) as the next rows: ``add``, in bulk.

        Postings are grouped with numpy instead of one Python step per term occurrence,
        which is what makes opening a large brain fast.
        """
        start, count = len(self._lengths), len(documents)
        if not count:
            return
        sizes = [document.count(" ") + 1 if document else 0 for document in documents]
        lengths = np.array(sizes, dtype=np.int64)
        flat = " ".join(documents).split()
        vocabulary = list(dict.fromkeys(flat))
        number = {term: i for i, term in enumerate(vocabulary)}
        term_ids = np.fromiter(map(number.__getitem__, flat), dtype=np.int64, count=len(flat))
        doc_rows = np.repeat(np.arange(start, start + count, dtype=np.int64), lengths)
        span = start + count
        pairs, tfs = np.unique(term_ids * span + doc_rows, return_counts=True)
        pair_terms, pair_rows = np.divmod(pairs, span)
        firsts, ends = group_bounds(pair_terms)
        rows32, tfs32 = pair_rows.astype(np.int32), tfs.astype(np.float32)
        for first, end, term_id in zip(firsts, ends, pair_terms[firsts].tolist(), strict=True):
            term = vocabulary[term_id]
            self._rows.setdefault(term, array("i")).frombytes(rows32[first:end].tobytes())
            self._tfs.setdefault(term, array("f")).frombytes(tfs32[first:end].tobytes())
        self._lengths.frombytes(lengths.astype(np.float32).tobytes())
        self._alive.extend(b"\x01" * count)
        self._live_count += count
        self._forget_term_scores()
        self._live_length += float(lengths.sum())

    def remove(self, row: int) -> None:
        """Tombstone ``row``; it will score zero from now on."""
        if 0 <= row < len(self._alive) and self._alive[row]:
            self._alive[row] = 0
            self._live_count -= 1
            self._forget_term_scores()
            self._live_length -= self._lengths[row]

    def live(self, rows: RowArray) -> npt.NDArray[np.bool_]:
        """True for each of ``rows`` that is live (added and not removed)."""
        alive: npt.NDArray[np.bool_] = np.frombuffer(self._alive, dtype=np.bool_)[rows]
        return alive

    def document_frequency(self, term: str) -> int:
        """Number of documents (live or not) containing ``term``."""
        rows = self._rows.get(term)
        return len(rows) if rows is not None else 0

    def idf(self, term: str) -> float:
        """BM25 inverse document frequency of ``term`` (0 when unknown)."""
        df = self.document_frequency(term)
        if df == 0 or self._live_count == 0:
            return 0.0
        return math.log(1.0 + (self._live_count - df + 0.5) / (df + 0.5))

    def scores(self, query_terms: Iterable[str]) -> FloatArray:
        """BM25 score of every row for ``query_terms`` (repeated terms count once)."""
        total = np.zeros(len(self._lengths), dtype=np.float32)
        rows, values = self.sparse_scores(query_terms)
        total[rows] = values
        return total

    def sparse_scores(self, query_terms: Iterable[str]) -> tuple[RowArray, FloatArray]:
        """:meth:`scores` at the rows holding a query term: those rows (ascending), their scores.

        Removed rows among them score 0. The work is proportional to the query terms'
        postings, not to the number of rows; each score is computed exactly as :meth:`scores`
        computes it (same float32 steps, terms added in the same order).
        """
        if not self._live_count:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        postings: list[tuple[npt.NDArray[np.int32], FloatArray]] = []
        for term in dict.fromkeys(query_terms):
            gain = self._term_gain(term)
            if gain is not None:
                postings.append((np.frombuffer(self._rows[term], dtype=np.int32), gain))
        held, slots = merge_rows([rows for rows, _ in postings])
        total = np.zeros(held.shape, dtype=np.float32)
        for at, (_, term_scores) in zip(slots, postings, strict=True):
            total[at] += term_scores  # in query order, as the dense sum adds them
        total *= np.frombuffer(self._alive, dtype=np.uint8)[held]
        return held, total

    def _forget_term_scores(self) -> None:
        self._term_scores.clear()
        self._kept_postings = 0

    def _term_gain(self, term: str) -> FloatArray | None:
        """What ``term`` adds to the score of each row of its postings (None: idf 0).

        Kept for the terms asked last (:data:`POSTINGS_KEPT` gains in all) until a document
        is added or removed (which moves idf and the average length): a name or word asked
        about again costs no pass over its postings.
        """
        kept = self._term_scores.get(term)
        if kept is not None:
            self._term_scores.move_to_end(term)
            return kept
        idf = self.idf(term)
        if idf <= 0.0:
            return None
        lengths = np.frombuffer(self._lengths, dtype=np.float32)
        average = self._live_length / self._live_count or 1.0
        rows = np.frombuffer(self._rows[term], dtype=np.int32)
        tf = np.frombuffer(self._tfs[term], dtype=np.float32)
        norm = self.k1 * (1.0 - self.b + self.b * lengths[rows] / average)
        gain = (np.float32(idf) * tf * (self.k1 + 1.0) / (tf + norm)).astype(np.float32)
        gain.setflags(write=False)
        self._term_scores[term] = gain
        self._kept_postings += gain.size
        while self._kept_postings > POSTINGS_KEPT:
            self._kept_postings -= self._term_scores.popitem(last=False)[1].size
        return gain

    def to_arrays(self) -> tuple[list[str], dict[str, npt.NDArray[Any]]]:
        """The index as its terms and flat arrays (for snapshots; see :meth:`from_arrays`)."""
        terms = list(self._rows)
        sizes = np.fromiter(map(len, self._rows.values()), dtype=np.int64, count=len(terms))
        arrays: dict[str, npt.NDArray[Any]] = {
            "ends": np.cumsum(sizes),
            "rows": np.frombuffer(b"".join(map(bytes, self._rows.values())), dtype=np.int32),
            "tfs": np.frombuffer(b"".join(map(bytes, self._tfs.values())), dtype=np.float32),
            "lengths": np.frombuffer(self._lengths, dtype=np.float32),
            "alive": np.frombuffer(self._alive, dtype=np.uint8),
            "live_length": np.array([self._live_length], dtype=np.float64),
        }
        return terms, arrays

    @classmethod
    def from_arrays(
        cls,
        terms: Sequence[str],
        arrays: Mapping[str, npt.NDArray[Any]],
        *,
        k1: float = 1.2,
        b: float = 0.75,
    ) -> LexicalIndex:
        """The index :meth:`to_arrays` described (ValueError when the arrays do not fit)."""
        index = cls(k1=k1, b=b)
        ends = arrays["ends"].tolist()
        lengths, alive = arrays["lengths"], arrays["alive"]
        rows, tfs = arrays["rows"], arrays["tfs"]
        if len(ends) != len(terms) or len(alive) != len(lengths) or len(rows) != len(tfs):
            raise ValueError("lexical arrays of different lengths")
        if (ends and ends[-1] != len(rows)) or (
            len(rows) and not 0 <= rows.min() <= rows.max() < len(lengths)
        ):
            raise ValueError("lexical postings out of bounds")
        row_bytes, tf_bytes = rows.tobytes(), tfs.tobytes()
        starts = [0, *ends[:-1]]
        index._rows = {
            term: array("i", row_bytes[4 * s : 4 * e])
            for term, s, e in zip(terms, starts, ends, strict=True)
        }
        index._tfs = {
            term: array("f", tf_bytes[4 * s : 4 * e])
            for term, s, e in zip(terms, starts, ends, strict=True)
        }
        index._lengths = array("f", lengths.tobytes())
        index._alive = bytearray(alive.tobytes())
        index._live_count = int(np.count_nonzero(alive))
        index._live_length = float(arrays["live_length"][0])
        return index


def group_bounds(keys: npt.NDArray[np.int64]) -> tuple[list[int], list[int]]:
    """Where each run of equal values in sorted ``keys`` starts and ends (exclusive)."""
    if not len(keys):
        return [], []
    bounds = np.flatnonzero(np.diff(keys)) + 1
    return [0, *bounds.tolist()], [*bounds.tolist(), len(keys)]


def sorted_union(parts: Sequence[npt.NDArray[np.integer[Any]]]) -> RowArray:
    """The distinct values of ``parts`` (row numbers), ascending, as ``intp``.

    For a few hundred rows (a ranking's neighbourhood); :func:`merge_rows` for postings.
    A sort and one comparison: ``np.unique`` costs about three times as much at this size.
    """
    if not parts:
        return np.zeros(0, dtype=np.intp)
    ordered = np.sort(np.concatenate(parts).astype(np.intp, copy=False))
    if ordered.size < 2:
        return ordered
    keep = np.empty(ordered.shape, dtype=np.bool_)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    union: RowArray = ordered[keep]
    return union


def merge_rows(
    parts: Sequence[npt.NDArray[np.integer[Any]]],
) -> tuple[RowArray, list[RowArray]]:
    """The distinct values of ``parts``, ascending, and where each part's values sit in them.

    Row lists (postings, candidates) are mostly ascending runs already: a stable sort merges
    them in near-linear time (numpy's quicksort and ``np.unique`` are several times slower on
    the tens of thousands of rows a common term holds), and its order gives every value's
    slot without a binary search per part.
    """
    if not parts:
        return np.zeros(0, dtype=np.intp), []
    merged = np.concatenate(parts).astype(np.intp, copy=False)
    order = np.argsort(merged, kind="stable")
    ordered = merged[order]
    first = np.empty(ordered.shape, dtype=np.bool_)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    slots = np.empty(merged.shape, dtype=np.intp)
    slots[order] = np.cumsum(first) - 1
    return ordered[first], _pieces(slots, parts)


def _pieces(values: RowArray, parts: Sequence[npt.NDArray[Any]]) -> list[RowArray]:
    """``values`` cut into consecutive views as long as each of ``parts`` (``np.split``).

    Slicing in a loop: ``np.split`` costs several times as much for a few parts, and
    :func:`merge_rows` runs twice on every recall.
    """
    pieces: list[RowArray] = []
    start = 0
    for part in parts:
        end = start + len(part)
        pieces.append(values[start:end])
        start = end
    return pieces
