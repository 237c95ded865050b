"""A named set of numpy arrays and text lists as one self-checking byte string (no pickle).

Index snapshots (``_snapshot.py``) are stored in the brain's database and read by any
process that opens it, so they are plain data: a header naming each array's dtype and
length, then the arrays' bytes, with a checksum. Reading one never executes anything from
the file; anything that does not fit raises :class:`SnapshotUnreadableError`.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from neural_memory.errors import NeuralMemoryError

__all__ = ["SnapshotUnreadableError", "Unpacked", "pack", "text_array", "unpack"]

_MAGIC = b"NMINDEX\x00"
_PREFIX = struct.Struct("<8sIIQ")  # magic, format version, header length, checksum
_ALIGN = 8
_SEPARATOR = "\x00"
_DTYPES = frozenset({"<i4", "<i8", "<f4", "<f8", "|u1", "|i1"})


class SnapshotUnreadableError(NeuralMemoryError):
    """A stored snapshot is damaged, of another format version, or does not fit."""


def text_array(strings: Sequence[str]) -> npt.NDArray[np.uint8]:
    """``strings`` as UTF-8 bytes (read back by :meth:`Unpacked.texts`)."""
    joined = _SEPARATOR.join(strings)
    if len(strings) and joined.count(_SEPARATOR) != len(strings) - 1:
        raise ValueError("a text holds the separator; it cannot be packed")
    return np.frombuffer(joined.encode("utf-8"), dtype=np.uint8)


def pack(version: int, arrays: Mapping[str, npt.NDArray[Any]], counts: Mapping[str, int]) -> bytes:
    """``arrays`` (1-d) and the numbers ``counts`` as one byte string of format ``version``."""
    entries: list[list[object]] = []
    chunks: list[bytes] = []
    offset = 0
    for name, array in arrays.items():
        little = array.astype(array.dtype.newbyteorder("<"), copy=False)
        data = little.tobytes()
        entries.append([name, little.dtype.str, offset, len(data)])
        padding = -len(data) % _ALIGN
        chunks.append(data + b"\x00" * padding)
        offset += len(data) + padding
    body = b"".join(chunks)
    header = json.dumps({"arrays": entries, "counts": dict(counts)}).encode()
    header += b" " * (-(len(header) + _PREFIX.size) % _ALIGN)
    checksum = zlib.crc32(body, zlib.crc32(header))
    return _PREFIX.pack(_MAGIC, version, len(header), checksum) + header + body


class Unpacked:
    """The arrays of a packed snapshot, as read-only views of its bytes."""

    def __init__(self, data: bytes, version: int) -> None:
        if len(data) < _PREFIX.size:
            raise SnapshotUnreadableError("snapshot too short")
        magic, found, header_length, checksum = _PREFIX.unpack_from(data)
        if magic != _MAGIC or found != version:
            raise SnapshotUnreadableError(f"snapshot format {found}, expected {version}")
        start = _PREFIX.size + header_length
        view = memoryview(data)
        if zlib.crc32(view[_PREFIX.size :]) != checksum:
            raise SnapshotUnreadableError("snapshot checksum mismatch")
        try:
            header = json.loads(bytes(view[_PREFIX.size : start]))
            self.counts: dict[str, int] = {str(k): int(v) for k, v in header["counts"].items()}
            self._entries = {
                str(name): (str(dtype), int(offset), int(length))
                for name, dtype, offset, length in header["arrays"]
            }
        except (ValueError, KeyError, TypeError) as exc:
            raise SnapshotUnreadableError(f"snapshot header unreadable: {exc}") from exc
        self._body = view[start:]

    def array(self, name: str, dtype: str) -> npt.NDArray[Any]:
        """The array ``name``, which must be of ``dtype``."""
        entry = self._entries.get(name)
        if entry is None or entry[0] != dtype or not _known(dtype):
            raise SnapshotUnreadableError(f"snapshot array {name!r} missing or not {dtype}")
        _, offset, length = entry
        size = np.dtype(dtype).itemsize
        if offset < 0 or length % size or offset + length > len(self._body):
            raise SnapshotUnreadableError(f"snapshot array {name!r} out of bounds")
        return np.frombuffer(self._body, dtype=dtype, count=length // size, offset=offset)

    def byte_strings(self, name: str) -> npt.NDArray[np.bytes_]:
        """The fixed-width byte strings ``name`` (whatever their width)."""
        entry = self._entries.get(name)
        if entry is None or not entry[0].startswith("|S"):
            raise SnapshotUnreadableError(f"snapshot array {name!r} missing or not bytes")
        return self.array(name, entry[0])

    def texts(self, name: str) -> list[str]:
        """The texts packed as ``name`` (with :func:`text_array`; its count in ``counts``)."""
        count = self.count(name)
        if count == 0:
            return []
        try:
            texts = self.array(name, "|u1").tobytes().decode("utf-8").split(_SEPARATOR)
        except UnicodeDecodeError as exc:
            raise SnapshotUnreadableError(f"snapshot texts {name!r} unreadable") from exc
        if len(texts) != count:
            raise SnapshotUnreadableError(f"snapshot texts {name!r}: {len(texts)} of {count}")
        return texts

    def count(self, name: str) -> int:
        """The number stored as ``name`` in ``counts``."""
        count = self.counts.get(name)
        if count is None or count < 0:
            raise SnapshotUnreadableError(f"snapshot count {name!r} missing")
        return count


def _known(dtype: str) -> bool:
    """Whether arrays of ``dtype`` may be read (plain numbers, or fixed-width bytes)."""
    if dtype in _DTYPES:
        return True
    return dtype.startswith("|S") and dtype[2:].isdigit() and 0 < int(dtype[2:]) <= 4096


def unpack(data: bytes, version: int) -> Unpacked:
    """Read ``data`` packed by :func:`pack` with format ``version``."""
    return Unpacked(data, version)
