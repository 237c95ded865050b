"""The ASGI middleware in front of every route: Host check, API key, rate limit, body bounds.

Order of checks for one request (each refusal answers ``{"error", "message"}`` at once):

1. ``Host`` must be a loopback name or a configured one (421): a web page reached through
   DNS rebinding sends its own host name, so it cannot talk to a loopback server.
2. Public paths (``/health``, the API documents) need no key; every other path needs a
   valid key in ``Authorization: Bearer KEY`` or ``X-API-Key: KEY`` (401).
3. The key's token bucket must hold a token (429 with ``Retry-After``).
4. The body may not exceed the size limit (413, before reading when Content-Length says
   so) and, when it is JSON, its nesting depth and container count are checked on the raw
   bytes before the application parses it (413 or 422).

The key that passed is left in ``scope["state"]["api_key"]`` for the route dependencies.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neural_memory.server.config import ServerConfig
from neural_memory.server.keys import ApiKey, Keyring, KeyStore, presented_key
from neural_memory.storage._wire import REQUEST_TOO_LARGE, error_body

__all__ = [
    "PUBLIC_PATHS",
    "Guard",
    "HostCheck",
    "RateLimiter",
    "TokenBucket",
    "host_name",
    "json_shape_problem",
    "take_token",
]

PUBLIC_PATHS = frozenset(
    {"/health", "/docs", "/redoc", "/openapi.json", "/dashboard", "/dashboard/"}
)
"""Paths served without a key (no brain data behind any of them: the dashboard's page signs
in with a key and sends it on each of its API calls)."""

_PUBLIC_PREFIXES = ("/docs/assets/", "/dashboard/assets/")
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)  # unrolled: linear, fast
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_OPENERS = frozenset(b"[{")


@dataclass(frozen=True, slots=True)
class TokenBucket:
    """A key's rate-limit state: tokens left at ``updated`` (monotonic seconds)."""

    tokens: float
    updated: float


def take_token(
    bucket: TokenBucket | None, now: float, rate: float, burst: int
) -> tuple[TokenBucket, float]:
    """Spend one token; the new bucket and the seconds to wait (0 when the request may go)."""
    if bucket is None:
        bucket = TokenBucket(float(burst), now)
    tokens = min(float(burst), bucket.tokens + (now - bucket.updated) * rate)
    if tokens >= 1.0:
        return TokenBucket(tokens - 1.0, now), 0.0
    return TokenBucket(tokens, now), (1.0 - tokens) / rate


class RateLimiter:
    """Token buckets by key id (per process; idle buckets are dropped when full again)."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def retry_after(self, key_id: str) -> float:
        """Spend a token of ``key_id``; seconds to wait before retrying (0: go ahead)."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        if len(self._buckets) > 10_000:
            self._drop_full(now)
        bucket, wait = take_token(self._buckets.get(key_id), now, self.rate, self.burst)
        self._buckets[key_id] = bucket
        return wait

    def _drop_full(self, now: float) -> None:
        full_after = self.burst / self.rate
        self._buckets = {k: b for k, b in self._buckets.items() if now - b.updated < full_after}


def host_name(host_header: str) -> str:
    """The host name of a ``Host`` header value, lower case, without port or brackets."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    if host.count(":") == 1:
        return host.split(":", 1)[0]
    return host


def json_shape_problem(body: bytes, max_depth: int, max_containers: int) -> str | None:
    """Why the JSON text ``body`` is too deep or has too many containers (None: fine).

    Strings are removed first (a bracket inside a string is data), then the brackets are
    counted at C speed; the depth loop only runs over the (bounded) brackets left. A body
    with few brackets at all (strings included) is fine without that: the common case,
    and a long memory text, cost one pass at C speed.
    """
    if _openers(body.translate(None, _NOT_BRACKETS)) <= min(max_depth, max_containers):
        return None  # so few openers, strings included, that neither limit can be passed
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKETS)
    if _openers(brackets) > max_containers:
        return f"more than {max_containers} JSON objects and arrays"
    depth = 0
    for byte in brackets:
        depth = depth + 1 if byte in _OPENERS else depth - 1
        if depth > max_depth:
            return f"JSON nested deeper than {max_depth} levels"
    return None


def _openers(brackets: bytes) -> int:
    return len(brackets) - brackets.count(b"]") - brackets.count(b"}")


def _refusal(status: int, error_type: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(error_body(error_type, message), status_code=status, headers=headers)


class HostCheck:
    """Answers 421 to a request whose ``Host`` is neither loopback nor configured."""

    def __init__(self, app: ASGIApp, hosts: frozenset[str]) -> None:
        self.app = app
        self.hosts = hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the Host of an HTTP request, then pass it on."""
        if scope["type"] == "http":
            host = Headers(scope=scope).get("host")
            if host is None or host_name(host) not in self.hosts:
                response = _refusal(421, "MisdirectedRequest", "unknown Host header")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class Guard:
    """API key, rate limit and request-body bounds (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: ServerConfig, keys: KeyStore) -> None:
        self.app = app
        self.config = config
        self.keys = keys
        self.limiter = RateLimiter(config.rate_limit, config.rate_burst)
        self._keyring = Keyring(config.admin_key, keys)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Admit an HTTP request (key, rate, body) or answer the refusal."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        if _route_path(scope) in PUBLIC_PATHS or _route_path(scope).startswith(_PUBLIC_PREFIXES):
            await self.app(scope, receive, send)
            return
        key = self.authenticate(headers)
        if key is None:
            response = _refusal(
                401,
                "AccessDeniedError",
                "a valid API key is required (Authorization: Bearer KEY or X-API-Key: KEY)",
                **{"WWW-Authenticate": "Bearer"},
            )
            await response(scope, receive, send)
            return
        wait = self.limiter.retry_after(key.id)
        if wait > 0:
            retry = str(max(1, math.ceil(wait)))
            response = _refusal(
                429, "RateLimited", "too many requests for this key", **{"Retry-After": retry}
            )
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        await self._bounded(scope, receive, send, headers)

    def authenticate(self, headers: Headers) -> ApiKey | None:
        """The key the request presents, if it is the admin key or a stored one."""
        secret = presented_key(headers)
        return self._keyring.identify(secret) if secret is not None else None

    async def _bounded(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        limit = self.config.max_request_bytes
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await _too_large(limit)(scope, receive, send)
            return
        body, more_body = bytearray(), True
        while more_body:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            body += message.get("body", b"")
            more_body = message.get("more_body", False)
            if len(body) > limit:
                await _too_large(limit)(scope, receive, send)
                return
        problem = json_shape_problem(
            bytes(body), self.config.max_json_depth, self.config.max_json_containers
        )
        if problem is not None:
            await _refusal(422, "ValidationError", f"request body: {problem}")(scope, receive, send)
            return
        await self.app(scope, _replay(bytes(body), receive), send)


def _too_large(limit: int) -> JSONResponse:
    return _refusal(413, REQUEST_TOO_LARGE, f"request body larger than {limit} bytes")


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()  # http.disconnect once the client goes away
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _route_path(scope: Scope) -> str:
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    return path[len(root) :] if root and path.startswith(root) else path
