"""The PostgreSQL schema of :class:`~neural_memory.storage.postgres.PostgresStorage`, versioned.

The version lives in the ``schema_version`` table of the storage's schema (one row per applied
migration). :func:`migrate` runs on every start-up, in one transaction serialised by an
advisory lock on the schema's name, so several processes starting at once create the tables
once. A version newer than this release knows is refused rather than misread.

Tables mirror the SQLite layout: every brain-scoped table is keyed by ``(brain, id)`` where
``brain`` is the brain's row number in ``brains``. There are no foreign keys: a write checks
its references itself, under its brain's row lock, and a per-row constraint trigger would cost
more than the rest of a bulk insert (measured: ~40% of a 1,000-memory batch). Timestamps
are ``bigint`` microseconds since the epoch (UTC), sets and mappings are JSON text, and ids
sort bytewise (``COLLATE "C"``), as in SQLite. Vectors use pgvector's ``vector`` type when the
server offers the extension, a ``real[]`` column otherwise; both read and write as ``real[]``.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from neural_memory.errors import StorageError

__all__ = ["BRAIN_TABLES", "SCHEMA_VERSION", "migrate", "quote_identifier"]

BRAIN_TABLES = (
    "index_snapshots",
    "changes",
    "vectors",
    "meta",
    "recall_events",
    "alerts",
    "projects",
    "typed_memories",
    "fiber_neurons",
    "fibers",
    "synapses",
    "neurons",
)
"""Every table holding rows of a brain (``brain`` column), emptied when it is deleted."""

SCHEMA_VERSION = 6
"""The schema version this release reads and writes (older versions are migrated on start)."""

_ID = 'text COLLATE "C" NOT NULL'
_BRAIN = "integer NOT NULL"

_SCHEMA_V1 = f"""
CREATE TABLE brains (
    num integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id {_ID} UNIQUE,
    name text NOT NULL,
    config text NOT NULL,
    created_at bigint NOT NULL,
    updated_at bigint NOT NULL,
    seq bigint NOT NULL DEFAULT 0
);

CREATE TABLE neurons (
    brain {_BRAIN},
    id {_ID},
    ord bigint GENERATED ALWAYS AS IDENTITY,
    type text NOT NULL,
    content text NOT NULL,
    content_key text NOT NULL,
    metadata text NOT NULL,
    created_at bigint NOT NULL,
    activation double precision NOT NULL,
    access_count bigint NOT NULL,
    last_accessed bigint,
    PRIMARY KEY (brain, id)
);
CREATE INDEX neurons_by_order ON neurons (brain, ord);
CREATE INDEX neurons_by_content ON neurons (brain, md5(content_key));
CREATE INDEX neurons_by_type ON neurons (brain, type, ord);

CREATE TABLE synapses (
    brain {_BRAIN},
    id {_ID},
    source_id {_ID},
    target_id {_ID},
    type text NOT NULL,
    weight double precision NOT NULL,
    direction text NOT NULL,
    metadata text NOT NULL,
    created_at bigint NOT NULL,
    last_activated bigint,
    reinforced_count bigint NOT NULL,
    PRIMARY KEY (brain, id)
);
CREATE INDEX synapses_by_source ON synapses (brain, source_id);
CREATE INDEX synapses_by_target ON synapses (brain, target_id);

CREATE TABLE fibers (
    brain {_BRAIN},
    id {_ID},
    neuron_ids text NOT NULL,
    synapse_ids text NOT NULL,
    anchor_neuron_id text NOT NULL,
    pathway text NOT NULL,
    content text NOT NULL,
    conductivity double precision NOT NULL,
    salience double precision NOT NULL,
    last_conducted bigint,
    access_count bigint NOT NULL,
    tags text NOT NULL,
    metadata text NOT NULL,
    occurred_at bigint,
    created_at bigint NOT NULL,
    superseded_by text,
    PRIMARY KEY (brain, id)
);
CREATE INDEX fibers_by_age ON fibers (brain, created_at, id);

CREATE TABLE fiber_neurons (
    brain {_BRAIN},
    neuron_id {_ID},
    fiber_id {_ID},
    PRIMARY KEY (brain, neuron_id, fiber_id)
);
CREATE INDEX fiber_neurons_by_fiber ON fiber_neurons (brain, fiber_id);

CREATE TABLE vectors (
    brain {_BRAIN},
    model {_ID},
    fiber_id {_ID},
    vector {{vector_type}} NOT NULL,
    PRIMARY KEY (brain, model, fiber_id)
);
CREATE INDEX vectors_by_fiber ON vectors (brain, fiber_id);

CREATE TABLE typed_memories (
    brain {_BRAIN},
    id {_ID},
    fiber_id {_ID},
    memory_type text NOT NULL,
    priority integer NOT NULL,
    source text NOT NULL,
    expires_at bigint,
    tags text NOT NULL,
    project_id text COLLATE "C",
    created_at bigint NOT NULL,
    metadata text NOT NULL,
    PRIMARY KEY (brain, id)
);
CREATE INDEX typed_memories_by_fiber ON typed_memories (brain, fiber_id);
CREATE INDEX typed_memories_by_project ON typed_memories (brain, project_id);
CREATE INDEX typed_memories_by_type ON typed_memories (brain, memory_type, priority);

