"""DBTrainer: a real SQLite e-commerce schema becomes recallable, typed, deduplicated memories."""

from __future__ import annotations

import ast
import dataclasses
import importlib.util
import sqlite3
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from neural_memory import Brain
from neural_memory.core import MemoryType
from neural_memory.engine.db_trainer import DBTrainer, DBTrainingConfig, DBTrainingResult
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import StorageUnavailableError, ValidationError
from neural_memory.storage import InMemoryStorage, SQLiteStorage
from neural_memory.storage.base import Storage
from tests.seed_exec import assert_verbatim, run_seed_sample

SHOP_TABLES: dict[str, str] = {
    "customers": """CREATE TABLE customers (
        id INTEGER PRIMARY KEY, email VARCHAR(255) NOT NULL UNIQUE, name VARCHAR(100) NOT NULL,
        created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at TIMESTAMP,
        deleted_at TIMESTAMP)""",
    "categories": """CREATE TABLE categories (
        id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL,
        parent_id INTEGER REFERENCES categories(id))""",
    "products": """CREATE TABLE products (
        id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL, price NUMERIC(10, 2) NOT NULL,
        category_id INTEGER NOT NULL REFERENCES categories(id),
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP)""",
    "orders": """CREATE TABLE orders (
        id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers(id),
        status VARCHAR(20) NOT NULL DEFAULT 'pending', total NUMERIC(10, 2) NOT NULL,
        created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP)""",
    "order_items": """CREATE TABLE order_items (
        id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL REFERENCES orders(id),
        product_id INTEGER NOT NULL REFERENCES products(id), quantity INTEGER NOT NULL,
        unit_price NUMERIC(10, 2) NOT NULL)""",
    "tags": "CREATE TABLE tags (id INTEGER PRIMARY KEY, name VARCHAR(50) NOT NULL UNIQUE)",
    "product_tags": """CREATE TABLE product_tags (
        product_id INTEGER NOT NULL REFERENCES products(id),
        tag_id INTEGER NOT NULL REFERENCES tags(id), PRIMARY KEY (product_id, tag_id))""",
}
SHOP_INDEXES = ["CREATE INDEX ix_order_items_order_id ON order_items(order_id)"]
# 7 tables; 7 foreign keys; patterns: audit timestamps, soft delete, category hierarchy,
# product_tags junction, tags lookup table.
TABLES, RELATIONSHIPS, PATTERNS = 7, 7, 5


def create_shop(path: Path, order: Sequence[str] = tuple(SHOP_TABLES)) -> str:
    """Create the e-commerce database at ``path`` (tables in ``order``); return its URL."""
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path)
    try:
        for name in order:
            connection.execute(SHOP_TABLES[name])
        for statement in SHOP_INDEXES:
            connection.execute(statement)
        connection.commit()
    finally:
        connection.close()
    return f"sqlite:///{path}"


@pytest.fixture
def shop_url(tmp_path: Path) -> str:
    return create_shop(tmp_path / "shop.db")


@pytest.fixture
async def brain_storage() -> tuple[InMemoryStorage, Brain]:
    storage = InMemoryStorage()
    brain = Brain.create("shop")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return storage, brain


async def train(storage: Storage, brain: Brain, url: str, **options: Any) -> DBTrainingResult:
    config = DBTrainingConfig(connection_string=url, consolidate=False, **options)
    return await DBTrainer(storage, brain.config).train(config)


# -- the seed samples ----------------------------------------------------------------------

SEED_TRAINER = """
from neural_memory.engine.db_trainer import DBTrainer, DBTrainingConfig

# Configure training
config = DBTrainingConfig(
    connection_string="sqlite:///data/ecommerce.db",
    domain_tag="ecommerce",
    max_tables=100,
    consolidate=True,
)

# Train
trainer = DBTrainer(storage, brain.config)
result = await trainer.train(config)

print(f"Tables: {result.tables_processed}")
print(f"Relationships: {result.relationships_mapped}")
print(f"Patterns: {result.patterns_detected}")
print(f"Fingerprint: {result.schema_fingerprint}")
"""

SEED_INTROSPECTION = """
from neural_memory.engine.db_introspector import SchemaIntrospector

introspector = SchemaIntrospector()
snapshot = await introspector.introspect("sqlite:///data/app.db")

for table in snapshot.tables:
    print(f"{table.name}: {len(table.columns)} cols, {len(table.foreign_keys)} FKs")
print(f"Fingerprint: {snapshot.schema_fingerprint}")
"""

