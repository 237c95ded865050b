"""RedisStorage's typed memories, projects, alerts, recall events, meta values and vectors.

:class:`RedisKnowledgeStorage` is a base class of ``RedisStorage`` (``redis.py``, which
documents the key layout), kept in its own module for size.
"""

from __future__ import annotations

import json
from datetime import datetime

import numpy as np
import numpy.typing as npt

from neural_memory.core.alert import Alert
from neural_memory.core.events import RecallEvent
from neural_memory.core.project import Project
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import BrainNotFoundError
from neural_memory.storage import _redis_snapshot
from neural_memory.storage import memory as _memory
from neural_memory.storage._core import IndexSnapshot, JSONValue
from neural_memory.storage._redis_client import RedisClientStorage, opt_text
from neural_memory.storage._redis_codec import decode, encode, encode_value, micros
from neural_memory.storage._vectors import vector_from_text
from neural_memory.storage.filters import AlertFilter, TypedMemoryFilter

__all__ = ["RedisKnowledgeStorage"]


class RedisKnowledgeStorage(RedisClientStorage):
    """What a brain keeps beside its graph, in Redis hashes and sorted sets."""

    async def _get_typed_memories(
        self, brain_id: str, ids: frozenset[str]
    ) -> dict[str, TypedMemory]:
        with self._errors():
            return await self._hmget(TypedMemory, self._keys(brain_id).key("t"), ids)

    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]:
        keys = self._keys(brain_id)
        with self._errors():
            if query.fiber_ids is not None:
                index = [keys.memories_of_fiber(f) for f in query.fiber_ids]
                pool = await self._fetch(TypedMemory, keys.key("t"), index) if index else []
            elif query.project_id is not None:
                index = [keys.memories_of_project(query.project_id)]
                pool = await self._fetch(TypedMemory, keys.key("t"), index)
            else:
                pool = await self._hvals(TypedMemory, keys.key("t"))
        found = [m for m in pool if _memory._typed_memory_matches(m, query)]
        found.sort(key=lambda m: (-m.priority, -m.created_at.timestamp(), m.id))
        return found[: query.limit] if query.limit is not None else found

    async def _get_projects(self, brain_id: str, ids: frozenset[str] | None) -> list[Project]:
        key = self._keys(brain_id).key("p")
        with self._errors():
            if ids is None:
                found = await self._hvals(Project, key)
            else:
                found = list((await self._hmget(Project, key, ids)).values())
        return sorted(found, key=lambda p: (p.created_at, p.id))

    async def _put_alerts(self, brain_id: str, alerts: tuple[Alert, ...]) -> None:
        pairs = [item for a in alerts for item in (a.id, encode(a))]
        await self._guarded_hset(brain_id, self._keys(brain_id).key("a"), pairs)

    async def _find_alerts(self, brain_id: str, query: AlertFilter) -> list[Alert]:
        key = self._keys(brain_id).key("a")
        with self._errors():
            if query.ids is not None:
                pool = list((await self._hmget(Alert, key, query.ids)).values())
            else:
                pool = await self._hvals(Alert, key)
        found = [
            a
            for a in pool
            if (query.statuses is None or a.status in query.statuses)
            and (query.types is None or a.alert_type in query.types)
        ]
        found.sort(key=lambda a: (a.created_at, a.id), reverse=True)
        return found[: query.limit] if query.limit is not None else found

    async def _add_recall_event(self, brain_id: str, event: RecallEvent) -> None:
        keys = self._keys(brain_id)
        args = [brain_id, str(micros(event.created_at)), encode(event)]
        with self._errors():
            done = await self._run(
                "RECALL_EVENT", [self._brains_key, keys.key("r"), keys.key("rctr")], args
            )
        if not done:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")

    async def _get_recall_events(
        self, brain_id: str, since: datetime | None, limit: int | None
    ) -> list[RecallEvent]:
        if limit == 0:
            return []
        key = self._keys(brain_id).key("r")
        low = str(micros(since)) if since is not None else "-inf"
        with self._errors():
            if limit is None:
                members = await self._redis.zrangebyscore(key, low, "+inf")
            else:
                newest = await self._redis.zrevrangebyscore(key, "+inf", low, start=0, num=limit)
                members = newest[::-1]
        return [decode(RecallEvent, member[16:]) for member in members]

    async def _get_meta(self, brain_id: str, key: str) -> JSONValue | None:
        with self._errors():
            raw = await self._redis.hget(self._keys(brain_id).key("m"), key)
        return json.loads(raw) if raw is not None else None

    async def _meta_keys(self, brain_id: str) -> list[str]:
        with self._errors():
            keys = await self._redis.hkeys(self._keys(brain_id).key("m"))
        return sorted(opt_text(key) or "" for key in keys)

    async def _set_meta(self, brain_id: str, key: str, value: JSONValue) -> None:
        await self._guarded_hset(
            brain_id, self._keys(brain_id).key("m"), [key, encode_value(value)]
        )

    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        key = self._keys(brain_id).key(f"v:{model}")
        with self._errors():
            if ids is None:
                found: dict[str, str] = await self._redis.hgetall(key)
            else:
                wanted = sorted(ids)
                values = await self._redis.hmget(key, wanted)
                found = {i: v for i, v in zip(wanted, values, strict=True) if v is not None}
        return {fiber_id: vector_from_text(text) for fiber_id, text in found.items()}

    async def _get_index_snapshot(self, brain_id: str) -> IndexSnapshot | None:
        with self._errors():
            return await _redis_snapshot.get_index_snapshot(
                self._redis, self._keys(brain_id).key("ix")
            )

    async def _put_index_snapshot(self, brain_id: str, snapshot: IndexSnapshot) -> bool:
        key = self._keys(brain_id).key("ix")
        with self._errors():
            return await _redis_snapshot.put_index_snapshot(
                self._redis, key, self._brains_key, brain_id, snapshot
            )
