"""Retrieval: query -> anchors -> spreading activation -> scoring -> context."""

from neural_memory.engine.retrieval.pipeline import (
    DepthLevel,
    ReflexPipeline,
    RetrievalResult,
    ScoredFiber,
)
from neural_memory.engine.retrieval.scoring import FusionWeights

__all__ = ["DepthLevel", "FusionWeights", "ReflexPipeline", "RetrievalResult", "ScoredFiber"]