CREATE TABLE projects (
    brain {_BRAIN},
    id {_ID},
    name text NOT NULL,
    description text NOT NULL,
    tags text NOT NULL,
    created_at bigint NOT NULL,
    ends_at bigint,
    PRIMARY KEY (brain, id)
);

CREATE TABLE alerts (
    brain {_BRAIN},
    id {_ID},
    alert_type text NOT NULL,
    severity text NOT NULL,
    message text NOT NULL,
    status text NOT NULL,
    metric_value double precision NOT NULL,
    threshold double precision NOT NULL,
    created_at bigint NOT NULL,
    seen_at bigint,
    acknowledged_at bigint,
    resolved_at bigint,
    PRIMARY KEY (brain, id)
);
CREATE INDEX alerts_by_status ON alerts (brain, status);

CREATE TABLE recall_events (
    brain {_BRAIN},
    ord bigint GENERATED ALWAYS AS IDENTITY,
    id {_ID},
    query text NOT NULL,
    fiber_ids text NOT NULL,
    confidence double precision NOT NULL,
    created_at bigint NOT NULL
);
CREATE INDEX recall_events_by_time ON recall_events (brain, created_at, ord);

CREATE TABLE meta (
    brain {_BRAIN},
    key {_ID},
    value text NOT NULL,
    PRIMARY KEY (brain, key)
);

CREATE TABLE changes (
    brain {_BRAIN},
    seq bigint NOT NULL,
    kind text NOT NULL,
    entity_id text NOT NULL,
    PRIMARY KEY (brain, seq)
);
"""

_MIGRATIONS: dict[int, str] = {
    # Each memory's lexical terms, stored with it (``_sqlite_rows.stored_terms``): opening
    # a brain reads them instead of tokenising. Older rows keep NULL; an index computes
    # theirs from the text, and any rewrite of the row stores them.
    2: "ALTER TABLE fibers ADD COLUMN terms text",
    # Deleting a memory finds the memories it supersedes through an index, not a scan.
    3: "CREATE INDEX fibers_by_successor ON fibers (brain, superseded_by) "
    "WHERE superseded_by IS NOT NULL",
    # Each brain's recall-index snapshot (engine/retrieval/_snapshot.py), tagged with the
    # change seq it reflects: a new process loads it instead of rebuilding the index.
    4: f"CREATE TABLE index_snapshots (brain {_BRAIN} PRIMARY KEY, seq bigint NOT NULL, "
    "data bytea NOT NULL)",
    # Each brain's record version, moved by every ``save_brain`` that replaces it: a server
    # worker learns the brain's config changed from the row that gives its change seq.
    5: "ALTER TABLE brains ADD COLUMN record_version bigint NOT NULL DEFAULT 0",
    # Index snapshots compressed with lz4, not pglz: the same size (a snapshot is ~60% of
    # its bytes either way) at a fraction of the server's time (pglz: 2.7 s to store a
    # 200k-memory brain's 68 MB, ~0.4 s to read it back). A server built without lz4 (or
    # older than 14) stores them uncompressed. EXECUTE: a refusal is raised when it runs.
    6: """DO $$ BEGIN
    EXECUTE 'ALTER TABLE index_snapshots ALTER COLUMN data SET COMPRESSION lz4';
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value OR syntax_error THEN
    ALTER TABLE index_snapshots ALTER COLUMN data SET STORAGE EXTERNAL;
END $$""",
}
"""Version -> the statements that bring a schema of the version before it to it."""


async def migrate(conn: Any, schema: str, where: str) -> None:
    """Create or upgrade the tables of ``schema`` (created if missing) to SCHEMA_VERSION.

    ``conn`` is an asyncpg connection whose ``search_path`` starts with ``schema``;
    ``where`` names the database in error messages (no password). StorageError when the
    schema was written by a newer release.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext($1))", f"neural_memory:{schema}")
        await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_identifier(schema)}")
        await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL)")
        version = int(await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_version"))
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"{where} uses NeuralMemory schema version {version}, written by a newer "
                f"release of neural-memory; this release reads version {SCHEMA_VERSION} at "
                "most (upgrade the library)"
            )
        if version == 0:
            script = _SCHEMA_V1.replace("{vector_type}", await _vector_type(conn))
            await conn.execute(script)
            await conn.execute("INSERT INTO schema_version (version) VALUES (1)")
            version = 1
        for step in range(version + 1, SCHEMA_VERSION + 1):
            await conn.execute(_MIGRATIONS[step])
            await conn.execute("INSERT INTO schema_version (version) VALUES ($1)", step)


async def _vector_type(conn: Any) -> str:
    """``vector`` when pgvector is (or can be) installed in this database, else ``real[]``."""
    available = await conn.fetchval(
        "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"
    )
    if not available:
        return "real[]"
    try:
        async with conn.transaction():  # a savepoint: a refused CREATE EXTENSION is undone
            await conn.execute("CREATE EXTENSION IF NOT EXISTS vector WITH SCHEMA public")
    except asyncpg.PostgresError:  # no privilege to install it: plain arrays work everywhere
        return "real[]"
    # The extension may have been installed in another schema before.
    schema = await conn.fetchval(
        "SELECT n.nspname FROM pg_extension AS e JOIN pg_namespace AS n "
        "ON n.oid = e.extnamespace WHERE e.extname = 'vector'"
    )
    return f"{quote_identifier(str(schema))}.vector"


def quote_identifier(name: str) -> str:
    """``name`` as a double-quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'
