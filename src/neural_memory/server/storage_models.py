"""Request and response bodies of the storage RPC API (``/v1/storage/<primitive>``).

One request model per backend primitive. Records travel as the JSON objects of
:mod:`neural_memory.codec` (``dict`` here, decoded strictly by the routes), so this file
describes the envelope and the filters, not every record field twice.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    WithJsonSchema,
)

from neural_memory.core.alert import AlertStatus, AlertType
from neural_memory.core.neuron import NeuronType
from neural_memory.core.synapse import SynapseType
from neural_memory.core.typed_memory import MemoryType
from neural_memory.server import record_schemas as rs
from neural_memory.server._types import AwareTime, Whole, WholeNumber
from neural_memory.sharing.limits import MAX_ID_LENGTH, MAX_NAME_LENGTH, MAX_TEXT_LENGTH

__all__ = [
    "AddRecallEventRequest",
    "BrainIdRequest",
    "BrainResponse",
    "BrainVersionResponse",
    "BrainsResponse",
    "ChangesResponse",
    "CreateBrainRequest",
    "DeletedResponse",
    "EntityListResponse",
    "EntityMapResponse",
    "FindAlertsRequest",
    "FindFibersRequest",
    "FindNeuronsRequest",
    "FindSynapsesRequest",
    "FindTypedMemoriesRequest",
    "GetChangesRequest",
    "GetMetaRequest",
    "GetRecallEventsRequest",
    "GetStatsRequest",
    "IdsRequest",
    "IdsResponse",
    "MetaKeysResponse",
    "MetaResponse",
    "OkResponse",
    "OptionalIdsRequest",
    "ProtocolResponse",
    "PutAlertsRequest",
    "SaveBrainRequest",
    "SeqResponse",
    "SetMetaRequest",
    "StatsResponse",
    "WriteRequest",
]

BrainId = Annotated[str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"\S")]
EntityId = Annotated[str, StringConstraints(max_length=MAX_ID_LENGTH)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT_LENGTH)]
Tag = Annotated[str, StringConstraints(max_length=MAX_NAME_LENGTH)]
Limit = Annotated[StrictInt, Field(ge=0), Whole]
MinPriority = Annotated[StrictInt, Field(ge=0, le=10), Whole]


# JSON objects documented with the codec's record schemas (the routes decode them strictly).
BrainRecord = Annotated[dict[str, Any], WithJsonSchema(rs.BRAIN)]
AlertRecord = Annotated[dict[str, Any], WithJsonSchema(rs.ALERT)]
RecallEventRecord = Annotated[dict[str, Any], WithJsonSchema(rs.RECALL_EVENT)]
WriteBatchBody = Annotated[dict[str, Any], WithJsonSchema(rs.WRITE_BATCH)]
StatsRecord = Annotated[dict[str, Any], WithJsonSchema(rs.STATS)]
_ANY_RECORD = {
    "anyOf": [
        rs.NEURON,
        rs.SYNAPSE,
        rs.FIBER,
        rs.TYPED_MEMORY,
        rs.PROJECT,
        rs.ALERT,
        rs.RECALL_EVENT,
    ]
}
AnyRecord = Annotated[dict[str, Any], WithJsonSchema(_ANY_RECORD)]


class _Rpc(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Scoped(_Rpc):
    brain_id: BrainId


# -- requests ------------------------------------------------------------------------------


class SaveBrainRequest(_Rpc):
    """``_save_brain``: the brain as the codec's JSON object."""

    brain: BrainRecord


class CreateBrainRequest(_Rpc):
    """``_create_brain``: a brain and its first WriteBatch, written in one transaction."""

    brain: BrainRecord
    batch: WriteBatchBody


class BrainIdRequest(_Rpc):
    """``_get_brain``, ``_get_brain_version``, ``_delete_brain``, ``_get_change_seq``."""

    brain_id: BrainId


class WriteRequest(_Scoped):
    """``_write``: a WriteBatch (empty sections may be left out)."""

    batch: WriteBatchBody


class IdsRequest(_Scoped):
    """``_get_neurons``, ``_get_synapses``, ``_synapses_touching``, ``_get_fibers``, ..."""

    ids: list[EntityId]


class OptionalIdsRequest(_Scoped):
    """``_get_projects`` (null: every project)."""

    ids: list[EntityId] | None = None


