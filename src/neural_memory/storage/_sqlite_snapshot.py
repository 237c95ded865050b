"""Recall-index snapshots in SQLite: one blob per brain, tagged with the change seq it reflects."""

from __future__ import annotations

import sqlite3

from neural_memory.storage._core import IndexSnapshot
from neural_memory.storage._sqlite_write import brain_number, write_transaction

__all__ = ["get_index_snapshot", "put_index_snapshot"]

_GET = """
SELECT s.seq, s.data FROM index_snapshots AS s JOIN brains AS b ON b.num = s.brain
WHERE b.id = ?
"""
# A snapshot never replaces one of a later seq (two processes closing at once: the newer wins).
_PUT = """
INSERT INTO index_snapshots (brain, seq, data) VALUES (?, ?, ?)
ON CONFLICT (brain) DO UPDATE SET seq = excluded.seq, data = excluded.data
WHERE excluded.seq >= index_snapshots.seq
"""


def get_index_snapshot(conn: sqlite3.Connection, brain_id: str) -> IndexSnapshot | None:
    """The brain's stored snapshot, or None."""
    row = conn.execute(_GET, (brain_id,)).fetchone()
    return None if row is None else IndexSnapshot(int(row[0]), bytes(row[1]))


def put_index_snapshot(conn: sqlite3.Connection, brain_id: str, snapshot: IndexSnapshot) -> bool:
    """Store ``snapshot`` unless one of a later seq is stored; True when it was stored."""
    with write_transaction(conn):
        brain = brain_number(conn, brain_id)
        cursor = conn.execute(_PUT, (brain, snapshot.seq, snapshot.data))
        return cursor.rowcount > 0
