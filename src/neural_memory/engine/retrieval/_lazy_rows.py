"""Containers of an index opened from a snapshot, filled from its flat arrays when read."""

from __future__ import annotations

from collections.abc import (
    Callable,
    Iterator,
    Mapping,
    MutableMapping,
    MutableSequence,
    Sequence,
)
from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt

__all__ = ["LazyMap", "LazyRows", "SortedIds", "id_arrays"]

T = TypeVar("T")


class LazyRows(MutableSequence[T]):
    """``count`` rows, row ``i`` made by ``make(i)`` the first time it is read, then kept.

    A large index loaded from its snapshot holds every fiber's neurons and every neuron's
    links as flat arrays; recall reads a few thousand of them, so only those become Python
    objects. Items appended later are stored as given. Rows are only ever appended.
    """

    __slots__ = ("_items", "_make")

    def __init__(self, count: int, make: Callable[[int], T]) -> None:
        self._items: list[T | None] = [None] * count
        self._make = make

    @property
    def maker(self) -> Callable[[int], T]:
        """Makes row ``i`` the first time it is read (from the arrays the rows were loaded from)."""
        return self._make

    def made(self) -> dict[int, T]:
        """The rows read or set so far, by row (the others still equal what ``maker`` makes)."""
        return {row: item for row, item in enumerate(self._items) if item is not None}

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, row: int) -> T: ...
    @overload
    def __getitem__(self, row: slice) -> list[T]: ...
    def __getitem__(self, row: int | slice) -> T | list[T]:
        if isinstance(row, slice):
            return [self[i] for i in range(*row.indices(len(self._items)))]
        item = self._items[row]
        if item is None:
            row = row if row >= 0 else row + len(self._items)
            item = self._items[row] = self._make(row)
        return item

    @overload
    def __setitem__(self, row: int, value: T) -> None: ...
    @overload
    def __setitem__(self, row: slice, value: object) -> None: ...
    def __setitem__(self, row: int | slice, value: object) -> None:
        if isinstance(row, slice):
            raise TypeError("LazyRows rows are set one at a time")
        self._items[row] = value  # type: ignore[assignment]

    def __delitem__(self, row: int | slice) -> None:
        raise TypeError("LazyRows rows are never removed")

    def insert(self, index: int, value: T) -> None:
        """Append ``value`` (rows keep their numbers: inserting elsewhere is refused)."""
        if index != len(self._items):
            raise TypeError("LazyRows rows are only appended")
        self._items.append(value)

    def extend(self, values: object) -> None:
        """Append every value of ``values``."""
        self._items.extend(values)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[T]:
        return (self[i] for i in range(len(self._items)))


class LazyMap(MutableMapping[str, T]):
    """``keys[i]`` -> ``make(i)``, made the first time it is read, then kept; keys may be added.

    Iterates in the order of ``keys``, then of the keys added, as a dict filled that way.
    Keys are never removed.
    """

    def __init__(self, keys: Sequence[str], make: Callable[[int], T]) -> None:
        self._numbers = dict(zip(keys, range(len(keys)), strict=True))
        self._make = make
        self._made: dict[str, T] = {}
        self._added = 0

    def __getitem__(self, key: str) -> T:
        value = self._made.get(key)
        if value is None:
            value = self._made[key] = self._make(self._numbers[key])
        return value

    def __setitem__(self, key: str, value: T) -> None:
        if key not in self._made and key not in self._numbers:
            self._added += 1
        self._made[key] = value

    def __delitem__(self, key: str) -> None:
        raise TypeError("LazyMap keys are never removed")

    def __contains__(self, key: object) -> bool:
        return key in self._numbers or key in self._made

    def __iter__(self) -> Iterator[str]:
        yield from self._numbers
        yield from (key for key in self._made if key not in self._numbers)

    def __len__(self) -> int:
        return len(self._numbers) + self._added


