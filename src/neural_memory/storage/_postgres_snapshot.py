"""Recall-index snapshots in PostgreSQL: one bytea per brain, tagged with its change seq."""

from __future__ import annotations

from typing import Any

from neural_memory.errors import BrainNotFoundError
from neural_memory.storage._core import IndexSnapshot

__all__ = ["get_index_snapshot", "put_index_snapshot"]

_GET = """
SELECT s.seq, s.data FROM index_snapshots AS s JOIN brains AS b ON b.num = s.brain
WHERE b.id = $1
"""
# A snapshot never replaces one of a later seq (two processes closing at once: the newer wins).
_PUT = """
INSERT INTO index_snapshots (brain, seq, data) VALUES ($1, $2, $3)
ON CONFLICT (brain) DO UPDATE SET seq = excluded.seq, data = excluded.data
WHERE excluded.seq >= index_snapshots.seq
"""


async def get_index_snapshot(conn: Any, brain_id: str) -> IndexSnapshot | None:
    """The brain's stored snapshot, or None (``conn``: an asyncpg connection)."""
    row = await conn.fetchrow(_GET, brain_id)
    return None if row is None else IndexSnapshot(int(row[0]), bytes(row[1]))


async def put_index_snapshot(conn: Any, brain_id: str, snapshot: IndexSnapshot) -> bool:
    """Store ``snapshot`` unless one of a later seq is stored; True when it was stored."""
    async with conn.transaction():
        brain = await conn.fetchval("SELECT num FROM brains WHERE id = $1", brain_id)
        if brain is None:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")
        status: str = await conn.execute(_PUT, brain, snapshot.seq, snapshot.data)
        return status.endswith(" 1")
