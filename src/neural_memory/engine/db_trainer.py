"""DBTrainer: teach a brain what a relational database's schema means.

The schema is read with :class:`~neural_memory.engine.db_introspector.SchemaIntrospector`,
turned into sentences (one per table, one per foreign-key relationship, one per detected
design pattern) and stored through the normal :class:`MemoryEncoder`, each as a typed memory
with source ``"db_schema"``. Training the same schema again adds nothing: every memory's
identity is kept in the brain's metadata (``storage.set_meta``).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from neural_memory.core._validation import require_text, require_unit
from neural_memory.core.brain import Brain, BrainConfig
from neural_memory.core.clock import utcnow
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory
from neural_memory.engine._db_knowledge import KnowledgeKind, SchemaKnowledge, plan_knowledge
from neural_memory.engine.db_introspector import SchemaIntrospector, SchemaSnapshot
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.errors import ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = ["Consolidator", "DBTrainer", "DBTrainingConfig", "DBTrainingResult", "ProgressCallback"]

Consolidator = Callable[[Storage], Awaitable[object]]
"""Runs consolidation on the storage's current brain."""

ProgressCallback = Callable[[int, int], None]
"""Called as ``progress(tables_done, tables_total)`` after each table is stored."""

SOURCE = "db_schema"
"""Source of every typed memory the trainer writes, and a tag on every memory."""

META_KEY = "db_trainer"
"""Brain metadata key holding trained fingerprints and the identity of each stored memory."""

_MEMORY_TYPES = {
    KnowledgeKind.TABLE: MemoryType.REFERENCE,
    KnowledgeKind.RELATIONSHIP: MemoryType.FACT,
    KnowledgeKind.PATTERN: MemoryType.INSIGHT,
}
_BASE_SALIENCE = {
    KnowledgeKind.TABLE: 0.5,
    KnowledgeKind.RELATIONSHIP: 0.45,
    KnowledgeKind.PATTERN: 0.4,
}
_CONSOLIDATION_MODULE = "neural_memory.engine.consolidation"


