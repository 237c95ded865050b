"""Read a relational database's schema (tables, columns, keys, indexes) through SQLAlchemy.

SQLAlchemy is an optional dependency (``pip install "neural-memory-brain[db]"``); it is
imported only when :meth:`SchemaIntrospector.introspect` runs, so the package imports without
it. Any SQLAlchemy URL works: an async driver (``sqlite+aiosqlite``, ``postgresql+asyncpg``)
runs on the event loop, a synchronous one (``sqlite``, ``postgresql+psycopg``) in a worker
thread so the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neural_memory.errors import StorageUnavailableError, ValidationError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL, Connection

__all__ = [
    "ColumnInfo",
    "ForeignKeyInfo",
    "IndexInfo",
    "SchemaIntrospector",
    "SchemaSnapshot",
    "TableInfo",
    "redact_url",
    "schema_fingerprint",
]

INSTALL_HINT = 'pip install "neural-memory-brain[db]"'
_PASSWORD_IN_URL = re.compile(r"(?P<head>://[^/:@]*:)(?P<password>[^@/]*)@")


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnInfo:
    """One column: its name, SQL type as the database spells it, and constraints."""

    name: str
    type: str
    nullable: bool = True
    primary_key: bool = False
    default: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ForeignKeyInfo:
    """``columns`` of the owning table reference ``referred_columns`` of ``referred_table``."""

    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexInfo:
    """An index or unique constraint over ``columns`` (expressions appear as ``<expr>``)."""

    name: str | None
    columns: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TableInfo:
    """One table: columns in their declared order, foreign keys, indexes, optional size."""

    name: str
    columns: tuple[ColumnInfo, ...]
    foreign_keys: tuple[ForeignKeyInfo, ...] = ()
    indexes: tuple[IndexInfo, ...] = ()
    row_count: int | None = None
    comment: str | None = None

    @property
    def primary_key(self) -> tuple[str, ...]:
        """Names of the primary-key columns, in column order."""
        return tuple(column.name for column in self.columns if column.primary_key)

    def column(self, name: str) -> ColumnInfo | None:
        """The column called ``name``, or None."""
        return next((column for column in self.columns if column.name == name), None)


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaSnapshot:
    """A database schema at one moment.

    Attributes:
        tables: The tables, sorted by name.
        schema_fingerprint: SHA-256 of the normalised schema: equal schemas give equal
            fingerprints whatever order their tables were created in (row counts excluded).
        dialect: The SQLAlchemy dialect name ("sqlite", "postgresql", ...).
    """

    tables: tuple[TableInfo, ...]
    schema_fingerprint: str
    dialect: str

    @classmethod
    def build(cls, tables: tuple[TableInfo, ...] | list[TableInfo], dialect: str) -> SchemaSnapshot:
        """A snapshot of ``tables`` (sorted by name) with its fingerprint computed."""
        ordered = tuple(sorted(tables, key=lambda table: table.name))
        return cls(tables=ordered, schema_fingerprint=schema_fingerprint(ordered), dialect=dialect)

    def table(self, name: str) -> TableInfo | None:
        """The table called ``name``, or None."""
        return next((table for table in self.tables if table.name == name), None)


def schema_fingerprint(tables: tuple[TableInfo, ...] | list[TableInfo]) -> str:
    """SHA-256 (hex) of the normalised schema; table, key and index order do not matter."""
    normalised = sorted(
        (
            {
                "name": table.name,
                "columns": [
                    [c.name, _normalise_type(c.type), c.nullable, c.primary_key, c.default]
                    for c in table.columns
                ],
                "foreign_keys": sorted(
                    [list(fk.columns), fk.referred_table, list(fk.referred_columns)]
                    for fk in table.foreign_keys
                ),
                "indexes": sorted(
                    [ix.name or "", list(ix.columns), ix.unique] for ix in table.indexes
                ),
                "comment": table.comment,
            }
            for table in tables
        ),
        key=lambda entry: str(entry["name"]),
    )
    payload = json.dumps(normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _normalise_type(sql_type: str) -> str:
    return " ".join(sql_type.upper().split())


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (works on unparseable strings too)."""
    return _PASSWORD_IN_URL.sub(r"\g<head>***@", url)