CONSOLIDATION_MISSING = importlib.util.find_spec("neural_memory.engine.consolidation") is None


async def run_unchecked(sample: str, namespace: dict[str, Any]) -> dict[str, Any]:
    """Run a sample that was adapted from a verbatim one (the caller checked the original)."""
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    code = compile(textwrap.dedent(sample), "<adapted seed sample>", "exec", flags=flags)
    await eval(code, namespace)
    return namespace


def assert_printed_counts(output: str, fingerprint: str) -> None:
    assert f"Tables: {TABLES}\n" in output
    assert f"Relationships: {RELATIONSHIPS}\n" in output
    assert f"Patterns: {PATTERNS}\n" in output
    assert f"Fingerprint: {fingerprint}\n" in output
    assert len(fingerprint) == 64


async def test_seed_trainer_sample_prints_the_schema_counts(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    brain_storage: tuple[InMemoryStorage, Brain],
) -> None:
    storage, brain = brain_storage
    create_shop(tmp_path / "data" / "ecommerce.db")
    monkeypatch.chdir(tmp_path)
    assert_verbatim(SEED_TRAINER)
    adapted = SEED_TRAINER.replace("consolidate=True", "consolidate=False")
    namespace = await run_unchecked(adapted, {"storage": storage, "brain": brain})

    result = namespace["result"]
    assert_printed_counts(capsys.readouterr().out, result.schema_fingerprint)
    assert result.fibers_created == TABLES + RELATIONSHIPS + PATTERNS
    assert result.brain_id == brain.id
    assert len(await storage.find_fibers(tags=["ecommerce", "db_schema"])) == result.fibers_created


@pytest.mark.skipif(
    CONSOLIDATION_MISSING, reason="neural_memory.engine.consolidation is not built yet"
)
async def test_seed_trainer_sample_runs_verbatim_with_consolidation(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    brain_storage: tuple[InMemoryStorage, Brain],
) -> None:
    storage, brain = brain_storage
    create_shop(tmp_path / "data" / "ecommerce.db")
    monkeypatch.chdir(tmp_path)
    namespace = await run_seed_sample(SEED_TRAINER, {"storage": storage, "brain": brain})

    result = namespace["result"]
    assert_printed_counts(capsys.readouterr().out, result.schema_fingerprint)
    assert await storage.get_meta("consolidation.last_run") is not None  # the pass ran
    recalled = await ReflexPipeline(storage, brain.config).query("order items of an order")
    assert any("Table order_items" in fiber.content for fiber in recalled.fibers[:3])


async def test_seed_introspection_sample_lists_tables_and_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    create_shop(tmp_path / "data" / "app.db")
    monkeypatch.chdir(tmp_path)
    namespace = await run_seed_sample(SEED_INTROSPECTION, {})

    lines = capsys.readouterr().out.splitlines()
    assert lines[:-1] == [
        "categories: 3 cols, 1 FKs",
        "customers: 6 cols, 0 FKs",
        "order_items: 5 cols, 2 FKs",
        "orders: 6 cols, 1 FKs",
        "product_tags: 2 cols, 2 FKs",
        "products: 6 cols, 1 FKs",
        "tags: 2 cols, 0 FKs",
    ]
    assert lines[-1] == f"Fingerprint: {namespace['snapshot'].schema_fingerprint}"


# -- what the brain learns -----------------------------------------------------------------


