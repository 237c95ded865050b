"""What the MCP tools answer: small pydantic models, sent as structured output.

Each model is built from an engine value by a ``from_*`` function here, so the tools stay
short and a change in a core dataclass never leaks onto the wire by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from neural_memory.core.alert import Alert
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.engine.memories import MemoryView
from neural_memory.engine.retrieval import Explanation, RetrievalResult, ScoredFiber
from neural_memory.server.metadata_fields import metadata_fields_model, shown_metadata

__all__ = [
    "AlertModel",
    "AlertsResult",
    "ConsolidateResult",
    "EditResult",
    "ForgetResult",
    "MemoryModel",
    "MemoryListResult",
    "PathStepModel",
    "ProjectModel",
    "ProjectsResult",
    "RecallResult",
    "RecalledMemory",
    "RememberResult",
    "StatsResult",
    "WhyModel",
    "alert_model",
    "memory_model",
    "recall_result",
    "typed_name",
]


class RememberResult(BaseModel):
    """What storing a memory did."""

    memory_id: str
    merged: bool = Field(description="True when the same text was already stored (a repeat).")
    neurons_created: int
    synapses_created: int
    type: str | None = Field(description="The memory's type, when it was stored as typed.")


class PathStepModel(BaseModel):
    """One step from the query to a recalled memory."""

    neuron: str = Field(description="The word or name this step reached.")
    via: str = Field(description="anchor (the query said it), synapse, or memory.")
    through_memory: str | None = Field(description="For a memory hop, the memory linking them.")


class WhyModel(BaseModel):
    """Why a memory was recalled: its signal scores and its activation path."""

    lexical: float = Field(description="Word match with the query (1 = best match).")
    activation: float = Field(description="Spreading activation reaching it (1 = strongest).")
    semantic: float = Field(description="Meaning similarity (0 without embeddings).")
    query_words_in_memory: list[str]
    path: list[PathStepModel] = Field(
        description="From a query word to the memory; empty when only words/meaning matched."
    )


class _RecalledHead(BaseModel):
    memory_id: str
    content: str
    score: float
    occurred_at: datetime | None


class _MemoryHead(BaseModel):
    memory_id: str
    content: str
    occurred_at: datetime | None
    created_at: datetime


# Then a memory's shown metadata keys (speaker, ...) as typed fields, from core.fiber_metadata.
if TYPE_CHECKING:  # models built at run time: checkers see their bases
    _RecalledMetadata = _RecalledHead
    _MemoryMetadata = _MemoryHead
else:
    _RecalledMetadata = metadata_fields_model("RecalledMetadata", base=_RecalledHead, required=True)
    _MemoryMetadata = metadata_fields_model("MemoryMetadata", base=_MemoryHead, required=True)


class RecalledMemory(_RecalledMetadata):
    """One recalled memory."""

    why: WhyModel | None = None


class RecallResult(BaseModel):
    """The recalled memories as one context text, and each memory with its score."""

    context: str = Field(description="The memories as text, best first, within the budget.")
    confidence: float
    memories: list[RecalledMemory]
    nothing_found: bool = Field(description="True when no memory matched the query.")


class MemoryModel(_MemoryMetadata):
    """One stored memory with its type and versions."""

    type: str | None
    priority: int | None
    tags: list[str]
    project: str | None
    expires_at: datetime | None
    superseded_by: str | None = Field(description="Set when a newer version replaced it.")
    versions: list[str] = Field(description="Ids of every version, oldest first.")


class MemoryListResult(BaseModel):
    """Memories, newest first."""

    memories: list[MemoryModel]


class EditResult(BaseModel):
    """An edit: the new current version (the old one stays in its version chain)."""

    previous_id: str
    memory: MemoryModel


class ForgetResult(BaseModel):
    """What forgetting deleted."""

    deleted: list[str] = Field(description="Ids of the memory and its older versions.")


class ProjectModel(BaseModel):
    """A project memories belong to."""

    project_id: str
    name: str
    memories: int


class ProjectsResult(BaseModel):
    """Every project of the brain."""

    projects: list[ProjectModel]


class AlertModel(BaseModel):
    """A health alert about the brain."""

    alert_id: str
    type: str
    severity: str
    message: str
    status: str
    created_at: datetime


class AlertsResult(BaseModel):
    """The brain's health: open alerts after a fresh check."""

    healthy: bool
    findings: list[str]
    alerts: list[AlertModel]


class StatsResult(BaseModel):
    """How big the brain is."""

    brain: str
    memories: int
    neurons: int
    synapses: int
    typed_memories: int
    orphan_neurons: int


class ConsolidateResult(BaseModel):
    """What consolidation changed."""

    duplicates_merged: int
    facts_superseded: int
    paths_strengthened: int
    memories_matured: int
    concepts_promoted: int
    orphans_pruned: int
    expired: int


def _why(fiber: ScoredFiber, why: Explanation) -> WhyModel:
    return WhyModel(
        lexical=fiber.lexical,
        activation=fiber.activation,
        semantic=fiber.semantic,
        query_words_in_memory=list(why.anchors),
        path=[
            PathStepModel(neuron=s.label, via=s.via.value, through_memory=s.through_memory)
            for s in why.path
        ],
    )


def recall_result(result: RetrievalResult) -> RecallResult:
    """A recall result as the ``recall`` tool answers it."""
    return RecallResult(
        context=result.context,
        confidence=result.confidence,
        nothing_found=not result.fibers,
        memories=[
            RecalledMemory(
                memory_id=f.fiber_id,
                content=f.content,
                score=f.score,
                occurred_at=f.occurred_at,
                **shown_metadata(f.metadata),
                why=_why(f, f.why) if f.why is not None else None,
            )
            for f in result.fibers
        ],
    )


def memory_model(view: MemoryView) -> MemoryModel:
    """One memory as the ``show``, ``edit`` and listing tools answer it."""
    fiber, typed = view.fiber, view.typed
    return MemoryModel(
        memory_id=fiber.id,
        content=fiber.content,
        occurred_at=fiber.occurred_at,
        created_at=fiber.created_at,
        **shown_metadata(fiber.metadata),
        type=typed.memory_type.value if typed else None,
        priority=int(typed.priority) if typed else None,
        tags=sorted(fiber.tags | (typed.tags if typed else frozenset())),
        project=view.project,
        expires_at=typed.expires_at if typed else None,
        superseded_by=fiber.superseded_by,
        versions=[v.id for v in view.versions] or [fiber.id],
    )


def alert_model(alert: Alert) -> AlertModel:
    """One alert as the ``alerts`` tool answers it."""
    return AlertModel(
        alert_id=alert.id,
        type=alert.alert_type.value,
        severity=alert.severity.value,
        message=alert.message,
        status=alert.status.value,
        created_at=alert.created_at,
    )


def typed_name(typed: TypedMemory | None) -> str | None:
    """The type's name of a typed memory, or None."""
    return typed.memory_type.value if typed else None
