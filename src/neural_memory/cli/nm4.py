"""Read a neural-memory 4.x brain (the PyPI ``neural-memory`` package's SQLite file).

What is read, from that package's ``storage/sqlite_schema.py`` (schema versions 1-19):

- ``brains(id, name, ...)``: one file may hold several brains.
- ``fibers(id, brain_id, anchor_neuron_id, time_start, tags, agent_tags, created_at, ...)``:
  one row per memory. ``time_start`` is when the event happened (may be NULL), ``created_at``
  when it was stored; ``tags`` is a JSON array, the union of ``auto_tags`` (extracted
  keywords, since v8) and ``agent_tags`` (given by the caller, since v8).
- ``neurons(id, brain_id, type, content, metadata, ...)``: the memory's text is the
  ``content`` of its fiber's anchor neuron (a ``concept`` neuron with ``is_anchor`` in its
  metadata); ``fibers.summary`` is the fallback.
- ``typed_memories(fiber_id, brain_id, memory_type, priority, expires_at, project_id, tags,
  ...)``: the memory's type (the same ten types as here), priority 0-10 and expiry.
- ``projects(id, brain_id, name, ...)``: the project names.

Timestamps are ISO 8601 text; one without a zone is taken as UTC. Synapses, neuron states
and the package's other tables are not read: the memories are encoded again here.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from neural_memory.core.typed_memory import MemoryType
from neural_memory.errors import SnapshotFormatError, StorageUnavailableError, ValidationError

__all__ = ["LegacyBrain", "LegacyMemory", "read_legacy_brain"]

_REQUIRED_TABLES = {"brains", "fibers", "neurons"}


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyMemory:
    """One memory of a neural-memory 4.x brain."""

    source_id: str
    text: str
    occurred_at: datetime | None
    created_at: datetime
    tags: frozenset[str]
    memory_type: MemoryType | None
    priority: int | None
    expires_at: datetime | None
    project: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class LegacyBrain:
    """The brain read: its name and its memories, oldest first."""

    name: str
    memories: tuple[LegacyMemory, ...]


def read_legacy_brain(path: str | Path, brain_name: str | None = None) -> LegacyBrain:
    """Read the brain ``brain_name`` (default: the only one, or ``default``) of ``path``.

    Raises:
        StorageUnavailableError: The file does not exist or cannot be opened.
        SnapshotFormatError: It is not a neural-memory 4.x database.
        ValidationError: The brain is missing, or several brains exist and none was chosen.
    """
    source = Path(path).expanduser()
    if not source.is_file():
        raise StorageUnavailableError(f"no neural-memory database at {str(source)!r}")
    try:
        connection = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StorageUnavailableError(f"cannot open {str(source)!r}: {exc}") from exc
    with closing(connection) as db:
        db.row_factory = sqlite3.Row
        try:
            _check_tables(db, source)
            brain_id, name = _pick_brain(db, brain_name)
            rows = db.execute(_query(db), (brain_id,)).fetchall()
        except sqlite3.DatabaseError as exc:
            raise SnapshotFormatError(f"{str(source)!r} is not a readable database: {exc}") from exc
    return LegacyBrain(name=name, memories=tuple(m for r in rows if (m := _memory(r))))


def _check_tables(db: sqlite3.Connection, source: Path) -> None:
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if _REQUIRED_TABLES - tables:
        raise SnapshotFormatError(
            f"{str(source)!r} is not a neural-memory 4.x brain (no brains/fibers/neurons tables)"
        )


def _pick_brain(db: sqlite3.Connection, wanted: str | None) -> tuple[str, str]:
    brains = [(str(r["id"]), str(r["name"])) for r in db.execute("SELECT id, name FROM brains")]
    if wanted is not None:
        found = [b for b in brains if wanted in b]
        if not found:
            raise ValidationError(f"no brain {wanted!r} in the neural-memory file")
        return found[0]
    if len(brains) == 1:
        return brains[0]
    defaults = [b for b in brains if b[1] == "default"]
    if defaults:
        return defaults[0]
    names = ", ".join(sorted(name for _, name in brains)) or "none"
    raise ValidationError(f"choose the brain to import with --source-brain (brains: {names})")


def _columns(db: sqlite3.Connection, table: str) -> set[str]:
    return {str(r[1]) for r in db.execute(f"PRAGMA table_info({table})")}


def _query(db: sqlite3.Connection) -> str:
    """The memories of one brain, adapted to the columns this schema version has."""
    fiber_columns = _columns(db, "fibers")
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    agent_tags = "f.agent_tags" if "agent_tags" in fiber_columns else "NULL"
    time_start = "f.time_start" if "time_start" in fiber_columns else "NULL"
    summary = "f.summary" if "summary" in fiber_columns else "NULL"
    typed = "typed_memories" in tables
    projects = typed and "projects" in tables
    return f"""
        SELECT f.id AS id, f.created_at AS created_at, {time_start} AS time_start,
               f.tags AS tags, {agent_tags} AS agent_tags, n.content AS content,
               {summary} AS summary,
               {"tm.memory_type" if typed else "NULL"} AS memory_type,
               {"tm.priority" if typed else "NULL"} AS priority,
               {"tm.expires_at" if typed else "NULL"} AS expires_at,
               {"tm.tags" if typed else "NULL"} AS typed_tags,
               {"p.name" if projects else "NULL"} AS project
        FROM fibers f
        LEFT JOIN neurons n ON n.brain_id = f.brain_id AND n.id = f.anchor_neuron_id
        {
        "LEFT JOIN typed_memories tm ON tm.brain_id = f.brain_id AND tm.fiber_id = f.id"
        if typed
        else ""
    }
        {
        "LEFT JOIN projects p ON p.brain_id = f.brain_id AND p.id = tm.project_id"
        if projects
        else ""
    }
        WHERE f.brain_id = ?
        ORDER BY COALESCE({time_start}, f.created_at), f.id
    """  # only column names are interpolated, each chosen from fixed text above


def _memory(row: sqlite3.Row) -> LegacyMemory | None:
    text = row["content"] or row["summary"]
    if not isinstance(text, str) or not text.strip():
        return None
    agent = _string_list(row["agent_tags"])
    tags = agent if row["agent_tags"] is not None else _string_list(row["tags"])
    return LegacyMemory(
        source_id=str(row["id"]),
        text=text,
        occurred_at=_moment(row["time_start"]),
        created_at=_moment(row["created_at"]) or datetime.now(UTC),
        tags=frozenset(tags | _string_list(row["typed_tags"])),
        memory_type=_type(row["memory_type"]),
        priority=_priority(row["priority"]),
        expires_at=_moment(row["expires_at"]),
        project=str(row["project"]) if row["project"] else None,
    )


def _string_list(value: Any) -> frozenset[str]:
    if not isinstance(value, str) or not value.strip():
        return frozenset()
    try:
        items = json.loads(value)
    except json.JSONDecodeError:
        return frozenset()
    if not isinstance(items, list):
        return frozenset()
    return frozenset(i.strip() for i in items if isinstance(i, str) and i.strip())


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _type(value: Any) -> MemoryType | None:
    try:
        return MemoryType(str(value).lower()) if value else None
    except ValueError:
        return MemoryType.FACT


def _priority(value: Any) -> int | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return max(0, min(10, int(value)))
    return None