class FindNeuronsRequest(_Scoped):
    """``_find_neurons``."""

    type: NeuronType | None = None
    content: Text | None = None
    limit: Limit | None = None


class FindSynapsesRequest(_Scoped):
    """``_find_synapses``."""

    source_id: EntityId | None = None
    target_id: EntityId | None = None
    type: SynapseType | None = None
    limit: Limit | None = None


class FindFibersRequest(_Scoped):
    """``_find_fibers``."""

    neuron_id: EntityId | None = None
    tags: list[Tag] = Field(default_factory=list)
    limit: Limit | None = None


class FindTypedMemoriesRequest(_Scoped):
    """``_find_typed_memories``."""

    memory_type: MemoryType | None = None
    min_priority: MinPriority | None = None
    tags: list[Tag] = Field(default_factory=list)
    project_id: EntityId | None = None
    fiber_ids: list[EntityId] | None = None
    not_expired_at: AwareTime | None = None
    limit: Limit | None = None


class PutAlertsRequest(_Scoped):
    """``_put_alerts``."""

    alerts: list[AlertRecord]


class FindAlertsRequest(_Scoped):
    """``_find_alerts``."""

    ids: list[EntityId] | None = None
    statuses: list[AlertStatus] | None = None
    types: list[AlertType] | None = None
    limit: Limit | None = None


class AddRecallEventRequest(_Scoped):
    """``_add_recall_event``."""

    event: RecallEventRecord


class GetRecallEventsRequest(_Scoped):
    """``_get_recall_events``."""

    since: AwareTime | None = None
    limit: Limit | None = None


class GetMetaRequest(_Scoped):
    """``_get_meta``."""

    key: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]


class SetMetaRequest(GetMetaRequest):
    """``_set_meta``: any JSON value."""

    value: Any = None


class GetVectorsRequest(_Scoped):
    """``_get_vectors``: the vectors of one model (``fiber_ids`` null: every fiber's)."""

    model: Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME_LENGTH)]
    fiber_ids: list[str] | None = None


class VectorsResponse(BaseModel):
    """``_get_vectors``: fiber id -> base64 of the little-endian float32 values."""

    vectors: dict[str, str]


class GetChangesRequest(_Scoped):
    """``_get_changes``."""

    since: WholeNumber


class GetStatsRequest(_Scoped):
    """``_get_stats``."""

    now: AwareTime


# -- responses -----------------------------------------------------------------------------


class ProtocolResponse(BaseModel):
    """``GET /v1/storage/health``: the server is up and speaks this protocol version."""

    ok: bool
    protocol: int
    backend: str


class OkResponse(BaseModel):
    """A write without a result."""

    ok: bool = True


class BrainResponse(BaseModel):
    """``_get_brain``: the brain, or null."""

    brain: BrainRecord | None


class BrainVersionModel(BaseModel):
    """A brain's change seq, record version and generation (``BrainVersion``)."""

    change_seq: int
    record: int
    generation: int = 0


class BrainVersionResponse(BaseModel):
    """``_get_brain_version``: the brain's version, or null (no such brain)."""

    version: BrainVersionModel | None


class BrainsResponse(BaseModel):
    """``_list_brains``: every brain, oldest first."""

    brains: list[BrainRecord]


class DeletedResponse(BaseModel):
    """``_delete_brain``."""

    deleted: bool


class SeqResponse(BaseModel):
    """``_write`` and ``_get_change_seq``: the brain's change sequence."""

    seq: int


class EntityMapResponse(BaseModel):
    """Get-by-ids primitives: the entities found, by id."""

    items: dict[str, AnyRecord]


class EntityListResponse(BaseModel):
    """Find primitives: matching entities in the backend's order."""

    items: list[AnyRecord]


class MetaResponse(BaseModel):
    """``_get_meta``: the stored JSON value, or null."""

    value: Any


class IdsResponse(BaseModel):
    """``_existing_neuron_ids``, ``_existing_synapse_ids``: the ids asked for that exist."""

    ids: list[str]


class MetaKeysResponse(BaseModel):
    """``_meta_keys``: the keys of the brain's meta values, sorted."""

    keys: list[str]


class ChangesResponse(BaseModel):
    """``_get_changes``: ``[seq, kind, entity_id]`` triples, or null (rebuild)."""

    changes: list[list[Any]] | None


class StatsResponse(BaseModel):
    """``_get_stats``."""

    stats: StatsRecord
