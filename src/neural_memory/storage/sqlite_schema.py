"""The SQLite schema of :class:`~neural_memory.storage.sqlite.SQLiteStorage` and its versioning.

The schema version lives in ``PRAGMA user_version``. A database written by a newer release
(a higher version) is refused rather than misread; a file that holds tables but no version is
not a NeuralMemory database and is refused too. Everything here is synchronous and runs on
the storage's connection thread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from neural_memory.errors import StorageError
from neural_memory.storage._sqlite_rows import stored_terms

__all__ = ["SCHEMA_VERSION", "prepare_schema"]

SCHEMA_VERSION = 7
"""The schema version this release reads and writes (older versions are migrated on open)."""

# Every brain-scoped table is keyed by (brain, id), where ``brain`` is the brain's row number
# in ``brains`` (a small integer keeps every key and index entry short; the text id lives in
# ``brains`` only). Timestamps are INTEGER microseconds since the epoch (UTC). Neurons keep
# their rowid: "oldest first" means insertion order. Only tables with small rows are WITHOUT
# ROWID (large rows would spill into overflow pages there).
_SCHEMA_V1 = """
CREATE TABLE brains (
    num INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    seq INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE neurons (
    brain INTEGER NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    content_key TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    activation REAL NOT NULL,
    access_count INTEGER NOT NULL,
    last_accessed INTEGER,
    PRIMARY KEY (brain, id)
);
CREATE INDEX neurons_by_content ON neurons (brain, content_key);
CREATE INDEX neurons_by_type ON neurons (brain, type);

CREATE TABLE synapses (
    brain INTEGER NOT NULL,
    id TEXT NOT NULL,
    source_id TEXT NOT NULL,
    target_id TEXT NOT NULL,
    type TEXT NOT NULL,
    weight REAL NOT NULL,
    direction TEXT NOT NULL,
    metadata TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_activated INTEGER,
    reinforced_count INTEGER NOT NULL,
    PRIMARY KEY (brain, id),
    FOREIGN KEY (brain, source_id) REFERENCES neurons (brain, id) ON DELETE CASCADE,
    FOREIGN KEY (brain, target_id) REFERENCES neurons (brain, id) ON DELETE CASCADE
);
CREATE INDEX synapses_by_source ON synapses (brain, source_id);
CREATE INDEX synapses_by_target ON synapses (brain, target_id);

CREATE TABLE fibers (
    brain INTEGER NOT NULL,
    id TEXT NOT NULL,
    neuron_ids TEXT NOT NULL,
    synapse_ids TEXT NOT NULL,
    anchor_neuron_id TEXT NOT NULL,
    pathway TEXT NOT NULL,
    content TEXT NOT NULL,
    conductivity REAL NOT NULL,
    salience REAL NOT NULL,
    last_conducted INTEGER,
    access_count INTEGER NOT NULL,
    tags TEXT NOT NULL,
    metadata TEXT NOT NULL,
    occurred_at INTEGER,
    created_at INTEGER NOT NULL,
    superseded_by TEXT,
    PRIMARY KEY (brain, id)
);
CREATE INDEX fibers_by_age ON fibers (brain, created_at, id);

CREATE TABLE fiber_neurons (
    brain INTEGER NOT NULL,
    neuron_id TEXT NOT NULL,
    fiber_id TEXT NOT NULL,
    PRIMARY KEY (brain, neuron_id, fiber_id)
) WITHOUT ROWID;

CREATE TABLE typed_memories (
    brain INTEGER NOT NULL,
    id TEXT NOT NULL,
    fiber_id TEXT NOT NULL,
    memory_type TEXT NOT NULL,
    priority INTEGER NOT NULL,
    source TEXT NOT NULL,
    expires_at INTEGER,
    tags TEXT NOT NULL,
    project_id TEXT,
    created_at INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    PRIMARY KEY (brain, id)
);
CREATE INDEX typed_memories_by_fiber ON typed_memories (brain, fiber_id);
CREATE INDEX typed_memories_by_project ON typed_memories (brain, project_id);
CREATE INDEX typed_memories_by_type ON typed_memories (brain, memory_type, priority);

CREATE TABLE projects (
    brain INTEGER NOT NULL,
    id TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    ends_at INTEGER,
    PRIMARY KEY (brain, id)
);

CREATE TABLE alerts (
    brain INTEGER NOT NULL,
    id TEXT NOT NULL,
    alert_type TEXT NOT NULL,
    severity TEXT NOT NULL,
    message TEXT NOT NULL,
    status TEXT NOT NULL,
    metric_value REAL NOT NULL,
    threshold REAL NOT NULL,
    created_at INTEGER NOT NULL,
    seen_at INTEGER,
    acknowledged_at INTEGER,
    resolved_at INTEGER,
    PRIMARY KEY (brain, id)
);
CREATE INDEX alerts_by_status ON alerts (brain, status);

CREATE TABLE recall_events (
    brain INTEGER NOT NULL,
    id TEXT NOT NULL,
    query TEXT NOT NULL,
    fiber_ids TEXT NOT NULL,
    confidence REAL NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX recall_events_by_time ON recall_events (brain, created_at);

CREATE TABLE meta (
    brain INTEGER NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (brain, key)
);

CREATE TABLE changes (
    brain INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    PRIMARY KEY (brain, seq)
) WITHOUT ROWID;
"""


# Version 2: memories' embeddings, one row per (fiber, model), float32 little-endian bytes.
_MIGRATION_V2 = """
CREATE TABLE vectors (
    brain INTEGER NOT NULL,
    model TEXT NOT NULL,
    fiber_id TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (brain, model, fiber_id)
) WITHOUT ROWID;
CREATE INDEX vectors_by_fiber ON vectors (brain, fiber_id);
"""

# Version 3: each memory's lexical terms, stored with it so that opening a brain needs no
# tokenising (see ``_sqlite_rows.stored_terms``); the migration computes them for every row.
_MIGRATION_V3 = """
ALTER TABLE fibers ADD COLUMN terms TEXT;
UPDATE fibers SET terms = nm_stored_terms(content, CASE WHEN json_type(metadata, '$.speaker')
    = 'text' THEN json_extract(metadata, '$.speaker') END)
"""


def _add_terms(conn: sqlite3.Connection) -> None:
    conn.create_function("nm_stored_terms", 2, stored_terms, deterministic=True)
    _execute_script(conn, _MIGRATION_V3)


# Version 4: deleting a memory looks up the memories it supersedes (their ``superseded_by``)
# through an index instead of scanning the brain. Partial: most memories supersede nothing.
_MIGRATION_V4 = """
CREATE INDEX fibers_by_successor ON fibers (brain, superseded_by)
    WHERE superseded_by IS NOT NULL
"""

# Version 5: each brain's recall-index snapshot (engine/retrieval/_snapshot.py), one blob
# tagged with the change seq it reflects, so a new process opens a large brain without
# rebuilding its index from every row.
_MIGRATION_V5 = """
CREATE TABLE index_snapshots (
    brain INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    data BLOB NOT NULL
)
"""

# Version 6: each brain's record version, moved by every ``save_brain`` that replaces it, so
# a process that keeps the brain's record (a server worker) learns it changed from the same
# one-row read that gives the change seq (``Storage.get_brain_version``).
_MIGRATION_V6 = """
ALTER TABLE brains ADD COLUMN record_version INTEGER NOT NULL DEFAULT 0
"""

# Version 7: the change log in runs (``_sqlite_changes``): one row per run of consecutive seqs
# of one kind, its ids a JSON array, instead of one row per entry (a batch of a thousand
# memories logged about 8,000 rows, now at most three). A rowid table: a run's row may be
# large. Each old entry becomes a run of one.
_MIGRATION_V7 = """
CREATE TABLE change_runs (
    brain INTEGER NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    entity_ids TEXT NOT NULL,
    PRIMARY KEY (brain, last_seq)
);
INSERT INTO change_runs (brain, first_seq, last_seq, kind, entity_ids)
    SELECT brain, seq, seq, kind, json_array(entity_id) FROM changes;
DROP TABLE changes
"""

_MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    2: lambda conn: _execute_script(conn, _MIGRATION_V2),
    3: _add_terms,
    4: lambda conn: _execute_script(conn, _MIGRATION_V4),
    5: lambda conn: _execute_script(conn, _MIGRATION_V5),
    6: lambda conn: _execute_script(conn, _MIGRATION_V6),
    7: lambda conn: _execute_script(conn, _MIGRATION_V7),
}
"""Version -> what brings a database of the version before it to it."""


def prepare_schema(conn: sqlite3.Connection, where: str) -> None:
    """Create the schema in an empty database, or check the version of an existing one.

    A database of an older version is migrated step by step, in the same transaction.
    Runs in its own ``BEGIN IMMEDIATE`` transaction so two processes opening a new file at
    once do not both create it. ``where`` names the database in error messages.
    """
    if _user_version(conn) == SCHEMA_VERSION:
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = _user_version(conn)
        if version == 0:
            if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
                raise StorageError(
                    f"{where} is an SQLite database of another application "
                    "(it has tables but no NeuralMemory schema version); refusing to use it"
                )
            _execute_script(conn, _SCHEMA_V1)
            version = 1
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{where} uses schema version {version}, written by a newer release of "
                f"neural-memory; this release reads version {SCHEMA_VERSION} at most "
                "(upgrade the library)"
            )
        if version < 1:
            raise StorageError(f"{where} has an unknown schema version {version}")
        for step in range(version + 1, SCHEMA_VERSION + 1):
            _MIGRATIONS[step](conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        conn.execute("COMMIT")
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")


def _execute_script(conn: sqlite3.Connection, script: str) -> None:
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _user_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0])
