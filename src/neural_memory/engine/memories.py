"""Memories as people and agents handle them: remember typed, edit, forget, show, list.

What the CLI and the MCP server do to single memories, over any storage: a memory is a fiber
plus, optionally, its typed memory (type, priority, tags, project, expiry). Editing never
overwrites: the corrected text becomes a new memory that ``supersedes`` the old one, which
stays reachable through the supersession chain (:mod:`neural_memory.engine.history`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from neural_memory.core.clock import as_utc
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import EDITED, SPEAKER, SUPERSEDES
from neural_memory.core.project import Project
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory
from neural_memory.engine.encoder import EncodingResult, MemoryEncoder
from neural_memory.engine.history import supersession_chain
from neural_memory.errors import NotFoundError, ValidationError
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = [
    "EditResult",
    "MemoryFilter",
    "MemorySpec",
    "MemoryView",
    "RememberResult",
    "edit_memory",
    "forget_memory",
    "list_memories",
    "memory_types",
    "project_named",
    "remember_memory",
    "show_memory",
]

_CARRIED_OVER = (SPEAKER.name,)
"""Metadata an edited memory keeps from the version it corrects."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MemorySpec:
    """One memory to remember, with what kind of knowledge it is.

    Attributes:
        text: The memory, in plain words.
        when: When it happened (default now).
        speaker: Who said or did it.
        memory_type: Its kind; None stores a plain memory without a typed record, unless
            ``priority``, ``project`` or ``expires_in_days`` ask for one (then a fact).
        priority: 0-10 importance.
        tags: Free labels.
        project: The project's name (created when new).
        expires_in_days: After this many days it is no longer recalled.
        source: Where it came from ("cli", "mcp", "import", ...).
    """

    text: str
    when: datetime | None = None
    speaker: str | None = None
    memory_type: MemoryType | None = None
    priority: int | None = None
    tags: frozenset[str] = frozenset()
    project: str | None = None
    expires_in_days: float | None = None
    source: str = ""

    @property
    def typed(self) -> bool:
        """True when the memory gets a typed record."""
        extras = (self.priority, self.project, self.expires_in_days)
        return self.memory_type is not None or any(x is not None for x in extras)


