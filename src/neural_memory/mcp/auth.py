"""API keys for the MCP server's HTTP transport.

Every HTTP request must carry a key, as ``Authorization: Bearer <key>`` or ``X-API-Key:
<key>``; an :class:`Authenticator` decides whether that key may use the served brain.
:class:`KeyStoreAuthenticator` asks the HTTP server's keys (its admin key and the scoped keys
of its key store, :mod:`neural_memory.server.keys`), so a key made for brain A cannot use
brain B through MCP either; :class:`AdminKeyAuthenticator` accepts one admin key only.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from starlette.datastructures import Headers

from neural_memory.errors import ConfigError
from neural_memory.server.keys import Access, Keyring, presented_key

__all__ = [
    "Access",
    "AdminKeyAuthenticator",
    "ApiKeyGate",
    "Authenticator",
    "KeyStoreAuthenticator",
    "request_key",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MIN_KEY_LENGTH = 16
"""Shortest admin key accepted: a short key is guessable."""


class Authenticator(Protocol):
    """Decides whether an API key may use a brain with some access."""

    async def allows(self, key: str, brain_id: str, access: Access) -> bool:
        """True when ``key`` may use ``brain_id`` with ``access``."""
        ...


class AdminKeyAuthenticator:
    """Accepts exactly one key, the admin key, for every brain and access.

    Raises:
        ConfigError: The key is shorter than :data:`MIN_KEY_LENGTH` characters.
    """

    def __init__(self, admin_key: str) -> None:
        if not isinstance(admin_key, str) or len(admin_key.strip()) < MIN_KEY_LENGTH:
            raise ConfigError(f"the API key must have at least {MIN_KEY_LENGTH} characters")
        self._key = admin_key.strip().encode()

    async def allows(self, key: str, brain_id: str, access: Access) -> bool:
        """True when ``key`` is the admin key (compared in constant time)."""
        return hmac.compare_digest(key.encode(), self._key)


class KeyStoreAuthenticator:
    """The HTTP server's keys: its admin key and the scoped keys of its key store.

    A scoped key passes only for the brains it covers, at its access level or below.
    """

    def __init__(self, keyring: Keyring) -> None:
        self._keyring = keyring

    async def allows(self, key: str, brain_id: str, access: Access) -> bool:
        """True when ``key`` is known and covers ``brain_id`` with ``access``."""
        found = self._keyring.identify(key)
        return found is not None and found.allows(brain_id, access)


def request_key(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The API key of a request: its Bearer token, else its ``X-API-Key`` header."""
    return presented_key(Headers(raw=headers))


class ApiKeyGate:
    """ASGI middleware: an HTTP request without a key allowed for the brain gets a 401.

    Args:
        app: The application behind the gate.
        authenticator: Decides which keys pass.
        brain_id: The brain the application serves.
        access: The access every request needs (the MCP tools write, so ``write``).
    """

    def __init__(
        self,
        app: ASGIApp,
        authenticator: Authenticator,
        brain_id: str,
        access: Access = Access.WRITE,
    ) -> None:
        self._app = app
        self._authenticator = authenticator
        self._brain_id = brain_id
        self._access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass allowed requests (and non-HTTP events such as lifespan) to the app."""
        if scope["type"] == "http":
            key = request_key(scope.get("headers", []))
            if key is None:
                await _refuse(send, "an API key is required (Authorization: Bearer <key>)")
                return
            if not await self._authenticator.allows(key, self._brain_id, self._access):
                await _refuse(send, "this API key may not use this brain")
                return
        await self._app(scope, receive, send)


async def _refuse(send: Send, message: str) -> None:
    body = json.dumps({"error": "unauthorized", "detail": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", b'Bearer realm="neural-memory"'),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
