"""API keys: the admin key, scoped keys and the SQLite file that stores them (hashed).

A key is a random secret (``nmk_`` + 43 URL-safe characters, 256 bits). Only its SHA-256
digest is stored: with this much entropy a plain hash cannot be brute-forced, and a digest
lookup is one index probe. The digest found is compared again with
:func:`hmac.compare_digest`, so no branch depends on how much of a wrong key matched.

The store is one SQLite file in the data directory (WAL mode, busy timeout), so every worker
process of one server sees a key created or revoked through another at its next request.
Its queries are single indexed statements on a local file (tens of microseconds), so they run
on the event loop rather than paying a thread hop per request. Keys found are cached per
process while ``PRAGMA data_version`` says no other connection changed the file (a revoke
through this store clears the cache itself), so revocation stays immediate everywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path

from neural_memory.errors import ConfigError, StorageUnavailableError, ValidationError

__all__ = [
    "ADMIN_KEY_FILE",
    "ADMIN_KEY_ID",
    "Access",
    "KEY_STORE_FILE",
    "ApiKey",
    "MAX_KEY_CHARS",
    "KeyStore",
    "Keyring",
    "admin_key",
    "hash_key",
    "load_or_create_admin_key",
    "new_key",
    "presented_key",
]

KEY_STORE_FILE = "keys.db"
"""The scoped-key store, beside the database file."""

ADMIN_KEY_ID = "admin"
"""The id of the server's admin key (never stored in the key store)."""

ADMIN_KEY_FILE = "api-key"
"""Name of the file, in the data directory, holding the generated admin key."""

MIN_KEY_LENGTH = 16
"""Shortest admin key accepted from the environment."""

MAX_KEY_CHARS = 256
"""Longest secret looked at: anything longer is no key."""

_KEY_PREFIX = "nmk_"
_MAX_CACHED = 1024  # keys kept found per process (unknown secrets are never cached)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    id TEXT PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    access TEXT NOT NULL,
    brains TEXT NOT NULL,
    created_at TEXT NOT NULL
)
"""


class Access(StrEnum):
    """What a key may do with the brains it covers (each level includes the ones before)."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        """0 for read, 1 for write, 2 for admin."""
        return _RANKS[self]


_RANKS = {Access.READ: 0, Access.WRITE: 1, Access.ADMIN: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class ApiKey:
    """A key's identity and scope (never its secret).

    ``brains`` is None for the server's admin key, which covers every brain and may create
    brains and manage keys; a scoped key covers exactly the brains listed.
    """

    id: str
    access: Access
    brains: frozenset[str] | None
    created_at: datetime | None = None

    @property
    def is_server_admin(self) -> bool:
        """The admin key: every brain, brain creation, key management."""
        return self.brains is None and self.access is Access.ADMIN

    def sees(self, brain_id: str) -> bool:
        """The brain is within the key's scope (at any access level)."""
        return self.brains is None or brain_id in self.brains

    def allows(self, brain_id: str, access: Access) -> bool:
        """The key may do ``access`` on ``brain_id``."""
        return self.sees(brain_id) and self.access.rank >= access.rank


