"""Recall-index snapshots in Redis: one hash per brain (``<brain prefix>ix``: seq, data).

The storage's client decodes replies as text, so the bytes are stored base64-encoded. The
key carries the brain's prefix, so deleting the brain deletes it.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from neural_memory.errors import BrainNotFoundError
from neural_memory.storage._core import IndexSnapshot

__all__ = ["get_index_snapshot", "put_index_snapshot"]


async def get_index_snapshot(client: Any, key: str) -> IndexSnapshot | None:
    """The snapshot stored under ``key``, or None (also for a damaged one)."""
    seq, data = await client.hmget(key, ["seq", "data"])
    if seq is None or data is None:
        return None
    try:
        return IndexSnapshot(int(seq), base64.b64decode(data, validate=True))
    except (ValueError, binascii.Error):
        return None


async def put_index_snapshot(
    client: Any, key: str, brains_key: str, brain_id: str, snapshot: IndexSnapshot
) -> bool:
    """Store ``snapshot`` under ``key`` unless one of a later seq is; True when stored.

    Watched, so a brain deleted meanwhile or a concurrent newer snapshot wins.
    """
    data = base64.b64encode(snapshot.data).decode("ascii")
    async with client.pipeline(transaction=True) as pipe:
        await pipe.watch(key, brains_key)
        if not await pipe.hexists(brains_key, brain_id):
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
        stored = await pipe.hget(key, "seq")
        if stored is not None and int(stored) > snapshot.seq:
            return False
        pipe.multi()
        pipe.hset(key, mapping={"seq": snapshot.seq, "data": data})
        await pipe.execute()
    return True
