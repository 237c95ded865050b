"""Storage's methods for what a brain keeps beside its graph.

That is its typed memories, projects, alerts, recall events and meta values.
:class:`KnowledgeStorage` is a base class of :class:`~neural_memory.storage.base.Storage`,
kept in its own module for size. Like the rest of ``Storage``, each method validates its input,
checks the current brain and delegates to the backend's ``_``-prefixed primitives
(``_core.py``); record writes go through ``Storage.write``.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

from neural_memory.core._validation import freeze_strings, require_enum, require_text
from neural_memory.core.alert import Alert, AlertStatus, AlertType
from neural_memory.core.clock import as_utc, utcnow
from neural_memory.core.events import RecallEvent
from neural_memory.core.limits import check_record
from neural_memory.core.project import Project
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory
from neural_memory.errors import NotFoundError, ValidationError
from neural_memory.storage._core import JSONValue, StorageCore
from neural_memory.storage._limits import check_meta
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import AlertFilter, TypedMemoryFilter

__all__ = ["KnowledgeStorage", "expect", "valid_limit"]

_T = TypeVar("_T")
_AlertChange = Callable[[Alert, datetime | None], Alert]
_OPEN_STATUSES = frozenset({AlertStatus.ACTIVE, AlertStatus.SEEN})


class KnowledgeStorage(StorageCore):
    """Typed memories, projects, alerts, recall events and meta values of the current brain."""

    @abc.abstractmethod
    async def write(self, batch: WriteBatch) -> int:
        """Apply ``batch`` to the current brain in one transaction (see ``Storage.write``)."""

    # -- typed memories ------------------------------------------------------------------------

    async def add_typed_memory(self, memory: TypedMemory) -> None:
        """Store ``memory`` (replacing one with the same id)."""
        await self.write(WriteBatch(put_typed_memories=(expect(memory, TypedMemory),)))

    async def get_typed_memory(self, memory_id: str) -> TypedMemory | None:
        """The typed memory with ``memory_id``, or None."""
        ids = frozenset({require_text(memory_id, "memory_id")})
        found = await self._get_typed_memories(await self._current_brain(), ids)
        return found.get(memory_id)

    async def get_typed_memories(self, memory_ids: Iterable[str]) -> dict[str, TypedMemory]:
        """The typed memories that exist among ``memory_ids``, by id (one round-trip)."""
        ids = freeze_strings(memory_ids, "memory_ids")
        return await self._get_typed_memories(await self._current_brain(), ids) if ids else {}

    async def find_typed_memories(
        self,
        memory_type: MemoryType | None = None,
        min_priority: Priority | int | None = None,
        *,
        tags: Iterable[str] | None = None,
        project_id: str | None = None,
        include_expired: bool = False,
        now: datetime | None = None,
        limit: int | None = None,
        fiber_ids: Iterable[str] | None = None,
    ) -> list[TypedMemory]:
        """Typed memories matching every criterion, highest priority first, then newest.

        ``min_priority`` is any priority from 0 to 10 (levels between the named ones are
        valid thresholds: 6 keeps HIGH and CRITICAL memories); ``fiber_ids`` (None: any)
        keeps the memories of those fibers.
        """
        query = TypedMemoryFilter(
            memory_type=require_enum(memory_type, MemoryType, "memory_type")
            if memory_type is not None
            else None,
            min_priority=_min_priority(min_priority),
            tags=freeze_strings(tags, "tags"),
            project_id=project_id,
            fiber_ids=freeze_strings(fiber_ids, "fiber_ids") if fiber_ids is not None else None,
            not_expired_at=None if include_expired else as_utc(now or utcnow()),
            limit=valid_limit(limit),
        )
        return await self._find_typed_memories(await self._current_brain(), query)

    async def get_typed_memories_for_fibers(
        self, fiber_ids: Iterable[str]
    ) -> dict[str, TypedMemory]:
        """The typed memory of each fiber that has one, by fiber id (expired included)."""
        ids = freeze_strings(fiber_ids, "fiber_ids")
        if not ids:
            return {}
        query = TypedMemoryFilter(fiber_ids=ids)
        found = await self._find_typed_memories(await self._current_brain(), query)
        return {memory.fiber_id: memory for memory in found}

    async def update_typed_memory(self, memory: TypedMemory) -> None:
        """Replace a stored typed memory; NotFoundError when it does not exist."""
        if await self.get_typed_memory(memory.id) is None:
            raise NotFoundError(f"typed memory {memory.id!r} does not exist")
        await self.add_typed_memory(memory)

    async def delete_typed_memory(self, memory_id: str) -> bool:
        """Delete a typed memory (its fiber stays); False when it did not exist."""
        if await self.get_typed_memory(memory_id) is None:
            return False
        await self.write(WriteBatch(delete_typed_memory_ids=(memory_id,)))
        return True

    # -- projects ------------------------------------------------------------------------------

    async def add_project(self, project: Project) -> None:
        """Store ``project`` (replacing one with the same id)."""
        await self.write(WriteBatch(put_projects=(expect(project, Project),)))

    async def get_project(self, project_id: str) -> Project | None:
        """The project with ``project_id``, or None."""
        ids = frozenset({require_text(project_id, "project_id")})
        found = await self._get_projects(await self._current_brain(), ids)
        return found[0] if found else None

    async def get_projects(self, project_ids: Iterable[str]) -> list[Project]:
        """The projects that exist among ``project_ids``, oldest first (one round-trip)."""
        ids = freeze_strings(project_ids, "project_ids")
        return await self._get_projects(await self._current_brain(), ids) if ids else []

    async def list_projects(self) -> list[Project]:
        """Every project of the brain, oldest first."""
        return await self._get_projects(await self._current_brain(), None)

    async def get_project_memories(
        self, project_id: str, *, include_expired: bool = False
    ) -> list[TypedMemory]:
        """The typed memories of a project, highest priority first."""
        return await self.find_typed_memories(
            project_id=require_text(project_id, "project_id"), include_expired=include_expired
        )

    async def delete_project(self, project_id: str) -> bool:
        """Delete a project (its memories stay, unassigned); False when it did not exist."""
        if await self.get_project(project_id) is None:
            return False
        await self.write(WriteBatch(delete_project_ids=(project_id,)))
        return True

    # -- alerts --------------------------------------------------------------------------------

    async def add_alerts(self, alerts: Iterable[Alert]) -> None:
        """Store new alerts (or replace ones with the same id)."""
        items = tuple(expect(alert, Alert) for alert in alerts)
        for alert in items:
            check_record(alert)
        if items:
            await self._put_alerts(await self._current_brain(), items)

    async def get_alerts(
        self,
        *,
        statuses: Iterable[AlertStatus] | None = None,
        types: Iterable[AlertType | str] | None = None,
        limit: int | None = None,
        ids: Iterable[str] | None = None,
    ) -> list[Alert]:
        """Alerts with any of ``statuses``, ``types`` and ``ids`` (None: all), newest first."""
        query = AlertFilter(
            ids=freeze_strings(ids, "ids") if ids is not None else None,
            statuses=frozenset(require_enum(s, AlertStatus, "status") for s in statuses)
            if statuses is not None
            else None,
            types=_alert_types(types) if types is not None else None,
            limit=valid_limit(limit),
        )
        return await self._find_alerts(await self._current_brain(), query)

    async def get_active_alerts(self, limit: int = 50) -> list[Alert]:
        """Alerts still open (active or seen), newest first."""
        return await self.get_alerts(statuses=_OPEN_STATUSES, limit=limit)

    async def mark_alerts_seen(self, alert_ids: Sequence[str]) -> int:
        """Move active alerts to ``seen``; return how many changed."""
        return await self._transition(alert_ids, Alert.mark_seen)

    async def mark_alert_acknowledged(self, alert_id: str) -> bool:
        """Acknowledge an alert (it will not be auto-resolved); False when unknown."""
        return await self._transition([alert_id], Alert.acknowledge) == 1

    async def resolve_alerts_by_type(self, alert_types: Iterable[AlertType | str]) -> int:
        """Resolve open (active or seen, not acknowledged) alerts of these types."""
        brain_id = await self._current_brain()
        query = AlertFilter(statuses=_OPEN_STATUSES, types=_alert_types(alert_types))
        now = utcnow()
        resolved = tuple(alert.resolve(now) for alert in await self._find_alerts(brain_id, query))
        if resolved:
            await self._put_alerts(brain_id, resolved)
        return len(resolved)

    async def _transition(self, alert_ids: Sequence[str], change: _AlertChange) -> int:
        brain_id = await self._current_brain()
        ids = freeze_strings(alert_ids, "alert_ids")
        if not ids:
            return 0
        now = utcnow()
        found = await self._find_alerts(brain_id, AlertFilter(ids=ids))
        changed = tuple(new for old in found if (new := change(old, now)) != old)
        if changed:
            await self._put_alerts(brain_id, changed)
        return len(changed)

    # -- recall events, metadata -----------------------------------------------------------

    async def add_recall_event(self, event: RecallEvent) -> None:
        """Record one query and what it recalled."""
        check_record(expect(event, RecallEvent))
        await self._add_recall_event(await self._current_brain(), event)

    async def get_recall_events(
        self, *, since: datetime | None = None, limit: int | None = None
    ) -> list[RecallEvent]:
        """Recall events at or after ``since``, oldest first (the newest ``limit``)."""
        moment = as_utc(since) if since else None
        return await self._get_recall_events(
            await self._current_brain(), moment, valid_limit(limit)
        )

    async def get_meta(self, key: str) -> JSONValue | None:
        """A JSON value stored under ``key`` for the current brain, or None."""
        return await self._get_meta(await self._current_brain(), require_text(key, "key"))

    async def set_meta(self, key: str, value: JSONValue) -> None:
        """Store a JSON-serialisable value under ``key`` for the current brain."""
        check_meta(require_text(key, "key"), value)
        await self._set_meta(await self._current_brain(), key, value)

    async def meta_keys(self) -> list[str]:
        """The keys of the current brain's meta values, sorted."""
        return await self._meta_keys(await self._current_brain())


def expect(value: object, kind: type[_T]) -> _T:
    """``value`` if it is a ``kind`` (ValidationError otherwise)."""
    if not isinstance(value, kind):
        raise ValidationError(f"expected a {kind.__name__}, got {type(value).__name__}")
    return value


def valid_limit(limit: int | None) -> int | None:
    """``limit`` if it is None or a non-negative integer (ValidationError otherwise)."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValidationError(f"limit must be a non-negative integer, got {limit!r}")
    return limit


def _min_priority(value: Priority | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 10:
        raise ValidationError(f"min_priority must be an integer from 0 to 10, got {value!r}")
    return int(value)


def _alert_types(types: Iterable[AlertType | str]) -> frozenset[AlertType]:
    if isinstance(types, str):
        raise ValidationError("alert types must be a list, not a single string")
    return frozenset(require_enum(t, AlertType, "alert type") for t in types)