@dataclass(frozen=True, slots=True, kw_only=True)
class DBTrainingConfig:
    """What to learn from which database.

    Attributes:
        connection_string: SQLAlchemy database URL, e.g. ``sqlite:///path/to/db``.
        domain_tag: Tag applied to all schema knowledge ("" for none).
        brain_name: Brain to train, created when missing ("" = the storage's current brain).
        consolidate: Run the ENRICH consolidation pass after training.
        salience_ceiling: Upper bound of the initial salience of every memory (0-1).
        initial_stage: Maturation stage recorded in each memory's metadata.
        include_patterns: Detect schema patterns (audit columns, junction tables, ...).
        include_relationships: Remember each foreign-key relationship.
        max_tables: Maximum number of tables to process (the first ones by name).
    """

    connection_string: str
    domain_tag: str = ""
    brain_name: str = ""
    consolidate: bool = True
    salience_ceiling: float = 0.5
    initial_stage: str = "episodic"
    include_patterns: bool = True
    include_relationships: bool = True
    max_tables: int = 100

    def __post_init__(self) -> None:
        require_text(self.connection_string, "connection_string")
        for name in ("domain_tag", "brain_name"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
            if value != value.strip():
                raise ValidationError(f"{name} must not start or end with whitespace")
        for name in ("consolidate", "include_patterns", "include_relationships"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(f"{name} must be a bool, got {getattr(self, name)!r}")
        require_unit(self.salience_ceiling, "salience_ceiling")
        require_text(self.initial_stage, "initial_stage")
        max_tables = self.max_tables
        if isinstance(max_tables, bool) or not isinstance(max_tables, int) or max_tables < 1:
            raise ValidationError(f"max_tables must be a positive integer, got {max_tables!r}")


@dataclass(frozen=True, slots=True, kw_only=True)
class DBTrainingResult:
    """What one training run learned.

    Attributes:
        tables_processed: Tables read from the database (at most ``max_tables``).
        relationships_mapped: Foreign-key relationships described.
        patterns_detected: Schema patterns described.
        schema_fingerprint: Fingerprint of the schema that was read.
        fibers_created: New memories stored (0 when the schema was already known).
        brain_id: The brain that was trained.
        duration_ms: Wall time of the run.
    """

    tables_processed: int
    relationships_mapped: int
    patterns_detected: int
    schema_fingerprint: str
    fibers_created: int
    brain_id: str
    duration_ms: float


class DBTrainer:
    """Turns database schema knowledge into memories of a brain.

    Args:
        storage: Where the memories go.
        config: The brain's configuration (used for the encoder, and for a new brain).
        consolidator: Runs consolidation after training when ``consolidate=True``; default
            ``neural_memory.engine.consolidation.consolidate``.
        introspector: Reads the schema (default: a :class:`SchemaIntrospector`).
        embedder: Optional; embeds each memory for semantic recall.

    Selecting another brain (``brain_name``) switches the storage's current brain for the
    duration of :meth:`train`: do not share the storage with concurrent tasks meanwhile.
    """

    def __init__(
        self,
        storage: Storage,
        config: BrainConfig,
        *,
        consolidator: Consolidator | None = None,
        introspector: SchemaIntrospector | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        if not isinstance(storage, Storage):
            raise ValidationError(f"expected a Storage, got {type(storage).__name__}")
        if not isinstance(config, BrainConfig):
            raise ValidationError(f"expected a BrainConfig, got {type(config).__name__}")
        self._storage = storage
        self._config = config
        self._consolidator = consolidator
        self._introspector = introspector or SchemaIntrospector()
        self._embedder = embedder

    async def train(
        self, cfg: DBTrainingConfig, *, progress: ProgressCallback | None = None
    ) -> DBTrainingResult:
        """Read the schema behind ``cfg.connection_string`` and remember what it means.

        Knowledge stored by an earlier run (and still present) is skipped; consolidation
        runs only when this run stored something new.

        Raises:
            StorageUnavailableError: The database cannot be read.
            NotImplementedError: ``consolidate=True`` without a consolidator while
                ``neural_memory.engine.consolidation`` does not exist yet.
        """
        if not isinstance(cfg, DBTrainingConfig):
            raise ValidationError(f"expected a DBTrainingConfig, got {type(cfg).__name__}")
        started = time.perf_counter()
        consolidator = self._resolve_consolidator() if cfg.consolidate else None
        snapshot = await self._introspector.introspect(
            cfg.connection_string, max_tables=cfg.max_tables
        )
        plan = plan_knowledge(
            snapshot,
            include_relationships=cfg.include_relationships,
            include_patterns=cfg.include_patterns,
        )
        async with self._target_brain(cfg.brain_name) as (brain_id, brain_config):
            session = _Session(self._storage, brain_config, cfg, snapshot, self._embedder)
            await session.load()
            total = len(plan.tables)
            for done, group in enumerate(plan.tables, start=1):
                await session.store(group.items)
                if progress is not None:
                    progress(done, total)
            await session.store(plan.patterns)
            await session.record_fingerprint()
            if consolidator is not None and session.created:
                await consolidator(brain_config)(self._storage)
        return DBTrainingResult(
            tables_processed=len(snapshot.tables),
            relationships_mapped=plan.relationship_count,
            patterns_detected=len(plan.patterns),
            schema_fingerprint=snapshot.schema_fingerprint,
            fibers_created=session.created,
            brain_id=brain_id,
            duration_ms=(time.perf_counter() - started) * 1000.0,
        )

    def _resolve_consolidator(self) -> Callable[[BrainConfig], Consolidator]:
        """The consolidation to run, given the trained brain's config."""
        if self._consolidator is not None:
            given = self._consolidator
            return lambda _config: given
        try:
            module = importlib.import_module(_CONSOLIDATION_MODULE)
        except ModuleNotFoundError as error:
            if error.name != _CONSOLIDATION_MODULE:
                raise
            raise NotImplementedError("consolidation is not built yet") from error
        consolidate = getattr(module, "consolidate", None)
        if not callable(consolidate):
            raise NotImplementedError(f"{_CONSOLIDATION_MODULE} has no consolidate() yet")

        def bind(config: BrainConfig) -> Consolidator:
            return lambda storage: cast(Awaitable[object], consolidate(storage, config))

        return bind

    @asynccontextmanager
    async def _target_brain(self, name: str) -> AsyncIterator[tuple[str, BrainConfig]]:
        """Select the brain called ``name`` (created when missing), then restore the old one."""
        if not name:
            yield self._storage.brain_id, self._config
            return
        brain = next((b for b in await self._storage.list_brains() if b.name == name), None)
        if brain is None:
            brain = Brain.create(name, config=self._config)
            await self._storage.save_brain(brain)
        async with self._storage.using_brain(brain.id):
            yield brain.id, brain.config


class _Session:
    """One training run's writes into the current brain, skipping what is already known."""

    def __init__(
        self,
        storage: Storage,
        config: BrainConfig,
        cfg: DBTrainingConfig,
        snapshot: SchemaSnapshot,
        embedder: Embedder | None,
    ) -> None:
        self._storage = storage
        self._encoder = MemoryEncoder(storage, config, embedder=embedder)
        self._cfg = cfg
        self._snapshot = snapshot
        self._tags = frozenset({SOURCE, cfg.domain_tag} - {""})
        self._memories: dict[str, str] = {}
        self._schemas: dict[str, Any] = {}
        self._alive: set[str] = set()
        self.created = 0

    async def load(self) -> None:
        """Read which memories earlier runs stored, and which of them still exist."""
        meta = await self._storage.get_meta(META_KEY)
        if isinstance(meta, dict):
            memories = meta.get("memories")
            schemas = meta.get("schemas")
            if isinstance(memories, dict):
                self._memories = {str(k): str(v) for k, v in memories.items()}
            if isinstance(schemas, dict):
                self._schemas = dict(schemas)
        fibers = await self._storage.get_fibers(self._memories.values())
        self._alive = set(fibers)

    async def store(self, items: Sequence[SchemaKnowledge]) -> None:
        """Encode the items not stored before, with their typed memories, then record them."""
        fresh: dict[str, SchemaKnowledge] = {}
        for item in items:
            identity = item.key
            if self._memories.get(identity) not in self._alive and identity not in fresh:
                fresh[identity] = item
        if not fresh:
            return
        results = await self._encoder.encode_many([self._input(i) for i in fresh.values()])
        fiber_ids = [result.fiber.id for result in results]
        typed_already = await self._storage.get_typed_memories_for_fibers(fiber_ids)
        typed = tuple(
            self._typed(item, fiber_id)
            for item, fiber_id in zip(fresh.values(), fiber_ids, strict=True)
            if fiber_id not in typed_already
        )
        await self._storage.write(WriteBatch(put_typed_memories=typed))
        for identity, fiber_id in zip(fresh, fiber_ids, strict=True):
            self._memories[identity] = fiber_id
            self._alive.add(fiber_id)
        # The encoder merges a text it already holds into the stored memory: not a new one.
        self.created += sum(1 for result in results if not result.merged)
        await self._save()

    async def record_fingerprint(self) -> None:
        """Remember that this schema was trained (and when)."""
        self._schemas[self._snapshot.schema_fingerprint] = {
            "dialect": self._snapshot.dialect,
            "tables": len(self._snapshot.tables),
            "trained_at": utcnow().isoformat(),
        }
        await self._save()

    async def _save(self) -> None:
        value = {"version": 1, "memories": self._memories, "schemas": self._schemas}
        await self._storage.set_meta(META_KEY, value)

    def _input(self, item: SchemaKnowledge) -> MemoryInput:
        metadata = {
            "source": SOURCE,
            "stage": self._cfg.initial_stage,
            "kind": str(item.kind),
            "tables": ",".join(item.tables),
            "schema_fingerprint": self._snapshot.schema_fingerprint,
            "dialect": self._snapshot.dialect,
        }
        if item.pattern:
            metadata["pattern"] = item.pattern
        salience = min(_BASE_SALIENCE[item.kind], self._cfg.salience_ceiling)
        return MemoryInput(text=item.text, metadata=metadata, tags=self._tags, salience=salience)

    def _typed(self, item: SchemaKnowledge, fiber_id: str) -> TypedMemory:
        metadata = {"kind": str(item.kind), "tables": ",".join(item.tables)}
        if item.pattern:
            metadata["pattern"] = item.pattern
        return TypedMemory.create(
            fiber_id,
            _MEMORY_TYPES[item.kind],
            Priority.NORMAL,
            source=SOURCE,
            tags=self._tags,
            metadata=metadata,
        )