def new_key() -> str:
    """A fresh secret key (256 random bits)."""
    return _KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(secret: str) -> str:
    """The stored form of a key: its SHA-256 digest, hex."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def load_or_create_admin_key(data_dir: str | os.PathLike[str]) -> tuple[str, Path, bool]:
    """The admin key kept in ``data_dir`` (created owner-readable only on first use).

    Returns the key, the file's path and whether it was created now.
    """
    path = Path(data_dir) / ADMIN_KEY_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path), path, False
    except OSError as exc:
        raise ConfigError(f"cannot create the admin key file {path}: {exc}") from exc
    key = new_key()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(key + "\n")
    return key, path, True


def _read_key_file(path: Path) -> str:
    try:
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(f"cannot read the admin key file {path}: {exc}") from exc
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigError(f"the admin key file {path} holds no valid key")
    return key


class KeyStore:
    """Scoped API keys in one SQLite file (``":memory:"`` for a single-process store)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = str(path)
        self._db: sqlite3.Connection | None = None
        self._found: dict[str, ApiKey] = {}  # digest -> key, while _seen_version holds
        self._seen_version = -1

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            try:
                if self._path != ":memory:":
                    Path(self._path).parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(self._path, timeout=5.0, check_same_thread=False)
                db.execute("PRAGMA busy_timeout = 5000")
                if self._path != ":memory:":
                    db.execute("PRAGMA journal_mode = WAL")
                db.execute(_SCHEMA)
                db.commit()
            except (sqlite3.Error, OSError) as exc:
                raise StorageUnavailableError(
                    f"cannot open the key store {self._path}: {exc}"
                ) from exc
            self._db = db
        return self._db

    def create(self, brains: Iterable[str], access: Access) -> tuple[ApiKey, str]:
        """A new key covering ``brains`` at ``access``; returns it and its secret."""
        scope = frozenset(brains)
        if not scope:
            raise ValidationError("a scoped key must cover at least one brain")
        secret = new_key()
        key = ApiKey(
            id="key_" + secrets.token_hex(8),
            access=Access(access),
            brains=scope,
            created_at=datetime.now(UTC),
        )
        db = self._connection()
        with db:
            db.execute(
                "INSERT INTO api_keys (id, digest, access, brains, created_at)"
                " VALUES (?, ?, ?, ?, ?)",
                (
                    key.id,
                    hash_key(secret),
                    key.access.value,
                    json.dumps(sorted(scope)),
                    _created(key).isoformat(),
                ),
            )
        return key, secret

    def find(self, secret: str) -> ApiKey | None:
        """The key whose secret this is, or None (revoked or unknown).

        A key found before is answered from the cache while the file's data version shows
        no commit by another connection (one pragma instead of a lookup and a decode).
        """
        digest = hash_key(secret)
        db = self._connection()
        version = int(db.execute("PRAGMA data_version").fetchone()[0])
        if version != self._seen_version:
            self._found.clear()
            self._seen_version = version
        cached = self._found.get(digest)
        if cached is not None:
            return cached
        row = db.execute(
            "SELECT id, digest, access, brains, created_at FROM api_keys WHERE digest = ?",
            (digest,),
        ).fetchone()
        if row is None or not hmac.compare_digest(row[1], digest):
            return None
        key = _key_from_row(row)
        if len(self._found) >= _MAX_CACHED:
            self._found.clear()
        self._found[digest] = key
        return key

    def list(self) -> list[ApiKey]:
        """Every scoped key, oldest first."""
        rows = (
            self._connection()
            .execute(
                "SELECT id, digest, access, brains, created_at FROM api_keys"
                " ORDER BY created_at, id"
            )
            .fetchall()
        )
        return [_key_from_row(row) for row in rows]

    def revoke(self, key_id: str) -> bool:
        """Delete the key; False when no key has that id."""
        db = self._connection()
        with db:
            deleted = db.execute("DELETE FROM api_keys WHERE id = ?", (key_id,)).rowcount
        self._found.clear()  # this connection's own commits leave its data_version alone
        return deleted > 0

    def close(self) -> None:
        """Close the database connection (reopened on next use)."""
        db, self._db = self._db, None
        self._found.clear()
        self._seen_version = -1
        if db is not None:
            db.close()


def _created(key: ApiKey) -> datetime:
    return key.created_at if key.created_at is not None else datetime.now(UTC)


def _key_from_row(row: tuple[str, str, str, str, str]) -> ApiKey:
    key_id, _digest, access, brains, created_at = row
    return ApiKey(
        id=key_id,
        access=Access(access),
        brains=frozenset(json.loads(brains)),
        created_at=datetime.fromisoformat(created_at),
    )


class Keyring:
    """Who presents a secret: the server's admin key, a stored scoped key, or nobody.

    What the HTTP server's Guard and the MCP server's HTTP transport both ask.
    """

    def __init__(self, admin_key: str, store: KeyStore) -> None:
        self._admin_digest = hash_key(admin_key)
        self._admin = ApiKey(id=ADMIN_KEY_ID, access=Access.ADMIN, brains=None)
        self.store = store

    def identify(self, secret: str) -> ApiKey | None:
        """The key ``secret`` belongs to (the admin key compared in constant time), or None."""
        if hmac.compare_digest(hash_key(secret), self._admin_digest):
            return self._admin
        return self.store.find(secret)


def presented_key(headers: Mapping[str, str]) -> str | None:
    """The secret a request presents: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``.

    ``headers`` with lower-case names (as Starlette's ``Headers`` gives them).
    """
    authorization = headers.get("authorization")
    if authorization is not None:
        scheme, _, value = authorization.partition(" ")
        secret = value.strip() if scheme.lower() == "bearer" else ""
    else:
        secret = headers.get("x-api-key", "").strip()
    if not secret or len(secret) > MAX_KEY_CHARS:
        return None
    return secret


def admin_key(data_dir: Path, from_env: str | None, program: str = "neural-memory-server") -> str:
    """The admin key: ``from_env`` (``NEURAL_MEMORY_API_KEY``), else the key file.

    The key file lives in ``data_dir`` (created now if needed; its path goes to stderr).
    """
    if from_env:
        return from_env
    key, path, created = load_or_create_admin_key(data_dir)
    verb = "generated" if created else "using"
    print(f"{program}: {verb} the admin API key in {path}", file=sys.stderr)
    return key
