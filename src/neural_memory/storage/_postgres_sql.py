"""The SQL of :class:`~neural_memory.storage.postgres.PostgresStorage`'s reads.

Brain-scoped statements take the brain's text id as ``$1`` and resolve its row number inline
(:data:`B`), so each read is one round trip. Columns are those of the shared row layouts
(``_sqlite_rows``).
"""

from __future__ import annotations

from neural_memory.core.fiber_metadata import CONCEPT_OF, FOLLOWS, SPEAKER
from neural_memory.storage import _sqlite_rows as rows
from neural_memory.storage.filters import TypedMemoryFilter

__all__ = [
    "B",
    "CHANGES",
    "FIBERS",
    "FIBERS_OF_NEURON",
    "FIBER_ROWS",
    "NEURONS",
    "SAVE_BRAIN",
    "STATS",
    "SYNAPSES",
    "TYPED",
    "typed_memory_query",
]

# Brain-scoped queries take the brain's text id as $1 and resolve its number inline.
B = "(SELECT num FROM brains WHERE id = $1)"
_TEXT = (
    "CASE WHEN jsonb_typeof(metadata::jsonb -> '{0}') = 'string' THEN metadata::jsonb ->> '{0}' END"
)
FIBER_ROWS = f"""
SELECT id, pathway,
    CASE WHEN length(neuron_ids) <> length(pathway) THEN neuron_ids END,
    coalesce(occurred_at, created_at), conductivity,
    coalesce(superseded_by, '') <> '' OR metadata::jsonb ? '{CONCEPT_OF.name}',
    strpos(content, '?') > 0, {_TEXT.format(SPEAKER.name)}, {_TEXT.format(FOLLOWS.name)},
    CASE WHEN left(terms, $2) = $3 THEN substr(terms, $2 + 1) END,
    CASE WHEN left(terms, $2) = $3 THEN NULL ELSE content END
FROM fibers WHERE brain = {B} ORDER BY created_at, id
"""
NEURONS = f"SELECT {rows.NEURON.selected} FROM neurons WHERE brain = {B}"
SYNAPSES = f"SELECT {rows.SYNAPSE.selected} FROM synapses WHERE brain = {B}"
FIBERS = f"SELECT {rows.FIBER.selected} FROM fibers WHERE brain = {B}"
TYPED = f"SELECT {rows.TYPED_MEMORY.selected} FROM typed_memories WHERE brain = {B}"
FIBERS_OF_NEURON = (
    "SELECT {} FROM fiber_neurons AS m JOIN fibers AS f ON f.brain = m.brain AND f.id = m.fiber_id"
    f" WHERE m.brain = {B} AND m.neuron_id = $2"
).format(", ".join(f"f.{c}" for c in rows.FIBER.fields))
SAVE_BRAIN = (
    f"INSERT INTO brains ({rows.BRAIN.columns}) VALUES ($1, $2, $3, $4, $5) "
    "ON CONFLICT (id) DO UPDATE SET name = excluded.name, config = excluded.config, "
    "created_at = excluded.created_at, updated_at = excluded.updated_at, "
    "record_version = brains.record_version + 1"
)
CHANGES = (
    "SELECT b.seq, c.seq, c.kind, c.entity_id FROM brains AS b "
    "LEFT JOIN changes AS c ON c.brain = b.num AND c.seq > $2 WHERE b.id = $1 ORDER BY c.seq"
)
STATS = f"""
WITH b AS {B}
SELECT
    (SELECT count(*) FROM neurons WHERE brain = (SELECT num FROM b)),
    (SELECT count(*) FROM synapses WHERE brain = (SELECT num FROM b)),
    (SELECT count(*) FROM fibers WHERE brain = (SELECT num FROM b)),
    (SELECT count(*) FROM typed_memories WHERE brain = (SELECT num FROM b)),
    (SELECT count(*) FROM projects WHERE brain = (SELECT num FROM b)),
    (SELECT count(*) FROM neurons AS n WHERE n.brain = (SELECT num FROM b)
        AND NOT EXISTS (SELECT 1 FROM synapses WHERE brain = n.brain AND source_id = n.id)
        AND NOT EXISTS (SELECT 1 FROM synapses WHERE brain = n.brain AND target_id = n.id)),
    (SELECT count(*) FROM typed_memories WHERE brain = (SELECT num FROM b)
        AND expires_at <= $2),
    (SELECT min(coalesce(last_conducted, created_at)) FROM fibers
        WHERE brain = (SELECT num FROM b)),
    (SELECT seq FROM brains WHERE num = (SELECT num FROM b))
"""


def typed_memory_query(query: TypedMemoryFilter) -> tuple[str, list[object]]:
    """The SELECT of typed memories matching ``query`` and its parameters after ``$1``."""
    sql = TYPED
    params: list[object] = []
    expiry = rows.to_micros(query.not_expired_at) if query.not_expired_at else None
    for clause, value in (
        (" AND memory_type = ${}", query.memory_type),
        (
            " AND priority >= ${}",
            int(query.min_priority) if query.min_priority is not None else None,
        ),
        (" AND project_id = ${}", query.project_id),
        (" AND fiber_id = ANY(${}::text[])", list(query.fiber_ids) if query.fiber_ids else None),
        (" AND (expires_at IS NULL OR expires_at > ${})", expiry),
        (" AND tags::jsonb @> ${}::jsonb", rows.id_list(query.tags) if query.tags else None),
    ):
        if value is not None:
            params.append(value)
            sql += clause.format(len(params) + 1)
    if query.fiber_ids is not None and not query.fiber_ids:
        sql += " AND false"
    params.append(query.limit)
    sql += f" ORDER BY priority DESC, created_at DESC, id LIMIT ${len(params) + 1}"
    return sql, params