class SortedIds(MutableMapping[str, int]):
    """Id -> row, read from two sorted arrays until changed (then from a dict on top).

    A snapshot stores a large index's synapse ids as one sorted fixed-width byte array;
    looking ids up there by binary search spares building a dict of every id when a brain
    is opened. Changes go to a small dict; ids removed from the arrays are remembered.
    An id found by binary search (~10 us) is remembered too: recall looks up the same
    few thousand synapses and memories again and again.
    """

    def __init__(self, keys: npt.NDArray[np.bytes_], values: npt.NDArray[np.int32]) -> None:
        self._keys, self._values = keys, values
        self._added: dict[str, int] = {}
        self._removed: set[str] = set()
        self._found: dict[str, int] = {}

    def _stored(self, key: str) -> int | None:
        """The row of ``key`` in the arrays (None: not there, or removed since)."""
        if key in self._removed:
            return None
        found = self._found.get(key)
        if found is not None or not len(self._keys):
            return found
        encoded = key.encode()
        at = int(np.searchsorted(self._keys, encoded))
        if at < len(self._keys) and self._keys[at] == encoded:
            found = self._found[key] = int(self._values[at])
        return found

    def look_up(self, keys: Sequence[str]) -> None:
        """Find many ``keys`` in the arrays with one binary search (``get`` then finds them)."""
        wanted = [k for k in keys if k not in self._found and k not in self._removed]
        if not wanted or not len(self._keys):
            return
        encoded = np.array([key.encode() for key in wanted], dtype=np.bytes_)
        at = np.minimum(np.searchsorted(self._keys, encoded), len(self._keys) - 1)
        hit = self._keys[at] == encoded
        rows = self._values[at[hit]].tolist()
        self._found.update(zip(np.array(wanted, dtype=object)[hit].tolist(), rows, strict=True))

    def __getitem__(self, key: str) -> int:
        value = self.get(key)
        if value is None:
            raise KeyError(key)
        return value

    @overload
    def get(self, key: str, /) -> int | None: ...
    @overload
    def get(self, key: str, /, default: int | T) -> int | T: ...
    def get(self, key: str, /, default: int | T | None = None) -> int | T | None:
        """The row of ``key``, else ``default`` (without raising and catching KeyError)."""
        value = self._added.get(key)
        if value is None:
            value = self._stored(key)
        return default if value is None else value

    def __setitem__(self, key: str, value: int) -> None:
        if self._stored(key) is not None:
            self._removed.add(key)
        self._added[key] = value

    def __delitem__(self, key: str) -> None:
        stored = self._stored(key)
        if key not in self._added and stored is None:
            raise KeyError(key)
        self._added.pop(key, None)
        if stored is not None:
            self._removed.add(key)

    def __iter__(self) -> Iterator[str]:
        keys = (key.decode() for key in self._keys.tolist())
        yield from (key for key in keys if key not in self._removed)
        yield from self._added

    def __len__(self) -> int:
        return len(self._keys) - len(self._removed) + len(self._added)

    def arrays(self) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int32]]:
        """Every id (UTF-8, sorted) and its row, as arrays (for a snapshot)."""
        keep = np.ones(len(self._keys), dtype=bool)
        if self._removed:
            gone = np.array([key.encode() for key in self._removed], dtype=np.bytes_)
            keep = ~np.isin(self._keys, gone)
        added_keys, added_values = id_arrays(self._added)
        keys = np.concatenate([self._keys[keep], added_keys]) if self._added else self._keys[keep]
        values = np.concatenate([self._values[keep], added_values])
        order = np.argsort(keys, kind="stable")
        return keys[order], values[order].astype(np.int32)


def id_arrays(ids: Mapping[str, int]) -> tuple[npt.NDArray[np.bytes_], npt.NDArray[np.int32]]:
    """The ids of ``ids`` (UTF-8, sorted) and their rows, as arrays."""
    if isinstance(ids, SortedIds):
        return ids.arrays()
    encoded = [key.encode() for key in ids]
    if any(key.endswith(b"\x00") for key in encoded):
        raise ValueError("an id ends with a NUL byte; it cannot be packed")
    keys = np.array(encoded, dtype=np.bytes_) if encoded else np.array([], dtype="S1")
    values = np.fromiter(ids.values(), dtype=np.int32, count=len(encoded))
    order = np.argsort(keys, kind="stable")
    return keys[order], values[order]
