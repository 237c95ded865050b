"""SQLite's change log in runs: one row per run of consecutive seqs of one kind (sync).

A write batch logs one entry per touched id (neurons, then synapses, then fibers, each in id
order), so a batch of a thousand memories logs thousands of entries but only up to three
runs: ``change_runs`` holds ``(brain, first_seq, last_seq, kind, entity_ids)`` with the ids as
a JSON array, one per seq. A reader expands the runs after its seq; trimming the log to its
limit cuts the oldest run it reaches into, so the log holds exactly what InMemoryStorage's
does. Runs on the storage's connection thread, inside the caller's transaction or snapshot.
"""

from __future__ import annotations

import itertools
import sqlite3
from operator import itemgetter

from neural_memory.core.events import ChangeKind, ChangeRecord
from neural_memory.storage import _sqlite_rows as codec

__all__ = ["log_changes", "read_changes"]

_KINDS = {kind.value: kind for kind in ChangeKind}
_INSERT_RUN = (
    "INSERT INTO change_runs (brain, first_seq, last_seq, kind, entity_ids) VALUES (?, ?, ?, ?, ?)"
)


def log_changes(
    conn: sqlite3.Connection, brain: int, entries: list[tuple[str, str]], limit: int
) -> int:
    """Log ``entries`` (kind, id) under fresh seqs; trim the log to ``limit``; the last seq."""
    if entries:
        conn.execute("UPDATE brains SET seq = seq + ? WHERE num = ?", (len(entries), brain))
    seq: int = conn.execute("SELECT seq FROM brains WHERE num = ?", (brain,)).fetchone()[0]
    if entries:
        conn.executemany(_INSERT_RUN, _runs(brain, seq - len(entries) + 1, entries))
        if seq > limit:
            _trim(conn, brain, seq - limit)
    return seq


def _runs(brain: int, first: int, entries: list[tuple[str, str]]) -> list[codec.Row]:
    """The rows of ``entries`` logged from seq ``first`` on: one per run of one kind."""
    rows: list[codec.Row] = []
    for kind, run in itertools.groupby(entries, key=itemgetter(0)):
        ids = [entity_id for _, entity_id in run]
        rows.append((brain, first, first + len(ids) - 1, kind, codec.string_array(ids)))
        first += len(ids)
    return rows


def _trim(conn: sqlite3.Connection, brain: int, cutoff: int) -> None:
    """Drop the entries up to seq ``cutoff``, cutting the run that straddles it."""
    conn.execute("DELETE FROM change_runs WHERE brain = ? AND last_seq <= ?", (brain, cutoff))
    oldest = conn.execute(
        "SELECT first_seq, last_seq, entity_ids FROM change_runs "
        "WHERE brain = ? AND last_seq > ? ORDER BY last_seq LIMIT 1",
        (brain, cutoff),
    ).fetchone()
    if oldest is not None and oldest[0] <= cutoff:
        kept = codec.load_json(oldest[2])[cutoff + 1 - oldest[0] :]
        conn.execute(
            "UPDATE change_runs SET first_seq = ?, entity_ids = ? WHERE brain = ? AND last_seq = ?",
            (cutoff + 1, codec.string_array(kept), brain, oldest[1]),
        )


def read_changes(conn: sqlite3.Connection, brain: int, since: int) -> list[ChangeRecord] | None:
    """The entries after ``since`` in seq order; None when the log no longer reaches back.

    The caller has checked that the brain's seq is past ``since``.
    """
    found = conn.execute(
        "SELECT first_seq, kind, entity_ids FROM change_runs "
        "WHERE brain = ? AND last_seq > ? ORDER BY last_seq",
        (brain, since),
    ).fetchall()
    if not found or found[0][0] > since + 1:
        return None
    changes: list[ChangeRecord] = []
    for first, kind, ids in found:
        member = _KINDS[kind]
        skip = max(0, since + 1 - first)
        changes.extend(
            ChangeRecord(seq, member, entity_id)
            for seq, entity_id in enumerate(codec.load_json(ids)[skip:], first + skip)
        )
    return changes
