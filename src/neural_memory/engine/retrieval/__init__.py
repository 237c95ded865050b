"""Retrieval: query -> anchors -> spreading activation -> scoring -> context."""

from neural_memory.engine.retrieval.explain import Explanation, HopKind, PathStep
from neural_memory.engine.retrieval.pipeline import (
    DepthLevel,
    ReflexPipeline,
    RetrievalResult,
    ScoredFiber,
)
from neural_memory.engine.retrieval.scoring import FusionWeights

__all__ = [
    "DepthLevel",
    "Explanation",
    "FusionWeights",
    "HopKind",
    "PathStep",
    "ReflexPipeline",
    "RetrievalResult",
    "ScoredFiber",
]
