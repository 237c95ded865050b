"""A sentence-transformers model's text path run on ONNX Runtime (blocking; worker thread).

Why: PyTorch's eager mode spends most of a short query's time dispatching small operators
(a 13-token query through ``SentenceTransformer.encode``: 8-10 ms on two cores; the same
transformer as one ONNX Runtime graph with fused attention and layer norms: ~3 ms, vectors
equal to cosine 0.99999). Recall embeds one short query per call, so this is its floor.

How: when the embedder loads, the model's transformer is exported to ONNX in memory (about a
second; nothing is written to disk), tokenisation stays the model's own, and pooling is
redone in numpy from the model's pooling configuration. Only plain stacks are taken:
Transformer + Pooling (mean, CLS or max) + optional Normalize. Before the runner is used, its
vectors are compared with the model's own on probe texts (padded batch included); any
disagreement beyond :data:`AGREEMENT` refuses it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import io
import warnings
from typing import Any

import numpy as np
import numpy.typing as npt

from neural_memory.engine._embedding_base import l2_normalize
from neural_memory.errors import EmbeddingError

__all__ = [
    "AGREEMENT",
    "POOLING_MODES",
    "RUN_SIZE",
    "OnnxTextEncoder",
    "onnx_available",
    "ort_errors",
    "ort_session",
    "pool",
]

AGREEMENT = 0.999
"""Lowest cosine accepted between the ONNX runner's vectors and the model's own."""
POOLING_MODES = ("mean", "cls", "max")
"""Pooling modes the ONNX runner reproduces."""
RUN_SIZE = 16
"""Texts per ONNX Runtime run (longer batches are split)."""
_OPSET = 17
_PROBES = (
    "What did Melanie say about the camping trip with her kids?",
    "ok",
    "The quarterly report is due on Friday; the figures from March are still missing.",
)
_PLAIN_MODULES = ("Transformer", "Pooling", "Normalize")
_POOLING_FLAGS = {
    "pooling_mode_cls_token": "cls",
    "pooling_mode_mean_tokens": "mean",
    "pooling_mode_max_tokens": "max",
}
_ORT_ERRORS = ("Fail", "InvalidArgument", "InvalidGraph", "InvalidProtobuf", "RuntimeException")


def onnx_available() -> bool:
    """Whether ONNX Runtime and the ``onnx`` package (needed to export) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def pool(
    hidden: npt.NDArray[np.float32], mask: npt.NDArray[np.int64], mode: str
) -> npt.NDArray[np.float32]:
    """Pool token vectors ``(batch, tokens, d)`` into sentence vectors ``(batch, d)`` (pure).

    ``mode`` is ``mean`` (average of the unmasked tokens), ``cls`` (the first token) or
    ``max`` (per-dimension maximum over the unmasked tokens), as sentence-transformers does.
    """
    weights = mask[..., None].astype(np.float32)
    if mode == "cls":
        pooled = hidden[:, 0]
    elif mode == "mean":
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
    elif mode == "max":
        pooled = np.where(weights > 0, hidden, np.float32(-1e9)).max(axis=1)
    else:
        raise EmbeddingError(f"pooling mode {mode!r} is not one of {', '.join(POOLING_MODES)}")
    return np.asarray(pooled, dtype=np.float32)


