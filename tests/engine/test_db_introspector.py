"""SchemaIntrospector and the schema knowledge built from it (sentences and patterns)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from neural_memory.engine._db_knowledge import KnowledgeKind, plan_knowledge
from neural_memory.engine.db_introspector import (
    ColumnInfo,
    ForeignKeyInfo,
    IndexInfo,
    SchemaIntrospector,
    SchemaSnapshot,
    TableInfo,
    redact_url,
)
from neural_memory.errors import StorageUnavailableError, ValidationError
from tests.engine.test_db_trainer import SHOP_TABLES, create_shop


async def test_snapshot_describes_columns_keys_and_indexes(tmp_path: Path) -> None:
    url = create_shop(tmp_path / "shop.db")
    snapshot = await SchemaIntrospector().introspect(url)

    assert snapshot.dialect == "sqlite"
    assert [t.name for t in snapshot.tables] == sorted(SHOP_TABLES)
    orders = snapshot.table("orders")
    assert orders is not None
    assert orders.primary_key == ("id",)
    status = orders.column("status")
    assert status == ColumnInfo(
        name="status", type="VARCHAR(20)", nullable=False, primary_key=False, default="'pending'"
    )
    assert orders.foreign_keys == (
        ForeignKeyInfo(
            columns=("customer_id",), referred_table="customers", referred_columns=("id",)
        ),
    )
    assert orders.row_count is None
    items = snapshot.table("order_items")
    assert items is not None
    assert [fk.referred_table for fk in items.foreign_keys] == ["orders", "products"]
    assert IndexInfo(name="ix_order_items_order_id", columns=("order_id",)) in items.indexes
    customers = snapshot.table("customers")
    assert customers is not None
    assert any(ix.unique and ix.columns == ("email",) for ix in customers.indexes)
    links = snapshot.table("product_tags")
    assert links is not None
    assert links.primary_key == ("product_id", "tag_id")


async def test_async_driver_reads_the_same_schema(tmp_path: Path) -> None:
    url = create_shop(tmp_path / "shop.db")
    plain = await SchemaIntrospector().introspect(url)
    via_async = await SchemaIntrospector().introspect(
        url.replace("sqlite://", "sqlite+aiosqlite://")
    )
    assert via_async == plain


async def test_rows_are_counted_on_request_and_never_change_the_fingerprint(
    tmp_path: Path,
) -> None:
    url = create_shop(tmp_path / "shop.db")
    before = await SchemaIntrospector().introspect(url)
    with sqlite3.connect(tmp_path / "shop.db") as connection:
        connection.executemany("INSERT INTO tags (name) VALUES (?)", [("red",), ("blue",)])
    connection.close()
    counted = await SchemaIntrospector(count_rows=True).introspect(url)

    tags = counted.table("tags")
    assert tags is not None and tags.row_count == 2
    assert counted.table("orders").row_count == 0  # type: ignore[union-attr]
    assert counted.schema_fingerprint == before.schema_fingerprint


async def test_fingerprint_ignores_creation_order_but_sees_a_new_column(tmp_path: Path) -> None:
    forward = create_shop(tmp_path / "a.db")
    backward = create_shop(tmp_path / "b.db", order=list(reversed(SHOP_TABLES)))
    first = await SchemaIntrospector().introspect(forward)
    second = await SchemaIntrospector().introspect(backward)
    assert first.schema_fingerprint == second.schema_fingerprint

    with sqlite3.connect(tmp_path / "b.db") as connection:
        connection.execute("ALTER TABLE customers ADD COLUMN phone VARCHAR(30)")
    connection.close()
    third = await SchemaIntrospector().introspect(backward)
    assert third.schema_fingerprint != first.schema_fingerprint


async def test_max_tables_keeps_the_first_tables_by_name(tmp_path: Path) -> None:
    url = create_shop(tmp_path / "shop.db")
    snapshot = await SchemaIntrospector().introspect(url, max_tables=2)
    assert [t.name for t in snapshot.tables] == ["categories", "customers"]
    with pytest.raises(ValidationError):
        await SchemaIntrospector().introspect(url, max_tables=0)


async def test_empty_in_memory_database_has_no_tables() -> None:
    snapshot = await SchemaIntrospector().introspect("sqlite://")
    assert snapshot.tables == ()
    assert len(snapshot.schema_fingerprint) == 64


@pytest.mark.parametrize(
    "url", ["", "definitely not a url", "nosuchdialect://x/y", "postgresql://u:pw@h:notaport/db"]
)
async def test_bad_urls(url: str) -> None:
    with pytest.raises((StorageUnavailableError, ValidationError)) as caught:
        await SchemaIntrospector().introspect(url)
    assert ":pw@" not in str(caught.value)


async def test_missing_driver_is_unavailable_with_the_url_redacted() -> None:
    pytest.importorskip("sqlalchemy")
    if _installed("MySQLdb"):
        pytest.skip("the MySQL driver is installed here")
    with pytest.raises(StorageUnavailableError) as caught:
        await SchemaIntrospector().introspect("mysql://root:hunter2@127.0.0.1:1/shop")
    assert "hunter2" not in str(caught.value)
    assert "root:***@127.0.0.1" in str(caught.value)


def _installed(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


async def test_without_sqlalchemy_introspection_asks_for_the_db_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "sqlalchemy", None)
    with pytest.raises(StorageUnavailableError, match=r"neural-memory-brain\[db\]"):
        await SchemaIntrospector().introspect("sqlite://")


def test_importing_the_trainer_does_not_import_sqlalchemy() -> None:
    code = (
        "import sys, neural_memory.engine.db_trainer, neural_memory.engine.db_introspector;"
        "print('sqlalchemy' in sys.modules)"
    )
    output = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert output.stdout.strip() == "False"


def test_redact_url_hides_only_the_password() -> None:
    assert redact_url("postgresql://bob:secret@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert redact_url("sqlite:///data/app.db") == "sqlite:///data/app.db"


# -- knowledge from a snapshot (pure) --------------------------------------------------------


def _table(
    name: str, *columns: str, fks: tuple[ForeignKeyInfo, ...] = (), unique: str = ""
) -> TableInfo:
    cols = tuple(
        ColumnInfo(name=c, type="INTEGER", nullable=c != "id", primary_key=c == "id")
        for c in columns
    )
    indexes = (IndexInfo(name=None, columns=(unique,), unique=True),) if unique else ()
    return TableInfo(name=name, columns=cols, foreign_keys=fks, indexes=indexes)


def _fk(column: str, table: str) -> ForeignKeyInfo:
    return ForeignKeyInfo(columns=(column,), referred_table=table, referred_columns=("id",))


def test_polymorphic_pairs_and_one_to_one_keys_are_recognised() -> None:
    snapshot = SchemaSnapshot.build(
        [
            _table("users", "id", "name"),
            _table("profiles", "id", "user_id", fks=(_fk("user_id", "users"),), unique="user_id"),
            _table("comments", "id", "commentable_type", "commentable_id", "body"),
        ],
        "sqlite",
    )
    plan = plan_knowledge(snapshot)
    texts = [item.text for group in plan.tables for item in group.items]
    assert (
        "profiles.user_id references users.id: each profile may belong to a user "
        "(one-to-one: at most one profile per user)." in texts
    )
    assert [p.pattern for p in plan.patterns] == ["polymorphic", "lookup"]
    assert "comments.commentable_type names the table" in plan.patterns[0].text


def test_plain_tables_yield_no_patterns_and_keys_are_stable() -> None:
    snapshot = SchemaSnapshot.build([_table("notes", "id", "body")], "sqlite")
    plan = plan_knowledge(snapshot)
    assert plan.patterns == ()
    (item,) = plan.tables[0].items
    assert item.kind is KnowledgeKind.TABLE
    assert item.key == plan_knowledge(snapshot).tables[0].items[0].key
    assert item.text.startswith("Table notes stores notes, one note per row.")
