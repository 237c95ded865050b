"""The command line's settings: options, then environment variables, then a config file.

The config file is TOML with string values only (``db``, ``brain``, ``server_url``,
``embeddings``), at ``$NEURAL_MEMORY_CONFIG`` or ``~/.neural-memory/config.toml``.
Environment variables: ``NEURAL_MEMORY_DB``, ``NEURAL_MEMORY_BRAIN``, ``NEURAL_MEMORY_URL``,
``NEURAL_MEMORY_EMBEDDINGS`` (``off`` keeps the embedding model unused) and
``NEURAL_MEMORY_API_KEY`` (never stored in the file). This module is the only place the
command line reads them; :func:`resolve` takes the environment as an argument.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from neural_memory.engine._default_embedder import EMBEDDINGS_ENV, embeddings_switch
from neural_memory.errors import ConfigError

__all__ = [
    "DEFAULT_BRAIN",
    "DEFAULT_DB",
    "DEFAULT_SERVER_URL",
    "KEYS",
    "Settings",
    "config_path",
    "read_config",
    "resolve",
    "write_config",
]

DEFAULT_DB = "~/.neural-memory/brain.db"
DEFAULT_BRAIN = "default"
DEFAULT_SERVER_URL = "http://127.0.0.1:8000"
KEYS = {
    "db": "NEURAL_MEMORY_DB",
    "brain": "NEURAL_MEMORY_BRAIN",
    "server_url": "NEURAL_MEMORY_URL",
    "embeddings": EMBEDDINGS_ENV,
}
"""Keys of the config file, each with the environment variable that overrides it."""
_DEFAULTS = {
    "db": DEFAULT_DB,
    "brain": DEFAULT_BRAIN,
    "server_url": DEFAULT_SERVER_URL,
    "embeddings": "on",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """What one command runs with, and where each value came from.

    Attributes:
        db: The SQLite file (``~`` expanded).
        brain: The brain's name.
        server_url: The HTTP server (``keys`` talks to it).
        embeddings: Use the embedding model when it is installed (``embeddings = "off"``,
            ``NEURAL_MEMORY_EMBEDDINGS=off`` or ``--no-embeddings`` turn it off).
        api_key: The admin API key (environment only), or None.
        sources: For each key of :data:`KEYS`: option, environment, config file or default.
        config_file: The config file read (it may not exist).
    """

    db: str
    brain: str
    server_url: str
    embeddings: bool
    api_key: str | None
    sources: Mapping[str, str]
    config_file: Path

    @property
    def db_is_default(self) -> bool:
        """True when nobody chose the database: its folder may then be created."""
        return self.sources["db"] == "default"


def config_path(env: Mapping[str, str]) -> Path:
    """Where the config file is (``NEURAL_MEMORY_CONFIG`` or the default)."""
    chosen = env.get("NEURAL_MEMORY_CONFIG")
    return (
        Path(chosen).expanduser() if chosen else Path("~/.neural-memory/config.toml").expanduser()
    )


def read_config(path: Path) -> dict[str, str]:
    """The config file's values (empty when it does not exist)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigError(f"cannot read the config file {str(path)!r}: {exc.strerror}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the config file {str(path)!r} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown keys in {str(path)!r}: {', '.join(unknown)}")
    bad = sorted(k for k, v in data.items() if not isinstance(v, str) or not v.strip())
    if bad:
        raise ConfigError(f"{', '.join(bad)} in {str(path)!r} must be non-empty strings")
    return {k: str(v) for k, v in data.items()}


def write_config(path: Path, values: Mapping[str, str]) -> None:
    """Write ``values`` as the config file (creating its folder)."""
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(unknown)} (known: {', '.join(KEYS)})")
    lines = [f"{key} = {json.dumps(values[key], ensure_ascii=False)}" for key in sorted(values)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot write the config file {str(path)!r}: {exc.strerror}") from exc


def resolve(
    env: Mapping[str, str],
    *,
    db: str | None = None,
    brain: str | None = None,
    embeddings: bool | None = None,
) -> Settings:
    """The settings of one command: options first, then ``env``, then the file, then defaults.

    ``embeddings=False`` is the ``--no-embeddings`` option (None: not given).
    """
    path = config_path(env)
    stored = read_config(path)
    options = {
        "db": db,
        "brain": brain,
        "server_url": None,
        "embeddings": None if embeddings is None else ("on" if embeddings else "off"),
    }
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    for key, variable in KEYS.items():
        for source, value in (
            ("option", options[key]),
            (f"environment ({variable})", env.get(variable)),
            (f"config file ({path})", stored.get(key)),
            ("default", _DEFAULTS[key]),
        ):
            if value:
                values[key], sources[key] = value, source
                break
    return Settings(
        db=os.path.expanduser(values["db"]),
        brain=values["brain"],
        server_url=values["server_url"].rstrip("/"),
        embeddings=embeddings_switch(values["embeddings"]),
        api_key=env.get("NEURAL_MEMORY_API_KEY") or None,
        sources=sources,
        config_file=path,
    )