class OnnxTextEncoder:
    """Runs a loaded ``SentenceTransformer``'s transformer on ONNX Runtime.

    Args:
        model: The loaded sentence-transformers model (used for tokenisation, and once to
            export its transformer and check the runner against it).
        threads: ONNX Runtime's intra-op threads (None: its default, one per core).

    Raises:
        EmbeddingError: The model is not a plain Transformer + Pooling (+ Normalize) stack,
            the export failed, or the runner's vectors disagree with the model's.
    """

    def __init__(self, model: Any, *, threads: int | None = None) -> None:
        transformer, mode = _plain_stack(model)
        self._model = model
        self._mode = mode
        self._session = ort_session(_export(transformer.auto_model), threads)
        self._errors = ort_errors()
        self._dimension = self._check_agreement()

    def encode(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """Sentence vectors of ``texts`` as a ``(len(texts), d)`` float32 matrix (unnormalised).

        Runs :data:`RUN_SIZE` texts at a time: a batch's activations then stay in the CPU's
        cache (measured: 64 texts of ~20 words per run, 213 texts/s; 16 per run, 249 texts/s).
        """
        runs = [self._run(texts[i : i + RUN_SIZE]) for i in range(0, len(texts), RUN_SIZE)]
        if not runs:
            return np.zeros((0, self._dimension), dtype=np.float32)
        return np.concatenate(runs) if len(runs) > 1 else runs[0]

    def _run(self, texts: list[str]) -> npt.NDArray[np.float32]:
        features = _tokenize(self._model, texts)
        ids = features["input_ids"].numpy().astype(np.int64, copy=False)
        mask = features["attention_mask"].numpy().astype(np.int64, copy=False)
        try:
            (hidden,) = self._session.run(
                ["last_hidden_state"], {"input_ids": ids, "attention_mask": mask}
            )
        except self._errors as exc:
            raise EmbeddingError(f"ONNX Runtime failed: {exc}") from exc
        return pool(hidden, mask, self._mode)

    def _check_agreement(self) -> int:
        """Compare with the model's own vectors on the probe texts; return the dimension."""
        texts = list(_PROBES)
        ours = l2_normalize(self._run(texts))
        theirs = l2_normalize(self._model.encode(texts, show_progress_bar=False))
        worst = float(np.min(np.sum(ours * theirs, axis=1)))
        if worst < AGREEMENT:
            raise EmbeddingError(
                f"the ONNX export disagrees with the model (cosine {worst:.4f} < {AGREEMENT})"
            )
        return int(ours.shape[1])


def _plain_stack(model: Any) -> tuple[Any, str]:
    """The Transformer module and the pooling mode of a plain stack, else EmbeddingError."""
    names = [type(module).__name__ for module in model]
    if names[:2] != ["Transformer", "Pooling"] or any(n not in _PLAIN_MODULES for n in names):
        raise EmbeddingError(f"only Transformer + Pooling models run on ONNX, not {names}")
    transformer, pooling = model[0], model[1]
    parameters = list(inspect.signature(transformer.auto_model.forward).parameters)
    if parameters[:2] != ["input_ids", "attention_mask"]:
        raise EmbeddingError(f"the transformer's forward takes {parameters[:2]}, not ids + mask")
    return transformer, _pooling_mode(pooling.get_config_dict())


def _pooling_mode(config: dict[str, Any]) -> str:
    """The single pooling mode of a Pooling config (``pooling_mode``, or the older flags)."""
    mode = config.get("pooling_mode")
    if mode is None:
        on = [key for key, on in config.items() if key.startswith("pooling_mode_") and on is True]
        mode = _POOLING_FLAGS.get(on[0]) if len(on) == 1 else f"combined {on}"
    if mode not in POOLING_MODES:
        raise EmbeddingError(f"pooling {mode!r} does not run on ONNX")
    return str(mode)


def _tokenize(model: Any, texts: list[str]) -> Any:
    """The model's own tokenisation (``preprocess`` since sentence-transformers 6)."""
    tokenize = getattr(model, "preprocess", None) or model.tokenize
    return tokenize(texts)


def _export(auto_model: Any) -> bytes:
    """The transformer as an ONNX graph with dynamic batch and length (ids, mask -> tokens)."""
    torch = importlib.import_module("torch")

    class HiddenStates(torch.nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask)
            return out.last_hidden_state

    # A padded example, so that the traced graph keeps the attention mask.
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.tensor([[1] * 8, [1] * 3 + [0] * 5], dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    buffer = io.BytesIO()
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # tracer and deprecation notices, not for users
            torch.onnx.export(
                HiddenStates(auto_model).eval(),
                (ids, mask),
                buffer,
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": axes, "attention_mask": axes, "last_hidden_state": axes},
                opset_version=_OPSET,
                dynamo=False,
            )
    except (RuntimeError, ValueError, TypeError, ImportError, AttributeError) as exc:
        raise EmbeddingError(f"exporting the model to ONNX failed: {exc}") from exc
    return buffer.getvalue()


def ort_session(graph: bytes, threads: int | None) -> Any:
    """An ONNX Runtime CPU session of ``graph`` (all graph optimisations, one inter-op thread)."""
    ort = importlib.import_module("onnxruntime")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # Worker threads spin briefly after a run (the default). Measured on 2 cores, 1k-engram
    # neuram brain: without spinning, recall 9.3 ms instead of 7.6 ms, perceive p95 1.4 ms
    # instead of 4.1 ms (background batches leave spinning threads behind). Recall wins.
    if threads is not None:
        options.intra_op_num_threads = threads
    try:
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
    except ort_errors() as exc:
        raise EmbeddingError(f"ONNX Runtime cannot load the exported model: {exc}") from exc


def ort_errors() -> tuple[type[Exception], ...]:
    """ONNX Runtime's exception classes (they derive from Exception directly)."""
    state = importlib.import_module("onnxruntime.capi.onnxruntime_pybind11_state")
    found = (getattr(state, name, None) for name in _ORT_ERRORS)
    return tuple(e for e in found if isinstance(e, type) and issubclass(e, Exception))
