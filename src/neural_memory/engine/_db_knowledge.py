"""Schema knowledge as plain sentences: tables, foreign-key relationships and design patterns.

Pure functions over a :class:`SchemaSnapshot` (no I/O). Each sentence names tables and columns
both as written (``order_items.product_id``) and in words ("order item", "product"), so the
encoder's lexical neurons connect it with questions asked in plain language.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from neural_memory.engine.db_introspector import (
    ColumnInfo,
    ForeignKeyInfo,
    SchemaSnapshot,
    TableInfo,
)

__all__ = ["KnowledgeKind", "SchemaKnowledge", "SchemaPlan", "TableKnowledge", "plan_knowledge"]

CREATED_COLUMNS = frozenset(
    {"created_at", "created_on", "created", "creation_date", "date_created", "inserted_at"}
)
UPDATED_COLUMNS = frozenset(
    {"updated_at", "updated_on", "modified_at", "modified_on", "last_modified", "date_modified"}
)
SOFT_DELETE_COLUMNS = frozenset(
    {"deleted_at", "deleted_on", "is_deleted", "deleted", "archived_at", "is_archived"}
)
LABEL_COLUMNS = frozenset(
    {"name", "code", "label", "title", "slug", "value", "key", "description", "sort_order"}
)
_ID_SUFFIXES = (" id", " key", " fk")
_INVARIANT = frozenset({"news", "series", "species", "data", "media", "status", "analysis"})
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


class KnowledgeKind(StrEnum):
    """What a piece of schema knowledge describes."""

    TABLE = "table"
    RELATIONSHIP = "relationship"
    PATTERN = "pattern"


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaKnowledge:
    """One memory-to-be: its sentence, what it is about, and a stable identity key."""

    kind: KnowledgeKind
    text: str
    tables: tuple[str, ...]
    pattern: str = ""

    @property
    def key(self) -> str:
        """Stable identity: the same knowledge always has the same key."""
        raw = f"{self.kind}\x00{self.pattern}\x00{self.text}"
        return hashlib.sha256(raw.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True, kw_only=True)
class TableKnowledge:
    """A table's own description followed by its outgoing relationships."""

    table: str
    items: tuple[SchemaKnowledge, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class SchemaPlan:
    """Everything to remember about one schema, grouped per table, patterns last."""

    tables: tuple[TableKnowledge, ...]
    patterns: tuple[SchemaKnowledge, ...]

    @property
    def relationship_count(self) -> int:
        """How many foreign-key relationships the plan describes."""
        return sum(1 for t in self.tables for i in t.items if i.kind is KnowledgeKind.RELATIONSHIP)


def plan_knowledge(
    snapshot: SchemaSnapshot, *, include_relationships: bool = True, include_patterns: bool = True
) -> SchemaPlan:
    """The knowledge to remember about ``snapshot``, in a deterministic order."""
    groups = []
    for table in snapshot.tables:
        items = [describe_table(table)]
        if include_relationships:
            items.extend(describe_relationship(table, fk) for fk in table.foreign_keys)
        groups.append(TableKnowledge(table=table.name, items=tuple(items)))
    patterns = tuple(detect_patterns(snapshot)) if include_patterns else ()
    return SchemaPlan(tables=tuple(groups), patterns=patterns)


# -- words -------------------------------------------------------------------------------------


def humanise(name: str) -> str:
    """``order_items`` / ``OrderItems`` -> ``order items``."""
    spaced = _CAMEL_BOUNDARY.sub(" ", name)
    return " ".join(re.sub(r"[_.\-]+", " ", spaced).lower().split())


def singular(phrase: str) -> str:
    """Naive English singular of the last word: ``order items`` -> ``order item``."""
    head, _, word = phrase.rpartition(" ")
    if word in _INVARIANT:
        return phrase
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes", "uses")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 2:
        word = word[:-1]
    return f"{head} {word}" if head else word


_SOUNDS_CONSONANT = ("uni", "use", "usa", "usu", "uti", "ure", "eu", "one", "once")
_SOUNDS_VOWEL = ("hour", "honest", "honor", "honour", "heir")


def article(phrase: str) -> str:
    """``phrase`` with "a" or "an" in front ("a user", "an order", "an hour")."""
    vowel = phrase[:1] in set("aeiou") and not phrase.startswith(_SOUNDS_CONSONANT)
    return f"{'an' if vowel or phrase.startswith(_SOUNDS_VOWEL) else 'a'} {phrase}"


def entity(table: str) -> str:
    """What one row of ``table`` is, in words: ``categories`` -> ``category``."""
    return singular(humanise(table.rpartition(".")[2]))


def enumerate_words(words: Iterable[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def columns_ref(table: str, columns: tuple[str, ...]) -> str:
    """``orders.customer_id`` or ``orders.(a, b)`` for a composite key."""
    if len(columns) == 1:
        return f"{table}.{columns[0]}"
    return f"{table}.({', '.join(columns)})"


def role(table: TableInfo, fk: ForeignKeyInfo) -> str:
    """What the referenced row is to ``table``: "customer", "parent category", "author (user)"."""
    target = entity(fk.referred_table)
    column = humanise(fk.columns[0]) if len(fk.columns) == 1 else ""
    words = next((column[: -len(s)] for s in _ID_SUFFIXES if column.endswith(s)), "")
    if not words or words == target or target.endswith(words):
        return target
    if words.endswith(target):
        return words
    if fk.referred_table == table.name:
        return f"{words} {target}"
    return f"{words} ({target})"


def _is_required(table: TableInfo, columns: tuple[str, ...]) -> bool:
    found = [table.column(name) for name in columns]
    return all(column is not None and not column.nullable for column in found)


def _is_unique(table: TableInfo, columns: tuple[str, ...]) -> bool:
    if set(columns) == set(table.primary_key):
        return True
    return any(ix.unique and set(ix.columns) == set(columns) for ix in table.indexes)


# -- tables and relationships ------------------------------------------------------------------


def describe_table(table: TableInfo) -> SchemaKnowledge:
    """One sentence block about a table: what a row is, its columns, keys and indexes."""
    noun = entity(table.name)
    plural = humanise(table.name)
    roles = [article(role(table, fk)) for fk in table.foreign_keys]
    if len(roles) >= 2:
        summary = f"each linking {roles[0]} to {enumerate_words(roles[1:])}"
    elif roles:
        required = _is_required(table, table.foreign_keys[0].columns)
        summary = f"each {'belonging' if required else 'optionally belonging'} to {roles[0]}"
    else:
        summary = f"one {noun} per row"
    text = [f"Table {table.name} stores {plural}, {summary}."]
    if table.comment:
        text.append(f"Comment: {table.comment}.")
    references = {
        fk.columns[0]: columns_ref(fk.referred_table, fk.referred_columns)
        for fk in table.foreign_keys
        if len(fk.columns) == 1
    }
    single_pk = len(table.primary_key) == 1
    listed = "; ".join(_column_text(c, references, single_pk) for c in table.columns)
    text.append(f"Columns: {listed}.")
    if len(table.primary_key) > 1:
        text.append(f"Primary key ({', '.join(table.primary_key)}).")
    for fk in table.foreign_keys:
        if len(fk.columns) > 1:
            target = columns_ref(fk.referred_table, fk.referred_columns)
            text.append(f"Foreign key ({', '.join(fk.columns)}) references {target}.")
    if table.indexes:
        indexes = [
            f"{'unique ' if ix.unique else ''}({', '.join(ix.columns)})" for ix in table.indexes
        ]
        text.append(f"Indexes: {', '.join(indexes)}.")
    return SchemaKnowledge(kind=KnowledgeKind.TABLE, text=" ".join(text), tables=(table.name,))


def _column_text(column: ColumnInfo, references: dict[str, str], single_pk: bool) -> str:
    parts = [column.name, column.type]
    if column.primary_key and single_pk:
        parts.append("primary key")
    elif not column.nullable:
        parts.append("not null")
    if column.default is not None:
        parts.append(f"default {column.default}")
    if column.name in references:
        parts.append(f"references {references[column.name]}")
    return " ".join(parts)


def describe_relationship(table: TableInfo, fk: ForeignKeyInfo) -> SchemaKnowledge:
    """``orders.customer_id references customers.id: each order belongs to a customer.``."""
    source = columns_ref(table.name, fk.columns)
    target = columns_ref(fk.referred_table, fk.referred_columns or ("?",))
    verb = "belongs to" if _is_required(table, fk.columns) else "may belong to"
    sentence = f"{source} references {target}: each {entity(table.name)} {verb}"
    sentence += f" {article(role(table, fk))}"
    if fk.referred_table == table.name:
        sentence += f", so {humanise(table.name)} form a hierarchy"
    elif _is_unique(table, fk.columns):
        sentence += (
            f" (one-to-one: at most one {entity(table.name)} per {entity(fk.referred_table)})"
        )
    return SchemaKnowledge(
        kind=KnowledgeKind.RELATIONSHIP,
        text=sentence + ".",
        tables=(table.name, fk.referred_table),
    )


# -- patterns ----------------------------------------------------------------------------------


def detect_patterns(snapshot: SchemaSnapshot) -> list[SchemaKnowledge]:
    """Design patterns of the schema: conventions first, then per-table structures."""
    found = [*_audit_timestamps(snapshot), *_soft_delete(snapshot)]
    referenced_by = _referencing_tables(snapshot)
    for table in snapshot.tables:
        found.extend(_junction(table))
        found.extend(_hierarchy(table))
        found.extend(_polymorphic(table))
        found.extend(_lookup(table, referenced_by.get(table.name, ())))
    return found


def _names(table: TableInfo) -> dict[str, str]:
    return {column.name.lower(): column.name for column in table.columns}


def _pattern(name: str, text: str, tables: Iterable[str]) -> SchemaKnowledge:
    return SchemaKnowledge(
        kind=KnowledgeKind.PATTERN, text=text, tables=tuple(tables), pattern=name
    )


def _audit_timestamps(snapshot: SchemaSnapshot) -> list[SchemaKnowledge]:
    tables, columns = [], set()
    for table in snapshot.tables:
        names = _names(table)
        audit = [names[n] for n in sorted(names.keys() & (CREATED_COLUMNS | UPDATED_COLUMNS))]
        if audit:
            tables.append(table.name)
            columns.update(audit)
    if not tables:
        return []
    text = (
        f"Pattern audit timestamps: {enumerate_words(tables)} record when each row was "
        f"created and last updated (columns {', '.join(sorted(columns))})."
    )
    return [_pattern("audit_timestamps", text, tables)]


def _soft_delete(snapshot: SchemaSnapshot) -> list[SchemaKnowledge]:
    tables, columns = [], set()
    for table in snapshot.tables:
        names = _names(table)
        marks = [names[n] for n in sorted(names.keys() & SOFT_DELETE_COLUMNS)]
        if marks:
            tables.append(table.name)
            columns.update(marks)
    if not tables:
        return []
    text = (
        f"Pattern soft delete: {enumerate_words(tables)} mark deleted rows with "
        f"{', '.join(sorted(columns))} instead of removing them; queries must filter "
        "deleted rows out."
    )
    return [_pattern("soft_delete", text, tables)]


def _fk_columns(table: TableInfo) -> set[str]:
    return {column for fk in table.foreign_keys for column in fk.columns}


def _payload(table: TableInfo) -> set[str]:
    """Columns that are neither keys nor audit/soft-delete bookkeeping."""
    bookkeeping = CREATED_COLUMNS | UPDATED_COLUMNS | SOFT_DELETE_COLUMNS
    keys = _fk_columns(table) | set(table.primary_key)
    return {
        c.name for c in table.columns if c.name not in keys and c.name.lower() not in bookkeeping
    }


def _junction(table: TableInfo) -> list[SchemaKnowledge]:
    targets = [fk.referred_table for fk in table.foreign_keys if fk.referred_table != table.name]
    if len(targets) < 2 or _payload(table):
        return []
    first, rest = humanise(targets[0]), [humanise(t) for t in targets[1:]]
    text = (
        f"Pattern many-to-many: {table.name} is a junction table linking {first} and "
        f"{enumerate_words(rest)}; each {singular(first)} can have many {rest[0]} and each "
        f"{singular(rest[0])} many {first}."
    )
    return [_pattern("junction", text, [table.name, *targets])]


def _hierarchy(table: TableInfo) -> list[SchemaKnowledge]:
    found = []
    for fk in table.foreign_keys:
        if fk.referred_table == table.name:
            plural = humanise(table.name)
            text = (
                f"Pattern hierarchy: {table.name} references itself through "
                f"{', '.join(fk.columns)}, so {plural} form a tree of parent and child {plural}."
            )
            found.append(_pattern("hierarchy", text, [table.name]))
    return found


def _polymorphic(table: TableInfo) -> list[SchemaKnowledge]:
    names = _names(table)
    fk_columns = {c.lower() for c in _fk_columns(table)}
    found = []
    for lower, type_column in sorted(names.items()):
        if not lower.endswith("_type"):
            continue
        id_column = names.get(lower[: -len("_type")] + "_id")
        if id_column is None or id_column.lower() in fk_columns:
            continue
        text = (
            f"Pattern polymorphic association: {table.name}.{type_column} names the table "
            f"that {table.name}.{id_column} points to, so {article(entity(table.name))} can "
            "belong to rows of several tables (no foreign key enforces it)."
        )
        found.append(_pattern("polymorphic", text, [table.name]))
    return found


def _lookup(table: TableInfo, referenced_by: tuple[str, ...]) -> list[SchemaKnowledge]:
    payload = _payload(table)
    if not referenced_by or table.foreign_keys or not payload or len(payload) > 3:
        return []
    if not all(name.lower() in LABEL_COLUMNS for name in payload):
        return []
    if table.row_count is not None and table.row_count > 1000:
        return []
    text = (
        f"Pattern lookup table: {table.name} is a small list of {humanise(table.name)} "
        f"({', '.join(sorted(payload))}) that {enumerate_words(referenced_by)} refer to, "
        "like an enumeration."
    )
    return [_pattern("lookup", text, [table.name, *referenced_by])]


def _referencing_tables(snapshot: SchemaSnapshot) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = {}
    for table in snapshot.tables:
        for fk in table.foreign_keys:
            if fk.referred_table != table.name and table.name not in found.get(
                fk.referred_table, []
            ):
                found.setdefault(fk.referred_table, []).append(table.name)
    return {name: tuple(tables) for name, tables in found.items()}
