"""Request and response bodies of the engine API (``/brains/...``), for agents.

These models are the HTTP contract; they are built from the engine's results field by field,
so a change in a core dataclass never leaks onto the wire by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, TypeAdapter
from typing_extensions import TypedDict  # pydantic needs it (not typing's) before Python 3.12

from neural_memory.core.fiber_metadata import ValueKind
from neural_memory.server._types import Flag, NoNul, NotBlank, Number, Time, Whole, WholeNumber
from neural_memory.server.metadata_fields import metadata_fields_model
from neural_memory.server.record_schemas import NOT_BLANK_NO_NUL
from neural_memory.sharing.limits import MAX_NAME_LENGTH, MAX_TAGS, MAX_TEXT_LENGTH

__all__ = [
    "AcknowledgeResponse",
    "AlertIdsRequest",
    "AlertListResponse",
    "AlertModel",
    "BrainConfigModel",
    "BrainCreateRequest",
    "BrainListResponse",
    "BrainModel",
    "ConsolidateRequest",
    "ConsolidateResponse",
    "DecayRequest",
    "DecayResponse",
    "DeletedResponse",
    "ErrorResponse",
    "HealthResponse",
    "MemoryRequest",
    "MemoryResponse",
    "PathStepModel",
    "RecallRequest",
    "RECALL_JSON",
    "RecallResponse",
    "RecallWire",
    "RecalledFiber",
    "RecalledFiberWire",
    "SeenResponse",
    "StatsResponse",
    "WhyModel",
]

Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH),
    NotBlank,
    NoNul,
    Field(json_schema_extra={"pattern": NOT_BLANK_NO_NUL}),
]
Text = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_TEXT_LENGTH),
    NotBlank,
    NoNul,
    Field(json_schema_extra={"pattern": NOT_BLANK_NO_NUL}),
]
"""Text with at least one non-space character (a memory, a query)."""
Depth = Literal["instant", "context", "habit", "deep"]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorResponse(BaseModel):
    """Every error answer: ``{"error": type, "message": text}``."""

    error: str = Field(description="The error type, e.g. BrainNotFoundError, ValidationError.")
    message: str


class BrainConfigModel(BaseModel):
    """How a brain behaves (see ``BrainConfig``)."""

    model_config = ConfigDict(extra="forbid")

    decay_rate: Number = Field(default=0.1, ge=0, le=1)
    reinforcement_delta: Number = Field(default=0.05, ge=0, le=1)
    activation_threshold: Number = Field(default=0.2, ge=0, le=1)
    max_spread_hops: WholeNumber = Field(default=4, ge=1)
    max_context_tokens: WholeNumber = Field(default=1500, ge=1)


class BrainCreateRequest(_Request):
    """Create a brain called ``name``."""

    name: Name
    config: BrainConfigModel | None = None


class BrainModel(BaseModel):
    """One brain."""

    id: str
    name: str
    config: BrainConfigModel
    created_at: datetime
    updated_at: datetime | None


class BrainListResponse(BaseModel):
    """Every brain, oldest first."""

    brains: list[BrainModel]


class DeletedResponse(BaseModel):
    """Whether something was deleted."""

    deleted: bool


class _MemoryHead(_Request):
    text: Text
    timestamp: Time | None = Field(
        default=None, description="When it happened (ISO 8601; no zone = UTC). Default: now."
    )


# Then the shown metadata keys (speaker, ...) as typed fields, from core.fiber_metadata.
if TYPE_CHECKING:  # a model built at run time: checkers see its base
    _MemoryMetadata = _MemoryHead
else:
    _MemoryMetadata = metadata_fields_model(
        "MemoryMetadata",
        base=_MemoryHead,
        types={ValueKind.TEXT: Name, ValueKind.ID: Name},
        note=" Kept in the metadata.",
    )


class MemoryRequest(_MemoryMetadata):
    """One memory to store."""

    metadata: dict[str, Any] | None = None
    tags: list[Name] = Field(default_factory=list, max_length=MAX_TAGS)
    salience: Number = Field(default=0.5, ge=0, le=1)


class MemoryResponse(BaseModel):
    """What storing the memory did."""

    fiber_id: str
    neurons_created: int
    neurons_linked: int
    synapses_created: int
    synapses_reinforced: int
    merged: bool = Field(description="True when the same text was already stored.")


class RecallRequest(_Request):
    """A question for the brain."""

    query: Text
    depth: Depth | None = Field(default=None, description="Default: chosen from the query.")
    max_tokens: Annotated[StrictInt, Field(ge=1, le=1_000_000), Whole] | None = None
    reference_time: Time | None = Field(default=None, description="'Now' for the query.")
    max_fibers: WholeNumber = Field(default=10, ge=1, le=1000)
    explain: Flag = Field(default=False, description="Fill each fiber's ``why``.")


class PathStepModel(BaseModel):
    """One step of an activation path: the neuron reached and how."""

    neuron_id: str
    label: str
    via: Literal["anchor", "synapse", "memory"]
    through_memory: str | None = None


class WhyModel(BaseModel):
    """Why a fiber was recalled: the query's anchors it holds and the path reaching it."""

    anchors: list[str]
    path: list[PathStepModel]


