"""VectorStore: fiber embeddings as rows of one growable float32 matrix (no I/O)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["VectorStore", "row_dots"]

FloatArray = npt.NDArray[np.float32]


class VectorStore:
    """Row-aligned embeddings with a presence mask; similarity is one matrix product."""

    def __init__(self) -> None:
        self._matrix: FloatArray | None = None
        self._present = np.zeros(0, dtype=bool)

    def has(self, row: int) -> bool:
        """True when ``row`` has a vector."""
        return row < len(self._present) and bool(self._present[row])

    def put(self, row: int, vector: FloatArray) -> None:
        """Store the (L2-normalised) ``vector`` of ``row``."""
        vector = np.asarray(vector, dtype=np.float32).reshape(-1)
        if self._matrix is None:
            self._matrix = np.zeros((max(64, row + 1), vector.shape[0]), dtype=np.float32)
            self._present = np.zeros(self._matrix.shape[0], dtype=bool)
        if row >= self._matrix.shape[0]:
            capacity = max(row + 1, self._matrix.shape[0] * 2)
            grown = np.zeros((capacity, self._matrix.shape[1]), dtype=np.float32)
            grown[: self._matrix.shape[0]] = self._matrix
            present = np.zeros(capacity, dtype=bool)
            present[: len(self._present)] = self._present
            self._matrix, self._present = grown, present
        self._matrix[row] = vector
        self._present[row] = True

    def get(self, row: int) -> FloatArray | None:
        """A read-only copy of the vector of ``row``, or None."""
        if self._matrix is None or not self.has(row):
            return None
        vector: FloatArray = self._matrix[row].copy()
        vector.setflags(write=False)
        return vector

    def drop(self, row: int) -> None:
        """Forget the vector of ``row``."""
        if row < len(self._present):
            self._present[row] = False
            if self._matrix is not None:
                self._matrix[row] = 0.0

    def present(self, size: int) -> npt.NDArray[np.bool_]:
        """For rows ``0..size-1``: True where a vector is stored."""
        mask = np.zeros(size, dtype=bool)
        rows = min(size, len(self._present))
        mask[:rows] = self._present[:rows]
        return mask

    def similarities(self, query: FloatArray, size: int) -> FloatArray:
        """Cosine similarity of ``query`` with rows ``0..size-1`` (0 where no vector)."""
        if self._matrix is None or size == 0:
            return np.zeros(size, dtype=np.float32)
        rows = min(size, self._matrix.shape[0])
        sims = np.zeros(size, dtype=np.float32)
        sims[:rows] = row_dots(self._matrix[:rows], np.asarray(query, dtype=np.float32))
        return sims


def row_dots(matrix: FloatArray, vector: FloatArray) -> FloatArray:
    """The dot product of every row of ``matrix`` with ``vector``, on the calling thread.

    Not ``matrix @ vector``: for a large matrix that hands the product to a multi-threaded
    BLAS whose idle threads keep spinning for a while after each call, and on a small machine
    they take the cores an embedding model running next needs (measured: a 10k-engram
    neuram recall went from 15 ms to 30-100 ms). ``einsum`` runs as fast as one BLAS thread.
    """
    dots: FloatArray = np.einsum("ij,j->i", matrix, vector.reshape(-1))
    return dots
