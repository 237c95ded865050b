"""Consolidation ("sleep"): merge, supersede, strengthen, mature, promote, prune."""

from neural_memory.engine.consolidation.engine import (
    ConsolidationEngine,
    ConsolidationPolicy,
    ConsolidationReport,
    consolidate,
)
from neural_memory.engine.consolidation.scheduler import ConsolidationScheduler

__all__ = [
    "ConsolidationEngine",
    "ConsolidationPolicy",
    "ConsolidationReport",
    "ConsolidationScheduler",
    "consolidate",
]
