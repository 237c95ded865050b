"""Schema introspection and training against a real PostgreSQL (started by the fixtures).

The same e-commerce schema as the SQLite tests, created in a database of its own: what the
brain learns must not depend on which server holds the schema.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from neural_memory.core.brain import Brain
from neural_memory.engine.db_introspector import SchemaIntrospector, SchemaSnapshot
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import StorageUnavailableError
from neural_memory.storage.memory import InMemoryStorage
from tests.engine.test_db_trainer import (
    PATTERNS,
    RELATIONSHIPS,
    SHOP_INDEXES,
    SHOP_TABLES,
    TABLES,
    create_shop,
    train,
)
from tests.postgres_server import PostgresServer

pytest.importorskip("asyncpg")
pytest.importorskip("sqlalchemy")


@pytest.fixture
async def shop_database(postgres_server: PostgresServer) -> str:
    """A fresh PostgreSQL database holding the shop schema; its SQLAlchemy URL."""
    name = await postgres_server.create_database(*SHOP_TABLES.values(), *SHOP_INDEXES)
    return postgres_server.url(name)


def _structure(snapshot: SchemaSnapshot) -> dict[str, object]:
    """What a schema says, without the names and type spellings each dialect chooses."""
    return {
        table.name: (
            [(c.name, c.nullable, c.primary_key) for c in table.columns],
            table.primary_key,
            sorted((k.columns, k.referred_table, k.referred_columns) for k in table.foreign_keys),
            sorted((ix.columns, ix.unique) for ix in table.indexes),
        )
        for table in snapshot.tables
    }


async def test_postgres_schema_reads_like_the_same_schema_in_sqlite(
    shop_database: str, tmp_path: Path
) -> None:
    on_postgres = await SchemaIntrospector(count_rows=True).introspect(shop_database)
    on_sqlite = await SchemaIntrospector().introspect(create_shop(tmp_path / "shop.db"))

    assert on_postgres.dialect == "postgresql"
    assert _structure(on_postgres) == _structure(on_sqlite)
    orders = on_postgres.table("orders")
    assert orders is not None and orders.row_count == 0
    price = on_postgres.table("products").column("price")  # type: ignore[union-attr]
    assert price is not None and price.type == "NUMERIC(10, 2)"


async def test_training_on_postgres_teaches_what_sqlite_teaches(
    shop_database: str, tmp_path: Path
) -> None:
    results = {}
    for name, url in (("postgres", shop_database), ("sqlite", create_shop(tmp_path / "s.db"))):
        storage = InMemoryStorage()
        brain = Brain.create("shop")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        result = await train(storage, brain, url, domain_tag="ecommerce")
        answer = await ReflexPipeline(storage, brain.config).query(
            "which table stores the products of an order?"
        )
        results[name] = (result, [fiber.content for fiber in answer.fibers[:3]])

    result, top = results["postgres"]
    assert (result.tables_processed, result.relationships_mapped) == (TABLES, RELATIONSHIPS)
    assert result.patterns_detected == PATTERNS
    assert any(content.startswith("Table order_items") for content in top), top
    assert result.fibers_created == results["sqlite"][0].fibers_created


async def test_a_missing_database_or_wrong_port_is_unavailable_with_no_secret(
    postgres_server: PostgresServer,
) -> None:
    missing = postgres_server.url("no_such_database").replace("@", ":hunter2@", 1)
    with pytest.raises(StorageUnavailableError) as caught:
        await SchemaIntrospector().introspect(missing)
    assert "hunter2" not in str(caught.value)
    closed = f"postgresql+asyncpg://{postgres_server.user}@127.0.0.1:1/postgres"
    with pytest.raises(StorageUnavailableError):
        await SchemaIntrospector().introspect(closed)
