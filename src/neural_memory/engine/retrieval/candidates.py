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

__all__ = ["RecallArrays", "RowScores", "Stamp", "member_mask"]

FloatArray = npt.NDArray[np.float32]
RowArray = npt.NDArray[np.intp]


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


def member_mask(members: RowArray, rows: RowArray) -> FloatArray:
    """1.0 for each of ``rows`` found in ``members``, else 0.0 (both ascending, distinct).

    The shorter of the two is looked up in the longer one.
    """
    mask = np.zeros(rows.shape, dtype=np.float32)
    if not members.size or not rows.size:
        return mask
    if rows.size <= members.size:
        slots = np.minimum(np.searchsorted(members, rows), members.size - 1)
        mask[members[slots] == rows] = 1.0
    else:
        slots = np.minimum(np.searchsorted(rows, members), rows.size - 1)
        mask[slots[rows[slots] == members]] = 1.0
    return mask


Stamp = tuple[object, int, int]
"""What identifies an index's memories: its neuron table, fiber row count and live count.

Rows are only appended and a memory whose neurons change gets a new row, so any change to
which memories bind which neurons (or who said them) moves one of the three; a rebuilt or
reloaded index has a new neuron table.
"""


class RecallArrays:
    """Query-independent arrays recall reads, made once and kept until ``stamp`` moves.

    Owned by one index; ``limit`` bounds how many neurons' member arrays are kept (least
    recently used go first).
    """

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._stamp: Stamp | None = None
        self._members: OrderedDict[int, RowArray] = OrderedDict()
        self._owners: dict[int | None, int | None] = {}

    def members(self, stamp: Stamp, neuron: int, make: Callable[[], RowArray]) -> RowArray:
        """The ascending fiber rows binding ``neuron`` (``make`` builds them when not kept)."""
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
