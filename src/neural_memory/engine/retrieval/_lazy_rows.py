"""LazyRows: a list whose items are made on first access (an index opened from a snapshot)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, MutableSequence
from typing import TypeVar, overload

__all__ = ["LazyRows"]

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
