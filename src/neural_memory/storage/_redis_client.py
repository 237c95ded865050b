"""RedisStorage's connection: its client, its scripts, error translation and read helpers.

:class:`RedisClientStorage` is the base class of ``RedisStorage`` (``redis.py``, which
documents the key layout and the atomicity of writes), kept in its own module for size.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from neural_memory.errors import BrainNotFoundError, StorageError, StorageUnavailableError
from neural_memory.storage import _redis_scripts as scripts
from neural_memory.storage._redis_codec import decode
from neural_memory.storage._redis_plan import BrainKeys, check_namespace, redact_url
from neural_memory.storage.base import Storage

if TYPE_CHECKING:
    import redis.asyncio
    from redis.commands.core import AsyncScript

__all__ = ["RedisClientStorage", "opt_text", "redis_modules"]

_T = TypeVar("_T")
_INSTALL_HINT = "pip install neural-memory-brain[redis]"
_LAYOUT = 2  # the ``{ns}:layout`` this release writes (see the key layout in redis.py)


class RedisClientStorage(Storage):
    """A storage on a Redis server: its client and scripts, and the helpers of every call."""

    def __init__(self, url: str, *, namespace: str, client: redis.asyncio.Redis | None) -> None:
        super().__init__()
        redis_modules()
        self._url = url
        self._where = redact_url(url) if client is None else _describe(client)
        self._namespace = check_namespace(namespace)
        self._client: redis.asyncio.Redis | None = client
        self._owns_client = client is None
        self._scripts: dict[str, AsyncScript] = {}
        self._brains_key = f"{namespace}:brains"

    @property
    def namespace(self) -> str:
        """The first segment of every key this storage uses."""
        return self._namespace

    # -- lifecycle -------------------------------------------------------------------------

    async def _open(self) -> None:
        aioredis, errors = redis_modules()
        if self._client is None:
            try:
                self._client = aioredis.Redis.from_url(self._url, decode_responses=True)
            except (ValueError, TypeError) as exc:
                raise StorageUnavailableError(f"invalid Redis URL {self._where}: {exc}") from exc
        try:
            await self._client.ping()
        except (errors.RedisError, OSError) as exc:
            if self._owns_client:
                await self._close()
            raise StorageUnavailableError(f"cannot reach Redis at {self._where}: {exc}") from exc
        for name in scripts.__all__:
            self._scripts[name] = self._client.register_script(getattr(scripts, name))
        try:
            with self._errors():
                await self._upgrade_layout()
        except StorageError:
            if self._owns_client:
                await self._close()
            raise

    async def _upgrade_layout(self) -> None:
        """Bring a namespace written by an older release to the current key layout."""
        layout_key = f"{self._namespace}:layout"
        if int(await self._redis.get(layout_key) or 1) >= _LAYOUT:
            return
        for brain_id in await self._redis.hkeys(self._brains_key):
            keys = self._keys(brain_id)
            await self._run("BACKFILL_SUCCESSORS", [keys.key("f")], [keys.prefix])
        await self._redis.set(layout_key, _LAYOUT)

    async def _close(self) -> None:
        self._scripts.clear()
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()

    @property
    def _redis(self) -> Any:
        """The client (typed loosely: redis-py's command stubs do not fit mypy strict)."""
        return self._client

    def _keys(self, brain_id: str) -> BrainKeys:
        return BrainKeys.of(self._namespace, brain_id)

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Translate redis-py errors into StorageError subclasses."""
        _, errors = redis_modules()
        try:
            yield
        except (errors.ConnectionError, errors.TimeoutError, OSError) as exc:
            raise StorageUnavailableError(f"lost Redis at {self._where}: {exc}") from exc
        except errors.RedisError as exc:
            raise StorageError(f"Redis at {self._where} failed: {exc}") from exc

    async def _run(self, name: str, keys: list[str], args: list[Any]) -> Any:
        return await self._scripts[name](keys=keys, args=args)

    async def _fetch(self, kind: type[_T], hash_key: str, index_keys: list[str]) -> list[_T]:
        """Fetch the records whose ids are in the union of the sets ``index_keys``."""
        raws = await self._run("FETCH", [hash_key, *index_keys], ["s"])
        return [decode(kind, raw) for raw in raws]

    async def _hmget(self, kind: type[_T], hash_key: str, ids: frozenset[str]) -> dict[str, _T]:
        wanted = list(ids)
        raws = await self._redis.hmget(hash_key, wanted) if wanted else []
        return {i: decode(kind, raw) for i, raw in zip(wanted, raws, strict=True) if raw}

    async def _hvals(self, kind: type[_T], hash_key: str) -> list[_T]:
        return [decode(kind, raw) for raw in await self._redis.hvals(hash_key)]

    async def _hexisting(self, hash_key: str, ids: frozenset[str]) -> set[str]:
        """The ids among ``ids`` that are fields of ``hash_key`` (one round trip)."""
        wanted = list(ids)
        with self._errors():
            async with self._redis.pipeline(transaction=False) as pipe:
                for field_id in wanted:
                    pipe.hexists(hash_key, field_id)
                found = await pipe.execute()
        return {i for i, there in zip(wanted, found, strict=True) if there}

    async def _guarded_hset(self, brain_id: str, hash_key: str, pairs: list[str]) -> None:
        """HSET ``pairs`` into ``hash_key`` unless the brain was deleted meanwhile."""
        with self._errors():
            done = await self._run("GUARDED_HSET", [self._brains_key, hash_key], [brain_id, *pairs])
        if not done:
            raise BrainNotFoundError(f"brain {brain_id!r} does not exist in this storage")


def redis_modules() -> tuple[ModuleType, ModuleType]:
    """Return ``redis.asyncio`` and ``redis.exceptions``, imported on first use.

    The import is deferred so ``neural_memory.storage`` imports without the redis extra.
    """
    try:
        return importlib.import_module("redis.asyncio"), importlib.import_module("redis.exceptions")
    except ImportError as exc:
        raise StorageUnavailableError(
            f"RedisStorage needs the redis package: {_INSTALL_HINT}"
        ) from exc


def _describe(client: Any) -> str:
    """Where a caller-provided client points (host, port, db), without credentials."""
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    return f"redis://{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"


def opt_text(value: str | bytes | None) -> str | None:
    if isinstance(value, bytes):
        return value.decode()
    return value
