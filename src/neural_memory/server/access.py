"""Route dependencies: who is calling (the key the Guard let in), what it may touch, heavy gate.

Brains outside a key's scope answer exactly like brains that do not exist (404), so a key
learns nothing about other brains; a brain in scope with too little access answers 403.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, cast

from fastapi import Depends, Request, params
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from neural_memory.errors import AccessDeniedError, BrainNotFoundError
from neural_memory.server.keys import Access, ApiKey

__all__ = [
    "AdminKey",
    "BearerKey",
    "Caller",
    "HeavyGate",
    "HeaderKey",
    "ServerBusy",
    "admin_only",
    "authenticated",
    "brain_access",
    "caller",
    "check_brain",
    "heavy",
    "heavy_gate",
    "require_admin",
    "require_brain_admin",
    "require_read",
    "require_write",
]

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: KEY")


BearerKey = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The ``Authorization: Bearer`` security scheme (documents the header; the Guard checks it)."""
HeaderKey = Annotated[str | None, Depends(_header)]
"""The ``X-API-Key`` security scheme (documents the header; the Guard checks it)."""


async def caller(request: Request, _bearer_key: BearerKey, _header_key: HeaderKey) -> ApiKey:
    """The key the Guard authenticated (the security schemes document how to send it)."""
    return authenticated(request)


def authenticated(request: Request) -> ApiKey:
    """The key the Guard let in with ``request`` (AccessDeniedError when there is none)."""
    key = request.scope.get("state", {}).get("api_key")
    if not isinstance(key, ApiKey):
        raise AccessDeniedError("a valid API key is required")
    return key


Caller = Annotated[ApiKey, Depends(caller)]


def check_brain(key: ApiKey, brain_id: str, access: Access) -> None:
    """404 for a brain outside the key's scope, 403 for too little access to one inside."""
    if not key.sees(brain_id):
        raise BrainNotFoundError(f"brain {brain_id!r} does not exist")
    if not key.allows(brain_id, access):
        raise AccessDeniedError(f"this key may not {access.value} brain {brain_id!r}")


def brain_access(access: Access) -> params.Depends:
    """A dependency checking the path's ``brain_id`` against the caller's key.

    It takes the security schemes itself rather than through :func:`caller`: one dependency
    less for FastAPI to solve on every request of a brain (recall, store).
    """

    async def check(request: Request, _bearer_key: BearerKey, _header_key: HeaderKey) -> ApiKey:
        key = authenticated(request)
        check_brain(key, str(request.path_params.get("brain_id", "")), access)
        return key

    dependency: params.Depends = Depends(check)
    return dependency


def admin_only(key: ApiKey) -> None:
    """AccessDeniedError unless ``key`` is the server's admin key."""
    if not key.is_server_admin:
        raise AccessDeniedError("this operation needs the admin key")


async def _require_admin(key: Caller) -> ApiKey:
    admin_only(key)
    return key


AdminKey = Annotated[ApiKey, Depends(_require_admin)]
require_admin = Depends(_require_admin)
"""Route dependency: the admin key only."""
require_brain_admin = brain_access(Access.ADMIN)
"""Route dependency: admin access to the path's brain."""
require_read = brain_access(Access.READ)
"""Route dependency: read access to the path's brain."""
require_write = brain_access(Access.WRITE)
"""Route dependency: write access to the path's brain."""


class ServerBusy(HTTPException):
    """Too many heavy requests are waiting (HTTP 503 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            503,
            "too many heavy requests are queued; retry later",
            headers={"Retry-After": str(retry_after)},
        )


class HeavyGate:
    """At most ``concurrency`` heavy requests run at once; at most ``queue`` wait for a slot.

    Heavy work (encoding a long memory, consolidation, decay, health) shares the event loop
    with recall and health checks; the gate keeps it from filling the loop, and refuses (503) rather
    than letting a queue grow without bound.
    """

    def __init__(self, concurrency: int, queue: int) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._queue = queue
        self._waiting = 0

    async def enter(self) -> None:
        """Wait for a slot (ServerBusy at once when the queue is full)."""
        if self._slots.locked():
            if self._waiting >= self._queue:
                raise ServerBusy(retry_after=1)
            self._waiting += 1
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
        else:
            await self._slots.acquire()

    def leave(self) -> None:
        """Give the slot back."""
        self._slots.release()

    @asynccontextmanager
    async def held(self) -> AsyncIterator[None]:
        """Hold a slot for the ``async with`` block (ServerBusy when the queue is full)."""
        await self.enter()
        try:
            yield
        finally:
            self.leave()


def heavy_gate(request: Request) -> HeavyGate:
    """The app's heavy gate (dependency)."""
    return cast(HeavyGate, request.app.state.heavy_gate)


async def heavy(request: Request) -> AsyncIterator[None]:
    """Route dependency: hold a slot of the app's heavy gate while the route runs."""
    async with heavy_gate(request).held():
        yield