@dataclass(frozen=True, slots=True, kw_only=True)
class RememberResult:
    """What remembering did: the encoding (``merged`` for a repeat) and the typed record."""

    encoding: EncodingResult
    typed: TypedMemory | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryView:
    """One memory as shown to a reader.

    Attributes:
        fiber: The memory.
        typed: Its typed record, if any.
        project: Its project's name, if any.
        versions: Every version of it, oldest first (itself included; one when never edited).
    """

    fiber: Fiber
    typed: TypedMemory | None
    project: str | None = None
    versions: tuple[Fiber, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class EditResult:
    """An edit: the version it corrected and the current one (the same fiber for a type edit)."""

    previous: Fiber
    current: Fiber
    typed: TypedMemory | None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemoryFilter:
    """Which memories :func:`list_memories` returns (every criterion must hold).

    Attributes:
        memory_type: Only typed memories of this kind.
        tag: Only memories carrying this tag (on the memory or its typed record).
        project: Only memories of the project with this name.
        since: Only memories that happened at or after this moment.
        until: Only memories that happened before this moment.
        include_superseded: Also older versions of edited or updated memories.
        limit: At most this many, newest first.
    """

    memory_type: MemoryType | None = None
    tag: str | None = None
    project: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    include_superseded: bool = False
    limit: int = 20


async def project_named(storage: Storage, name: str, *, create: bool) -> Project | None:
    """The project called ``name`` (created when missing and ``create``; else None)."""
    wanted = name.strip()
    if not wanted:
        raise ValidationError("the project name must not be empty")
    for project in await storage.list_projects():
        if project.name == wanted:
            return project
    if not create:
        return None
    project = Project.create(wanted)
    await storage.add_project(project)
    return project


async def remember_memory(
    storage: Storage, encoder: MemoryEncoder, spec: MemorySpec
) -> RememberResult:
    """Store ``spec``; a repeat of a stored text is merged into it (``encoding.merged``)."""
    encoding = await encoder.encode(
        spec.text,
        timestamp=as_utc(spec.when) if spec.when else None,
        metadata={SPEAKER.name: spec.speaker} if spec.speaker else None,
        tags=spec.tags,
    )
    if not spec.typed:
        return RememberResult(encoding=encoding, typed=None)
    project = await project_named(storage, spec.project, create=True) if spec.project else None
    typed = TypedMemory.create(
        encoding.fiber.id,
        spec.memory_type or MemoryType.FACT,
        Priority.NORMAL if spec.priority is None else spec.priority,
        source=spec.source,
        expires_in_days=spec.expires_in_days,
        tags=spec.tags,
        project_id=project.id if project else None,
    )
    existing = (await storage.get_typed_memories_for_fibers([encoding.fiber.id])).get(
        encoding.fiber.id
    )
    if existing is not None:
        typed = dataclasses.replace(typed, id=existing.id, created_at=existing.created_at)
    await storage.add_typed_memory(typed)
    return RememberResult(encoding=encoding, typed=typed)


async def _fiber(storage: Storage, fiber_id: str) -> Fiber:
    if not isinstance(fiber_id, str) or not fiber_id.strip():
        raise ValidationError("the memory id must not be empty")
    fiber = await storage.get_fiber(fiber_id.strip())
    if fiber is None:
        raise NotFoundError(f"no memory with id {fiber_id!r}")
    return fiber


async def _typed_of(storage: Storage, fiber_id: str) -> TypedMemory | None:
    return (await storage.get_typed_memories_for_fibers([fiber_id])).get(fiber_id)


async def show_memory(storage: Storage, fiber_id: str) -> MemoryView:
    """The memory ``fiber_id`` with its typed record, project and every version."""
    fiber = await _fiber(storage, fiber_id)
    typed = await _typed_of(storage, fiber.id)
    project = await storage.get_project(typed.project_id) if typed and typed.project_id else None
    versions = tuple(await supersession_chain(storage, fiber.id))
    return MemoryView(
        fiber=fiber, typed=typed, project=project.name if project else None, versions=versions
    )


async def edit_memory(
    storage: Storage,
    encoder: MemoryEncoder,
    fiber_id: str,
    *,
    text: str | None = None,
    memory_type: MemoryType | None = None,
) -> EditResult:
    """Correct the text and/or the type of the memory ``fiber_id``.

    A new text is stored as a new memory (same time, speaker and tags) that supersedes the
    old one; recall then prefers it, and the old one stays in the supersession chain. Only
    the newest version of a memory can be edited.
    """
    if text is None and memory_type is None:
        raise ValidationError("nothing to edit: give a new text or a new type")
    old = await _fiber(storage, fiber_id)
    if old.superseded_by is not None:
        raise ValidationError(
            f"memory {old.id!r} was already replaced by {old.superseded_by!r}: edit that one"
        )
    typed = await _typed_of(storage, old.id)
    current = old
    if text is not None and text.strip() != old.content.strip():
        current = await _corrected(storage, encoder, old, text)
    if typed is not None or memory_type is not None:
        typed = await _retyped(storage, typed, current.id, memory_type)
    return EditResult(previous=old, current=current, typed=typed)


async def _corrected(storage: Storage, encoder: MemoryEncoder, old: Fiber, text: str) -> Fiber:
    """Store ``text`` as the new version of ``old``; return the new fiber."""
    metadata = {k: old.metadata[k] for k in _CARRIED_OVER if k in old.metadata}
    encoding = await encoder.encode(
        text,
        timestamp=old.occurred_at,
        metadata={**metadata, SUPERSEDES.name: old.id, EDITED.name: True},
        tags=old.tags,
    )
    new = encoding.fiber
    if encoding.merged or new.id == old.id:
        raise ValidationError(f"that text is already stored as memory {new.id!r}")
    stored_old = await storage.get_fiber(old.id)
    if stored_old is not None and stored_old.superseded_by is None:
        await storage.update_fiber(stored_old.superseded(new.id))
    return await storage.get_fiber(new.id) or new


async def _retyped(
    storage: Storage, typed: TypedMemory | None, fiber_id: str, memory_type: MemoryType | None
) -> TypedMemory:
    """The typed record moved to ``fiber_id`` (and given ``memory_type``), stored."""
    if typed is None:
        moved = TypedMemory.create(fiber_id, memory_type or MemoryType.FACT, source="edit")
    else:
        moved = dataclasses.replace(
            typed, fiber_id=fiber_id, memory_type=memory_type or typed.memory_type
        )
    await storage.add_typed_memory(moved)
    return moved


async def forget_memory(storage: Storage, fiber_id: str) -> list[str]:
    """Delete the memory ``fiber_id`` with every version of it; return the deleted ids.

    One batch: the versions go together with their typed memories and vectors (storage
    deletes those along with their fiber), so no version is left naming a deleted one.
    """
    fiber = await _fiber(storage, fiber_id)
    versions = tuple(version.id for version in await supersession_chain(storage, fiber.id))
    await storage.write(WriteBatch(delete_fiber_ids=versions))
    return list(versions)


async def list_memories(storage: Storage, query: MemoryFilter) -> list[MemoryView]:
    """The memories matching ``query``, newest first (by when they happened)."""
    if query.limit < 1:
        raise ValidationError("limit must be a positive integer")
    typed_only = query.memory_type is not None or query.project is not None
    if typed_only:
        records = await _typed_matching(storage, query)
        if records is None:
            return []
        fibers = list((await storage.get_fibers(records)).values())
    else:
        fibers = await storage.find_fibers()
        records = await storage.get_typed_memories_for_fibers(f.id for f in fibers)
    kept = sorted(
        (f for f in fibers if _keeps(query, f, records.get(f.id))),
        key=lambda f: (_moment(f), f.id),
        reverse=True,
    )[: query.limit]
    projects = {p.id: p.name for p in await storage.list_projects()}
    return [
        MemoryView(
            fiber=f,
            typed=records.get(f.id),
            project=_project_name(projects, records.get(f.id)),
        )
        for f in kept
    ]


async def _typed_matching(storage: Storage, query: MemoryFilter) -> dict[str, TypedMemory] | None:
    """Typed records of the query's type and project by fiber id (None: no such project)."""
    project_id = None
    if query.project is not None:
        project = await project_named(storage, query.project, create=False)
        if project is None:
            return None
        project_id = project.id
    found = await storage.find_typed_memories(
        query.memory_type, project_id=project_id, include_expired=True
    )
    return {m.fiber_id: m for m in found}


def _moment(fiber: Fiber) -> datetime:
    return fiber.occurred_at or fiber.created_at


def _project_name(projects: dict[str, str], typed: TypedMemory | None) -> str | None:
    return projects.get(typed.project_id) if typed and typed.project_id else None


def _keeps(query: MemoryFilter, fiber: Fiber, typed: TypedMemory | None) -> bool:
    if fiber.superseded_by is not None and not query.include_superseded:
        return False
    if query.tag is not None and query.tag not in _tags(fiber, typed):
        return False
    moment = _moment(fiber)
    if query.since is not None and moment < as_utc(query.since):
        return False
    return query.until is None or moment < as_utc(query.until)


def _tags(fiber: Fiber, typed: TypedMemory | None) -> Iterable[str]:
    return fiber.tags | (typed.tags if typed else frozenset())


def memory_types() -> Sequence[str]:
    """The names of the memory types, for help texts and validation messages."""
    return [t.value for t in MemoryType]