class SchemaIntrospector:
    """Reads the schema of any database SQLAlchemy can reach.

    Args:
        count_rows: Also count each table's rows (``SELECT COUNT(*)``; slow on big tables).
    """

    def __init__(self, *, count_rows: bool = False) -> None:
        if not isinstance(count_rows, bool):
            raise ValidationError("count_rows must be a bool")
        self._count_rows = count_rows

    async def introspect(
        self, connection_string: str, *, max_tables: int | None = None
    ) -> SchemaSnapshot:
        """The schema behind ``connection_string`` (the first ``max_tables`` tables by name).

        Raises:
            ValidationError: ``connection_string`` is not a non-empty string.
            StorageUnavailableError: SQLAlchemy or the driver is missing, the URL is invalid
                or the database cannot be opened (the message shows the URL, password hidden).
        """
        if not isinstance(connection_string, str) or not connection_string.strip():
            raise ValidationError("connection_string must be a non-empty database URL")
        if max_tables is not None and (
            isinstance(max_tables, bool) or not isinstance(max_tables, int) or max_tables < 1
        ):
            raise ValidationError(f"max_tables must be a positive integer, got {max_tables!r}")
        shown = redact_url(connection_string)
        sa = _import_sqlalchemy()
        url = _parse_url(sa, connection_string, shown)
        _require_sqlite_file(url, shown)
        try:
            if _is_async(url):
                tables = await self._read_async(url, shown, max_tables)
            else:
                tables = await asyncio.to_thread(self._read_sync, url, max_tables)
        except (sa.exc.SQLAlchemyError, OSError) as error:
            reason = _scrub(error, url.password)
            raise StorageUnavailableError(f"cannot read schema of {shown}: {reason}") from None
        except ImportError as error:
            reason = _scrub(error, url.password)
            raise StorageUnavailableError(
                f"the database driver for {shown} is not installed ({reason})"
            ) from None
        return SchemaSnapshot.build(tables, url.get_backend_name())

    def _read_sync(self, url: URL, max_tables: int | None) -> list[TableInfo]:
        import sqlalchemy as sa  # noqa: PLC0415 - optional dependency

        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        try:
            with engine.connect() as connection:
                return _read_tables(connection, max_tables, self._count_rows)
        finally:
            engine.dispose()

    async def _read_async(self, url: URL, shown: str, max_tables: int | None) -> list[TableInfo]:
        import sqlalchemy as sa  # noqa: PLC0415 - optional dependency

        try:
            from sqlalchemy.ext.asyncio import create_async_engine  # noqa: PLC0415
        except ImportError as error:  # greenlet missing
            raise StorageUnavailableError(
                f"async driver of {shown} needs SQLAlchemy's asyncio support: {INSTALL_HINT}"
            ) from error
        engine = create_async_engine(url, poolclass=sa.pool.NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(_read_tables, max_tables, self._count_rows)
        finally:
            await engine.dispose()


def _import_sqlalchemy() -> Any:
    try:
        import sqlalchemy  # noqa: PLC0415 - optional dependency, imported on use
    except ImportError as error:
        raise StorageUnavailableError(
            f"schema introspection needs SQLAlchemy: {INSTALL_HINT}"
        ) from error
    return sqlalchemy


def _parse_url(sa: Any, connection_string: str, shown: str) -> URL:
    try:
        url: URL = sa.make_url(connection_string)
        url.get_dialect()  # loads the dialect: an unknown one is a bad URL
    except (sa.exc.ArgumentError, ValueError) as error:
        raise StorageUnavailableError(f"invalid database URL {shown}: {error}") from None
    return url


def _scrub(error: BaseException, password: object) -> str:
    """The error's message without the password (drivers may echo connection details)."""
    message = f"{type(error).__name__}: {error}".strip()
    secret = str(password) if password else ""
    return message.replace(secret, "***") if secret else message


def _is_async(url: URL) -> bool:
    return bool(url.get_dialect().is_async)


def _require_sqlite_file(url: URL, shown: str) -> None:
    """Refuse a missing SQLite file instead of silently creating an empty database."""
    if url.get_backend_name() != "sqlite":
        return
    database = url.database or ""
    if database in {"", ":memory:"} or database.startswith("file:") or "uri" in url.query:
        return
    if not Path(database).is_file():
        raise StorageUnavailableError(f"no SQLite database file at {shown}")


def _read_tables(
    connection: Connection, max_tables: int | None, count_rows: bool
) -> list[TableInfo]:
    """Reflect the default schema's tables over an open synchronous connection."""
    import sqlalchemy as sa  # noqa: PLC0415 - optional dependency

    inspector = sa.inspect(connection)
    names = sorted(inspector.get_table_names())[:max_tables]
    if not names:
        return []
    columns = inspector.get_multi_columns(filter_names=names)
    primary = inspector.get_multi_pk_constraint(filter_names=names)
    foreign = inspector.get_multi_foreign_keys(filter_names=names)
    indexes = inspector.get_multi_indexes(filter_names=names)
    uniques = _optional(inspector.get_multi_unique_constraints, names)
    comments = _optional(inspector.get_multi_table_comment, names)
    sqlite = connection.dialect.name == "sqlite"
    tables = []
    for name in names:
        key = (None, name)
        pk_constraint = primary.get(key)
        pk = set(pk_constraint["constrained_columns"] if pk_constraint else ())
        cols = tuple(_column(c, pk, connection) for c in columns.get(key, []))
        unique = [*uniques.get(key, []), *(_sqlite_uniques(connection, name) if sqlite else [])]
        comment = (comments.get(key) or {}).get("text")
        tables.append(
            TableInfo(
                name=name,
                columns=cols,
                foreign_keys=_foreign_keys(foreign.get(key, []), cols),
                indexes=_indexes(indexes.get(key, []), unique),
                row_count=_count(connection, name) if count_rows else None,
                comment=comment if isinstance(comment, str) and comment else None,
            )
        )
    return tables


def _optional(read: Any, names: list[str]) -> dict[Any, Any]:
    """A multi-reflection the dialect may not implement (comments on SQLite, ...)."""
    try:
        return dict(read(filter_names=names))
    except NotImplementedError:
        return {}


def _column(reflected: Any, pk: set[str], connection: Connection) -> ColumnInfo:
    import sqlalchemy as sa  # noqa: PLC0415 - optional dependency

    try:
        sql_type = str(reflected["type"].compile(dialect=connection.dialect))
    except sa.exc.CompileError:
        sql_type = type(reflected["type"]).__name__.upper()
    default = reflected.get("default")
    name = str(reflected["name"])
    return ColumnInfo(
        name=name,
        type=sql_type,
        nullable=bool(reflected.get("nullable", True)) and name not in pk,
        primary_key=name in pk,
        default=None if default is None else str(default),
    )


def _foreign_keys(
    reflected: list[Any], columns: tuple[ColumnInfo, ...]
) -> tuple[ForeignKeyInfo, ...]:
    """Foreign keys in the order of their first column in the table."""
    position = {column.name: i for i, column in enumerate(columns)}

    def order(fk: ForeignKeyInfo) -> tuple[int, tuple[str, ...], str]:
        first = position.get(fk.columns[0], len(position)) if fk.columns else len(position)
        return first, fk.columns, fk.referred_table

    return tuple(sorted((_foreign_key(fk) for fk in reflected), key=order))


def _foreign_key(reflected: Any) -> ForeignKeyInfo:
    table = str(reflected["referred_table"])
    schema = reflected.get("referred_schema")
    return ForeignKeyInfo(
        columns=tuple(str(c) for c in reflected.get("constrained_columns") or ()),
        referred_table=f"{schema}.{table}" if schema else table,
        referred_columns=tuple(str(c) for c in reflected.get("referred_columns") or ()),
    )


def _indexes(indexes: list[Any], uniques: list[Any]) -> tuple[IndexInfo, ...]:
    found = [
        IndexInfo(
            name=index.get("name"),
            columns=tuple("<expr>" if c is None else str(c) for c in index["column_names"]),
            unique=bool(index.get("unique")),
        )
        for index in indexes
    ]
    covered = {(ix.columns, ix.unique) for ix in found}
    for constraint in uniques:
        columns = tuple(str(c) for c in constraint["column_names"])
        if (columns, True) not in covered:
            found.append(IndexInfo(name=constraint.get("name"), columns=columns, unique=True))
            covered.add((columns, True))
    return tuple(sorted(found, key=lambda ix: (ix.columns, ix.name or "")))


def _sqlite_uniques(connection: Connection, name: str) -> list[dict[str, Any]]:
    """UNIQUE column constraints SQLite keeps as automatic indexes (SQLAlchemy misses some)."""
    import sqlalchemy as sa  # noqa: PLC0415 - optional dependency

    quoted = connection.dialect.identifier_preparer.quote(name)
    found = []
    for row in connection.execute(sa.text(f"PRAGMA index_list({quoted})")).mappings():
        if row["origin"] != "u" or not row["unique"]:
            continue
        index = connection.dialect.identifier_preparer.quote(str(row["name"]))
        info = connection.execute(sa.text(f"PRAGMA index_info({index})")).mappings()
        columns = [str(col["name"]) for col in sorted(info, key=lambda col: int(col["seqno"]))]
        found.append({"name": None, "column_names": columns})
    return found


def _count(connection: Connection, name: str) -> int:
    import sqlalchemy as sa  # noqa: PLC0415 - optional dependency

    query = sa.select(sa.func.count()).select_from(sa.table(name))
    return int(connection.execute(query).scalar_one())