async def test_recall_finds_the_table_holding_the_products_of_an_order(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    await train(storage, brain, shop_url, domain_tag="ecommerce")

    result = await ReflexPipeline(storage, brain.config).query(
        "which table stores the products of an order?"
    )
    top = [fiber.content for fiber in result.fibers[:3]]
    assert any(content.startswith("Table order_items") for content in top), top


async def test_memories_are_typed_tagged_capped_and_staged(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    await train(
        storage,
        brain,
        shop_url,
        domain_tag="ecommerce",
        salience_ceiling=0.3,
        initial_stage="working",
    )

    fibers = await storage.find_fibers()
    assert len(fibers) == TABLES + RELATIONSHIPS + PATTERNS
    assert all({"ecommerce", "db_schema"} <= fiber.tags for fiber in fibers)
    assert all(fiber.salience <= 0.3 for fiber in fibers)
    assert {fiber.metadata["stage"] for fiber in fibers} == {"working"}
    typed = await storage.get_typed_memories_for_fibers(fiber.id for fiber in fibers)
    assert len(typed) == len(fibers)
    kinds = [memory.memory_type for memory in typed.values()]
    assert kinds.count(MemoryType.REFERENCE) == TABLES
    assert kinds.count(MemoryType.FACT) == RELATIONSHIPS
    assert kinds.count(MemoryType.INSIGHT) == PATTERNS
    assert {memory.source for memory in typed.values()} == {"db_schema"}
    contents = {fiber.content for fiber in fibers}
    assert (
        "orders.customer_id references customers.id: each order belongs to a customer." in contents
    )
    assert any(c.startswith("Pattern many-to-many: product_tags") for c in contents)
    assert any(c.startswith("Pattern hierarchy: categories") for c in contents)
    assert any("soft delete" in c and "deleted_at" in c for c in contents)


async def test_pattern_and_relationship_switches(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    result = await train(
        storage, brain, shop_url, include_patterns=False, include_relationships=False
    )

    assert (result.relationships_mapped, result.patterns_detected) == (0, 0)
    assert result.fibers_created == TABLES
    typed = await storage.find_typed_memories()
    assert {memory.memory_type for memory in typed} == {MemoryType.REFERENCE}


async def test_max_tables_limits_the_tables_read(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    result = await train(storage, brain, shop_url, max_tables=3, include_patterns=False)

    assert result.tables_processed == 3
    assert result.relationships_mapped == 3  # categories.parent_id + order_items' two keys
    tables = await storage.find_typed_memories(memory_type=MemoryType.REFERENCE)
    described = {memory.metadata["tables"] for memory in tables}
    assert described == {"categories", "customers", "order_items"}


async def test_progress_is_reported_once_per_table(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    calls: list[tuple[int, int]] = []
    config = DBTrainingConfig(connection_string=shop_url, consolidate=False)
    await DBTrainer(storage, brain.config).train(
        config, progress=lambda done, total: calls.append((done, total))
    )
    assert calls == [(done, TABLES) for done in range(1, TABLES + 1)]


# -- re-training ---------------------------------------------------------------------------


async def test_retraining_the_same_schema_adds_nothing(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    first = await train(storage, brain, shop_url)
    fibers = {fiber.id: fiber for fiber in await storage.find_fibers()}
    second = await train(storage, brain, shop_url)

    assert second.fibers_created == 0
    assert second.schema_fingerprint == first.schema_fingerprint
    assert (second.tables_processed, second.relationships_mapped) == (TABLES, RELATIONSHIPS)
    after = {fiber.id: fiber for fiber in await storage.find_fibers()}
    assert after == fibers  # not even re-mentioned
    assert len(await storage.find_typed_memories()) == len(fibers)


async def test_retraining_restores_a_deleted_memory_and_learns_a_new_column(
    tmp_path: Path, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    url = create_shop(tmp_path / "shop.db")
    first = await train(storage, brain, url)
    tags_table = next(f for f in await storage.find_fibers() if f.content.startswith("Table tags"))
    await storage.delete_fiber(tags_table.id)
    assert (await train(storage, brain, url)).fibers_created == 1

    with sqlite3.connect(tmp_path / "shop.db") as connection:
        connection.execute("ALTER TABLE products ADD COLUMN sku VARCHAR(40)")
    connection.close()
    changed = await train(storage, brain, url)
    assert changed.schema_fingerprint != first.schema_fingerprint
    assert changed.fibers_created == 1  # only the products table reads differently
    assert any("sku VARCHAR(40)" in f.content for f in await storage.find_fibers())


async def test_retraining_is_remembered_across_sqlite_storage_sessions(
    tmp_path: Path, shop_url: str
) -> None:
    path = tmp_path / "brain.db"
    async with SQLiteStorage(path) as storage:
        brain = Brain.create("shop")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        first = await train(storage, brain, shop_url)
    async with SQLiteStorage(path) as storage:
        storage.set_brain(brain.id)
        second = await train(storage, brain, shop_url)
        assert len(await storage.find_fibers()) == first.fibers_created
    assert first.fibers_created == TABLES + RELATIONSHIPS + PATTERNS
    assert second.fibers_created == 0


# -- brains, consolidation -----------------------------------------------------------------


async def test_brain_name_trains_that_brain_and_restores_the_current_one(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    result = await train(storage, brain, shop_url, brain_name="schemas")

    assert storage.brain_id == brain.id
    assert await storage.find_fibers() == []
    named = [b for b in await storage.list_brains() if b.name == "schemas"]
    assert [b.id for b in named] == [result.brain_id]
    again = await train(storage, brain, shop_url, brain_name="schemas")
    assert (again.brain_id, again.fibers_created) == (result.brain_id, 0)
    assert len(await storage.list_brains()) == 2
    storage.set_brain(result.brain_id)
    assert len(await storage.find_fibers()) == result.fibers_created


async def test_consolidator_runs_on_the_trained_brain_only_when_something_was_learned(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    seen: list[tuple[str, int]] = []

    async def consolidator(store: Storage) -> None:
        seen.append((store.brain_id, len(await store.find_fibers())))

    trainer = DBTrainer(storage, brain.config, consolidator=consolidator)
    config = DBTrainingConfig(connection_string=shop_url, brain_name="schemas")
    result = await trainer.train(config)
    await trainer.train(config)

    assert seen == [(result.brain_id, TABLES + RELATIONSHIPS + PATTERNS)]
    assert storage.brain_id == brain.id


async def test_missing_consolidation_module_is_reported_before_any_work(
    shop_url: str, brain_storage: tuple[InMemoryStorage, Brain], monkeypatch: pytest.MonkeyPatch
) -> None:
    storage, brain = brain_storage
    monkeypatch.setitem(sys.modules, "neural_memory.engine.consolidation", None)
    config = DBTrainingConfig(connection_string=shop_url)  # consolidate=True by default
    with pytest.raises(NotImplementedError, match="consolidation is not built yet"):
        await DBTrainer(storage, brain.config).train(config)
    assert await storage.find_fibers() == []


# -- errors and configuration --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "not a database url",
        "nosuchdialect://host/db",
        "postgresql+asyncpg://admin:s3cret@127.0.0.1:1/shop",
    ],
)
async def test_unreachable_or_invalid_database_is_storage_unavailable(
    url: str, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    with pytest.raises(StorageUnavailableError) as caught:
        await train(storage, brain, url)
    assert "s3cret" not in str(caught.value)
    assert await storage.find_fibers() == []


async def test_missing_sqlite_file_is_unavailable_and_not_created(
    tmp_path: Path, brain_storage: tuple[InMemoryStorage, Brain]
) -> None:
    storage, brain = brain_storage
    missing = tmp_path / "missing.db"
    with pytest.raises(StorageUnavailableError, match=r"missing\.db"):
        await train(storage, brain, f"sqlite:///{missing}")
    assert not missing.exists()


def test_config_has_exactly_the_documented_fields_and_defaults() -> None:
    fields = {f.name: f.default for f in dataclasses.fields(DBTrainingConfig)}
    assert fields == {
        "connection_string": dataclasses.MISSING,
        "domain_tag": "",
        "brain_name": "",
        "consolidate": True,
        "salience_ceiling": 0.5,
        "initial_stage": "episodic",
        "include_patterns": True,
        "include_relationships": True,
        "max_tables": 100,
    }
    with pytest.raises(TypeError):
        DBTrainingConfig("sqlite:///x.db")  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DBTrainingConfig(connection_string="sqlite://").max_tables = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    "options",
    [
        {"connection_string": ""},
        {"connection_string": "   "},
        {"connection_string": 42},
        {"domain_tag": 3},
        {"domain_tag": " padded "},
        {"brain_name": None},
        {"consolidate": "yes"},
        {"include_patterns": 1},
        {"include_relationships": None},
        {"salience_ceiling": 1.5},
        {"salience_ceiling": -0.1},
        {"salience_ceiling": True},
        {"initial_stage": ""},
        {"max_tables": 0},
        {"max_tables": 2.5},
        {"max_tables": True},
    ],
)
def test_config_rejects_invalid_values(options: dict[str, Any]) -> None:
    arguments: dict[str, Any] = {"connection_string": "sqlite:///x.db", **options}
    with pytest.raises(ValidationError):
        DBTrainingConfig(**arguments)


async def test_train_requires_a_config(brain_storage: tuple[InMemoryStorage, Brain]) -> None:
    storage, brain = brain_storage
    with pytest.raises(ValidationError):
        await DBTrainer(storage, brain.config).train("sqlite:///x.db")  # type: ignore[arg-type]