class RecalledFiber(BaseModel):
    """One recalled memory and its scores."""

    fiber_id: str
    content: str
    score: float
    lexical: float
    activation: float
    semantic: float
    occurred_at: datetime | None
    metadata: dict[str, Any]
    why: WhyModel | None = None


class RecallResponse(BaseModel):
    """The answer: context text within the token budget, and the memories behind it."""

    query: str
    context: str
    confidence: float
    depth_used: Depth
    neurons_activated: int
    tokens_used: int
    latency_ms: float
    fibers: list[RecalledFiber]


class RecalledFiberWire(TypedDict):
    """:class:`RecalledFiber` as plain data: the same fields, types and order."""

    fiber_id: str
    content: str
    score: float
    lexical: float
    activation: float
    semantic: float
    occurred_at: datetime | None
    metadata: dict[str, Any]
    why: WhyModel | None


class RecallWire(TypedDict):
    """:class:`RecallResponse` as plain data: the same fields, types and order."""

    query: str
    context: str
    confidence: float
    depth_used: Depth
    neurons_activated: int
    tokens_used: int
    latency_ms: float
    fibers: list[RecalledFiberWire]


RECALL_JSON: TypeAdapter[RecallWire] = TypeAdapter(RecallWire)
"""Serialises a recall answer without building models: the bytes ``model_dump_json`` of the
same :class:`RecallResponse` gives (keys written in the order given: build each dict in field
order). Building eleven models per recall cost more than serialising them."""


class StatsResponse(BaseModel):
    """Counts describing the brain."""

    neuron_count: int
    synapse_count: int
    fiber_count: int
    typed_memory_count: int
    project_count: int
    orphan_neuron_count: int
    expired_memory_count: int
    oldest_unused_fiber_at: datetime | None
    change_seq: int
    orphan_ratio: float
    synapses_per_neuron: float


class ConsolidateRequest(_Request):
    """Options of one consolidation ("sleep")."""

    now: Time | None = None
    apply_decay: Flag = True


class ConsolidateResponse(BaseModel):
    """What consolidation changed."""

    expired: int
    duplicates_merged: int
    facts_superseded: int
    paths_strengthened: int
    memories_matured: int
    concepts_promoted: int
    orphans_linked: int
    orphans_pruned: int
    decay_applied: bool
    duration_ms: float


class DecayRequest(_Request):
    """Options of one forgetting pass (the brain's own decay rate)."""

    dry_run: Flag = False
    now: Time | None = None
    prune_threshold: Number = Field(default=0.01, ge=0, le=1)
    min_age_days: Number = Field(default=1.0, ge=0)


class DecayResponse(BaseModel):
    """What decay changed (or, in a dry run, would change)."""

    neurons_decayed: int
    synapses_decayed: int
    fibers_decayed: int
    neurons_pruned: int
    synapses_pruned: int
    dry_run: bool
    duration_ms: float


class AlertModel(BaseModel):
    """One health alert."""

    id: str
    alert_type: str
    severity: str
    message: str
    status: str
    metric_value: float
    threshold: float
    created_at: datetime
    seen_at: datetime | None
    acknowledged_at: datetime | None
    resolved_at: datetime | None


class AlertListResponse(BaseModel):
    """Alerts, newest first."""

    alerts: list[AlertModel]


class AlertIdsRequest(_Request):
    """Alerts to mark as seen."""

    ids: list[Name] = Field(max_length=10_000)


class SeenResponse(BaseModel):
    """How many alerts changed to ``seen``."""

    changed: int


class AcknowledgeResponse(BaseModel):
    """Whether the alert is now acknowledged (a resolved alert stays resolved)."""

    acknowledged: bool


class HealthResponse(BaseModel):
    """The outcome of one health pulse."""

    healthy: bool
    checked_at: datetime
    findings: list[str] = Field(description="Alert types found.")
    raised: list[AlertModel]
    resolved_count: int
