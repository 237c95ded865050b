"""Request and response bodies of the dashboard's JSON endpoints (``/dashboard/api/...``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neural_memory.sharing.limits import MAX_NAME_LENGTH, MAX_TAGS, MAX_TEXT_LENGTH

__all__ = [
    "BucketModel",
    "ChainEntry",
    "CurvePointModel",
    "EditRequest",
    "EditResponse",
    "GraphEdge",
    "GraphFiber",
    "GraphNode",
    "GraphResponse",
    "MemoryDetail",
    "OverviewAggregates",
    "OverviewResponse",
    "RecallUse",
    "ReinforcementModel",
    "ResolveResponse",
    "RetentionModel",
    "TagsRequest",
    "TimelineItem",
    "TimelineResponse",
]

Tag = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]


class OverviewResponse(BaseModel):
    """Counts of a brain, cheap to compute at any size (the overview's first paint)."""

    brain_id: str
    name: str
    neuron_count: int
    synapse_count: int
    fiber_count: int
    typed_memory_count: int
    project_count: int
    orphan_neuron_count: int
    expired_memory_count: int
    change_seq: int
    storage_bytes: int | None = Field(description="Database size on disk; None if not a file.")


class BucketModel(BaseModel):
    """Memories stored in one period and the running total."""

    start: datetime
    added: int
    total: int


class OverviewAggregates(BaseModel):
    """Aggregates over every memory of the brain, computed server-side."""

    period: str = Field(description="day, week or month: the width of a growth bucket.")
    growth: list[BucketModel]
    stages: dict[str, int] = Field(description="Memories by maturation stage.")
    status: dict[str, int] = Field(description="current, superseded and faded memories.")
    memory_types: dict[str, int] = Field(description="Typed memories by type.")
    change_seq: int
    elapsed_ms: float


class TimelineItem(BaseModel):
    """One memory on the timeline."""

    fiber_id: str
    content: str
    occurred_at: datetime | None
    created_at: datetime
    stage: str
    tags: list[str]
    superseded_by: str | None
    supersedes: str | None
    faded: bool
    expired: bool
    conductivity: float


class TimelineResponse(BaseModel):
    """A page of memories, newest first; pass ``next_before`` to get the next page."""

    items: list[TimelineItem]
    next_before: str | None
    total: int


class ChainEntry(BaseModel):
    """One version of a fact in its supersession chain (oldest first)."""

    fiber_id: str
    content: str
    occurred_at: datetime | None
    current: bool


class CurvePointModel(BaseModel):
    """Modelled strength at one moment."""

    at: datetime
    strength: float


class ReinforcementModel(BaseModel):
    """A recall that used the memory."""

    at: datetime
    query: str
    strength_after: float


class RetentionModel(BaseModel):
    """A memory's strength over time and its forgetting curve ahead."""

    history: list[CurvePointModel]
    forecast: list[CurvePointModel]
    reinforcements: list[ReinforcementModel]
    stability_days: float
    days_until_faded: float | None


class RecallUse(BaseModel):
    """A recorded recall (how often the memory was used is ``access_count``)."""

    at: datetime
    query: str


class GraphNode(BaseModel):
    """A neuron."""

    id: str
    type: str
    label: str
    activation: float


class MemoryDetail(BaseModel):
    """Everything the detail view shows of one memory."""

    fiber_id: str
    content: str
    occurred_at: datetime | None
    created_at: datetime
    last_conducted: datetime | None
    conductivity: float
    salience: float
    access_count: int
    stage: str
    tags: list[str]
    metadata: dict[str, Any]
    neurons: list[GraphNode]
    memory_type: str | None
    priority: int | None
    expires_at: datetime | None
    chain: list[ChainEntry]
    retention: RetentionModel


class GraphEdge(BaseModel):
    """A synapse."""

    id: str
    source: str
    target: str
    type: str
    weight: float


class GraphFiber(BaseModel):
    """A memory and the neurons of it that are drawn."""

    id: str
    label: str
    neuron_ids: list[str]
    superseded: bool


class GraphResponse(BaseModel):
    """A neighbourhood of the graph (``truncated``: the element limit was reached)."""

    nodes: list[GraphNode]
    edges: list[GraphEdge]
    fibers: list[GraphFiber]
    seeds: list[str] = Field(description="Neuron ids the neighbourhood grew from.")
    truncated: bool


class EditRequest(BaseModel):
    """The corrected text of a memory."""

    model_config = ConfigDict(extra="forbid")

    text: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH)]


class EditResponse(BaseModel):
    """The new version (the old one stays in the supersession chain)."""

    fiber_id: str
    supersedes: str


class TagsRequest(BaseModel):
    """The complete new set of tags of a memory."""

    model_config = ConfigDict(extra="forbid")

    tags: list[Tag] = Field(max_length=MAX_TAGS)


class ResolveResponse(BaseModel):
    """Whether the alert is now resolved."""

    resolved: bool
