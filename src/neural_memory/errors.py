"""The exception hierarchy of NeuralMemory.

Every error the library raises on purpose derives from :class:`NeuralMemoryError`,
so ``except NeuralMemoryError`` catches them all::

    NeuralMemoryError
    ├── ConfigError            (also ValueError)   an invalid configuration value
    ├── ValidationError        (also ValueError)   bad input: empty text, wrong type, ...
    │   ├── SnapshotFormatError                    a malformed or hostile export file
    │   └── LimitExceededError                     a value above a documented size limit
    ├── StorageError                               anything that went wrong in a backend
    │   ├── StorageClosedError                     the storage was used after close()
    │   ├── StorageUnavailableError                the database cannot be opened or reached
    │   ├── BrainNotSetError                       no brain selected with set_brain()
    │   ├── NotFoundError      (also LookupError)  an id that does not exist
    │   │   └── BrainNotFoundError                 an unknown brain id
    │   └── AlreadyExistsError                     an id that is already taken
    ├── EmbeddingError                             an embedder failed or is not installed
    └── AccessDeniedError                          no, an unknown or an out-of-scope API key
"""

from __future__ import annotations

__all__ = [
    "AccessDeniedError",
    "AlreadyExistsError",
    "BrainNotFoundError",
    "BrainNotSetError",
    "ConfigError",
    "EmbeddingError",
    "LimitExceededError",
    "NeuralMemoryError",
    "NotFoundError",
    "SnapshotFormatError",
    "StorageClosedError",
    "StorageError",
    "StorageUnavailableError",
    "ValidationError",
]


class NeuralMemoryError(Exception):
    """Base class of every error raised by NeuralMemory."""


class ConfigError(NeuralMemoryError, ValueError):
    """A configuration value is out of range or of the wrong type."""


class ValidationError(NeuralMemoryError, ValueError):
    """An argument is invalid: empty text, a wrong type, an out-of-range number."""


class SnapshotFormatError(ValidationError):
    """An export snapshot is malformed, truncated, of an unknown version or hostile."""


class LimitExceededError(ValidationError):
    """A value is larger than a limit of :mod:`neural_memory.core.limits` (HTTP 413)."""


class StorageError(NeuralMemoryError):
    """A storage backend failed."""


class StorageClosedError(StorageError):
    """The storage was used after it was closed (or before it was initialised)."""


class StorageUnavailableError(StorageError):
    """The database cannot be created, opened or reached."""


class BrainNotSetError(StorageError):
    """A brain-scoped operation was called before ``set_brain()``."""


class NotFoundError(StorageError, LookupError):
    """An entity (neuron, synapse, fiber, ...) with the given id does not exist."""


class BrainNotFoundError(NotFoundError):
    """The brain id is unknown to this storage."""


class AlreadyExistsError(StorageError):
    """An entity with the given id already exists."""


class EmbeddingError(NeuralMemoryError):
    """An embedder is missing, misconfigured or failed."""


class AccessDeniedError(NeuralMemoryError):
    """The server refused the request's API key: missing, unknown, revoked or out of scope."""
