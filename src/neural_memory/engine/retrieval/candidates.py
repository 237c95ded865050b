"""Scores of a query's candidate rows only, and the per-brain arrays they are read from.

A recall scores the memories its signals reach (the query terms' postings, spreading
activation, conversation neighbours), not every memory of the brain: those rows are kept
ascending in one compact array and every signal is gathered for them alone. Any row outside
them scores exactly 0 in the dense formulation, and the rows that score above 0 come in the
same order as there, so the ranking (ties included) is the dense one.

Pure numpy over the index; :class:`RecallArrays` caches the query-independent arrays
(which memories bind a neuron, the brain's owner) until the index's memories change.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["RecallArrays", "RowScores", "Stamp", "member_bits", "member_mask"]

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.intp]
BitArray = npt.NDArray[np.uint8]


@dataclass(frozen=True, slots=True)
class RowScores:
    """Scores of some rows (``rows`` ascending and distinct); every other row scores 0."""

    rows: RowArray
    values: FloatArray

    def at(self, wanted: RowArray) -> FloatArray:
        """The scores of the ``wanted`` rows (each >= 0): 0 for a row not held."""
        if not self.rows.size:
            return np.zeros(wanted.shape, dtype=np.float32)
        slots = np.minimum(np.searchsorted(self.rows, wanted), self.rows.size - 1)
        held = self.rows[slots] == wanted
        found: FloatArray = np.where(held, self.values[slots], np.float32(0.0))
        return found


def member_bits(members: RowArray, size: int) -> BitArray:
    """``members`` (rows below ``size``) as a bitset: row ``r`` is bit ``r % 8`` of byte ``r // 8``.

    An eighth of a byte per row of the brain, and reading it for many rows is a few passes
    over them (a binary search per row costs several times that).
    """
    mask = np.zeros(size, dtype=np.bool_)
    mask[members] = True
    bits: BitArray = np.packbits(mask, bitorder="little")
    return bits


def member_mask(bits: BitArray, rows: RowArray) -> FloatArray:
    """1.0 for each of ``rows`` (each below the bitset's size) set in ``bits``, else 0.0."""
    shifted = bits[rows >> 3] >> (rows & 7).astype(np.uint8)
    mask: FloatArray = (shifted & 1).astype(np.float32)
    return mask


Stamp = tuple[object, int, int]
"""What identifies an index's memories: its neuron table, fiber row count and live count.

Rows are only appended and a memory whose neurons change gets a new row, so any change to
which memories bind which neurons (or who said them) moves one of the three; a rebuilt or
reloaded index has a new neuron table.
"""


class RecallArrays:
    """Query-independent arrays recall reads, made once and kept until ``stamp`` moves.

    Owned by one index; ``limit`` bounds how many neurons' member bitsets are kept (least
    recently used go first; one costs an eighth of a byte per memory).
    """

    def __init__(self, limit: int = 64) -> None:
        self._limit = limit
        self._stamp: Stamp | None = None
        self._members: OrderedDict[int, BitArray] = OrderedDict()
        self._owners: dict[int | None, int | None] = {}

    def members(self, stamp: Stamp, neuron: int, make: Callable[[], BitArray]) -> BitArray:
        """The fiber rows binding ``neuron`` as a bitset (``make`` builds it when not kept)."""
        self._check(stamp)
        found = self._members.get(neuron)
        if found is None:
            found = self._members[neuron] = make()
            if len(self._members) > self._limit:
                self._members.popitem(last=False)
        else:
            self._members.move_to_end(neuron)
        return found

    def owner(
        self, stamp: Stamp, role_row: int | None, make: Callable[[], int | None]
    ) -> int | None:
        """The brain owner's neuron row given the ``role_row`` (``make`` finds it when not kept)."""
        self._check(stamp)
        if role_row not in self._owners:
            self._owners[role_row] = make()
        return self._owners[role_row]

    def _check(self, stamp: Stamp) -> None:
        kept = self._stamp
        if kept is None or kept[0] is not stamp[0] or kept[1:] != stamp[1:]:
            self._stamp = stamp
            self._members.clear()
            self._owners.clear()
