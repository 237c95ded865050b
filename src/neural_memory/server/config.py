"""ServerConfig: who may use a server and how much (keys, hosts, origins, limits)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from neural_memory.core.limits import MAX_METADATA_DEPTH
from neural_memory.errors import ConfigError
from neural_memory.server.keys import MIN_KEY_LENGTH
from neural_memory.sharing.limits import MAX_METADATA_CHARS, MAX_TEXT_LENGTH

__all__ = [
    "DEFAULT_MAX_JSON_CONTAINERS",
    "DEFAULT_MAX_JSON_DEPTH",
    "DEFAULT_MAX_REQUEST_BYTES",
    "LOOPBACK_HOSTS",
    "ServerConfig",
]

DEFAULT_MAX_REQUEST_BYTES = 4 * (3 * MAX_TEXT_LENGTH + 8 * MAX_METADATA_CHARS) + 1024 * 1024
"""Largest request body (about 16 MiB): the biggest legitimate request is the write batch of
one maximum-size memory, which carries its text about three times (fiber content, sentence
neurons, keyword neurons) plus metadata, at up to 4 bytes per character."""

DEFAULT_MAX_JSON_DEPTH = MAX_METADATA_DEPTH + 8
"""Deepest nesting of JSON objects and arrays accepted in a request body: metadata nested as
deep as storage accepts, inside the envelope of a write batch (body, batch, section, record)."""

DEFAULT_MAX_JSON_CONTAINERS = 500_000
"""Most JSON objects and arrays in one request body (counted before any is built)."""

LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")
"""Host names always accepted in the ``Host`` header."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """Access control and limits of one server app.

    Args:
        admin_key: The key with every right (from ``NEURAL_MEMORY_API_KEY`` or the
            generated key file; read at the command line, never here).
        key_store: SQLite file of the scoped keys; share it between the worker processes
            of one server. ``":memory:"`` keeps keys in this process only.
        allowed_hosts: Host names accepted in the ``Host`` header besides loopback.
        cors_origins: Browser origins allowed by CORS (none: CORS off).
        rate_limit: Requests per second per key (0: no limit), per worker process.
        rate_burst: Requests a key may send at once before the rate applies.
        max_request_bytes: Largest request body; larger ones get 413 before being read.
        max_json_depth: Deepest JSON nesting accepted.
        max_json_containers: Most JSON objects and arrays in one body.
        heavy_concurrency: Heavy requests (storing a memory of more than 20,000 characters,
            consolidate, decay, health) running at once per worker.
        heavy_queue: Heavy requests allowed to wait; more get 503 with Retry-After.
    """

    admin_key: str
    key_store: str | os.PathLike[str] = ":memory:"
    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    rate_limit: float = 200.0
    rate_burst: int = 400
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES
    max_json_depth: int = DEFAULT_MAX_JSON_DEPTH
    max_json_containers: int = DEFAULT_MAX_JSON_CONTAINERS
    heavy_concurrency: int = 1
    heavy_queue: int = 16

    def __post_init__(self) -> None:
        if not isinstance(self.admin_key, str) or len(self.admin_key.strip()) < MIN_KEY_LENGTH:
            raise ConfigError(f"admin_key must be a string of at least {MIN_KEY_LENGTH} characters")
        if self.admin_key != self.admin_key.strip() or not self.admin_key.isprintable():
            raise ConfigError("admin_key must not contain spaces or control characters")
        for name in ("allowed_hosts", "cors_origins"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) and v for v in value):
                raise ConfigError(f"{name} must be a tuple of non-empty strings")
        if isinstance(self.rate_limit, bool) or not isinstance(self.rate_limit, int | float):
            raise ConfigError("rate_limit must be a number")
        if self.rate_limit < 0:
            raise ConfigError("rate_limit must not be negative")
        for name in (
            "rate_burst",
            "max_request_bytes",
            "max_json_depth",
            "max_json_containers",
            "heavy_concurrency",
            "heavy_queue",
        ):
            _require_count(name, getattr(self, name), minimum=0 if name == "heavy_queue" else 1)

    @property
    def hosts(self) -> frozenset[str]:
        """Every accepted host name, lower case."""
        return frozenset(h.lower() for h in (*LOOPBACK_HOSTS, *self.allowed_hosts))


def _require_count(name: str, value: object, *, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
