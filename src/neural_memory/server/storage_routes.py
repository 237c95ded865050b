"""The storage RPC API: every backend primitive of ``Storage`` as ``POST /v1/storage/<name>``.

A remote :class:`~neural_memory.storage.SharedStorage` implements each ``_``-primitive with one
of these calls, so it is a full backend over HTTP. Brain ids travel in the body (any id a
backend accepts, ``/`` included); records in the JSON form of :mod:`neural_memory.codec`.
Answers are encoded once with :func:`~neural_memory.storage._wire.dump_json` (the protocol
module both ends share); the response models document them.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from neural_memory.codec import decode_record, decode_records, encode_change, encode_record
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.clock import as_utc
from neural_memory.core.events import RecallEvent
from neural_memory.core.limits import check_record
from neural_memory.server._state import ServerState
from neural_memory.server.access import Caller, admin_only, check_brain
from neural_memory.server.engine_routes import ERROR_RESPONSES, State
from neural_memory.server.keys import Access, ApiKey
from neural_memory.server.storage_models import (
    AddRecallEventRequest,
    BrainIdRequest,
    BrainResponse,
    BrainsResponse,
    ChangesResponse,
    CreateBrainRequest,
    DeletedResponse,
    EntityListResponse,
    EntityMapResponse,
    FindAlertsRequest,
    FindFibersRequest,
    FindNeuronsRequest,
    FindSynapsesRequest,
    FindTypedMemoriesRequest,
    GetChangesRequest,
    GetMetaRequest,
    GetRecallEventsRequest,
    GetStatsRequest,
    GetVectorsRequest,
    IdsRequest,
    MetaKeysResponse,
    MetaResponse,
    OkResponse,
    OptionalIdsRequest,
    ProtocolResponse,
    PutAlertsRequest,
    SaveBrainRequest,
    SeqResponse,
    SetMetaRequest,
    StatsResponse,
    VectorsResponse,
    WriteRequest,
)
from neural_memory.storage._limits import check_meta
from neural_memory.storage._vectors import vector_to_text
from neural_memory.storage._wire import PROTOCOL_VERSION, decode_write_batch, dump_json
from neural_memory.storage.base import Storage
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

__all__ = ["router"]

router = APIRouter(tags=["storage"], responses=ERROR_RESPONSES)


def _answer(payload: dict[str, Any]) -> Response:
    return Response(content=dump_json(payload), media_type="application/json")


def _items(entities: list[Any]) -> Response:
    return _answer({"items": [encode_record(e) for e in entities]})


def _by_id(entities: dict[str, Any]) -> Response:
    return _answer({"items": {i: encode_record(e) for i, e in entities.items()}})


async def _scoped(state: ServerState, key: ApiKey, brain_id: str, access: Access) -> Storage:
    """The storage, once the key may ``access`` the (existing) brain."""
    check_brain(key, brain_id, access)
    await state.require_brain(brain_id)
    return state.storage


def _whole_config_counts(brain: dict[str, Any]) -> dict[str, Any]:
    """``max_spread_hops: 4.0`` read as 4: an integer, as JSON Schema counts them."""
    config = brain.get("config")
    if not isinstance(config, dict):
        return brain
    counts = {
        name: int(value)
        for name in ("max_spread_hops", "max_context_tokens")
        if isinstance(value := config.get(name), float) and value.is_integer()
    }
    return {**brain, "config": {**config, **counts}} if counts else brain


# -- brains --------------------------------------------------------------------------------


@router.get("/health", response_model=ProtocolResponse)
async def health(state: State, key: Caller) -> Response:
    """The server is up, its storage opens, and it speaks this protocol version."""
    storage = await state.opened()
    return _answer({"ok": True, "protocol": PROTOCOL_VERSION, "backend": type(storage).__name__})


@router.post("/save_brain", response_model=OkResponse)
async def save_brain(body: SaveBrainRequest, state: State, key: Caller) -> Response:
    """Insert or replace a brain (its data is kept)."""
    brain = decode_record(Brain, _whole_config_counts(body.brain), "brain")
    check_brain(key, brain.id, Access.ADMIN)
    await (await state.opened()).save_brain(brain)
    state.saved(brain.id)
    return _answer({"ok": True})


@router.post("/create_brain", response_model=SeqResponse)
async def create_brain(body: CreateBrainRequest, state: State, key: Caller) -> Response:
    """Create a brain holding a batch, in one transaction (409 when the id is taken)."""
    admin_only(key)
    brain = decode_record(Brain, _whole_config_counts(body.brain), "brain")
    batch = decode_write_batch(body.batch)
    seq = await (await state.opened()).create_brain(brain, batch)
    state.saved(brain.id)
    return _answer({"seq": seq})


@router.post("/get_brain", response_model=BrainResponse)
async def get_brain(body: BrainIdRequest, state: State, key: Caller) -> Response:
    """The brain, or null."""
    if not key.sees(body.brain_id):
        return _answer({"brain": None})  # as if it did not exist
    brain = await (await state.opened()).get_brain(body.brain_id)
    return _answer({"brain": encode_record(brain) if brain is not None else None})


@router.post("/list_brains", response_model=BrainsResponse)
async def list_brains(state: State, key: Caller) -> Response:
    """Every brain the key covers, oldest first."""
    brains = await (await state.opened()).list_brains()
    return _answer({"brains": [encode_record(b) for b in brains if key.sees(b.id)]})


@router.post("/delete_brain", response_model=DeletedResponse)
async def delete_brain(body: BrainIdRequest, state: State, key: Caller) -> Response:
    """Delete a brain and everything in it."""
    if not key.sees(body.brain_id):
        return _answer({"deleted": False})  # as if it did not exist
    check_brain(key, body.brain_id, Access.ADMIN)
    deleted = await (await state.opened()).delete_brain(body.brain_id)
    state.forget(body.brain_id)
    return _answer({"deleted": deleted})


# -- graph ---------------------------------------------------------------------------------


@router.post("/write", response_model=SeqResponse)
async def write(body: WriteRequest, state: State, key: Caller) -> Response:
    """Apply a WriteBatch atomically; the brain's new change seq."""
    batch = decode_write_batch(body.batch)
    storage = await _scoped(state, key, body.brain_id, Access.WRITE)
    if batch.is_empty:
        return _answer({"seq": await storage._get_change_seq(body.brain_id)})
    return _answer({"seq": await storage._write(body.brain_id, batch)})


@router.post("/get_neurons", response_model=EntityMapResponse)
async def get_neurons(body: IdsRequest, state: State, key: Caller) -> Response:
    """Neurons by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage._get_neurons(body.brain_id, frozenset(body.ids)))


@router.post("/find_neurons", response_model=EntityListResponse)
async def find_neurons(body: FindNeuronsRequest, state: State, key: Caller) -> Response:
    """Neurons of a type and/or with a content, oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    query = NeuronFilter(type=body.type, content=body.content, limit=body.limit)
    return _items(await storage._find_neurons(body.brain_id, query))


@router.post("/get_synapses", response_model=EntityMapResponse)
async def get_synapses(body: IdsRequest, state: State, key: Caller) -> Response:
    """Synapses by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage._get_synapses(body.brain_id, frozenset(body.ids)))


@router.post("/find_synapses", response_model=EntityListResponse)
async def find_synapses(body: FindSynapsesRequest, state: State, key: Caller) -> Response:
    """Synapses by endpoint and type, oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    query = SynapseFilter(
        source_id=body.source_id, target_id=body.target_id, type=body.type, limit=body.limit
    )
    return _items(await storage._find_synapses(body.brain_id, query))


@router.post("/synapses_touching", response_model=EntityListResponse)
async def synapses_touching(body: IdsRequest, state: State, key: Caller) -> Response:
    """Synapses with either endpoint among the ids."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _items(await storage._synapses_touching(body.brain_id, frozenset(body.ids)))


@router.post("/get_fibers", response_model=EntityMapResponse)
async def get_fibers(body: IdsRequest, state: State, key: Caller) -> Response:
    """Fibers by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage._get_fibers(body.brain_id, frozenset(body.ids)))


@router.post("/find_fibers", response_model=EntityListResponse)
async def find_fibers(body: FindFibersRequest, state: State, key: Caller) -> Response:
    """Fibers binding a neuron and carrying all tags, oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    query = FiberFilter(neuron_id=body.neuron_id, tags=frozenset(body.tags), limit=body.limit)
    return _items(await storage._find_fibers(body.brain_id, query))


# -- knowledge -----------------------------------------------------------------------------


@router.post("/get_typed_memories", response_model=EntityMapResponse)
async def get_typed_memories(body: IdsRequest, state: State, key: Caller) -> Response:
    """Typed memories by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage._get_typed_memories(body.brain_id, frozenset(body.ids)))


@router.post("/find_typed_memories", response_model=EntityListResponse)
async def find_typed_memories(
    body: FindTypedMemoriesRequest, state: State, key: Caller
) -> Response:
    """Typed memories matching every criterion, highest priority first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    query = TypedMemoryFilter(
        memory_type=body.memory_type,
        min_priority=body.min_priority,
        tags=frozenset(body.tags),
        project_id=body.project_id,
        fiber_ids=frozenset(body.fiber_ids) if body.fiber_ids is not None else None,
        not_expired_at=as_utc(body.not_expired_at) if body.not_expired_at else None,
        limit=body.limit,
    )
    return _items(await storage._find_typed_memories(body.brain_id, query))


@router.post("/get_projects", response_model=EntityListResponse)
async def get_projects(body: OptionalIdsRequest, state: State, key: Caller) -> Response:
    """Projects by id (null: all), oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    ids = frozenset(body.ids) if body.ids is not None else None
    return _items(await storage._get_projects(body.brain_id, ids))


@router.post("/put_alerts", response_model=OkResponse)
async def put_alerts(body: PutAlertsRequest, state: State, key: Caller) -> Response:
    """Insert or replace alerts."""
    alerts = tuple(decode_records(Alert, body.alerts, "alerts"))
    for alert in alerts:
        check_record(alert)
    storage = await _scoped(state, key, body.brain_id, Access.WRITE)
    if alerts:
        await storage._put_alerts(body.brain_id, alerts)
    return _answer({"ok": True})


@router.post("/find_alerts", response_model=EntityListResponse)
async def find_alerts(body: FindAlertsRequest, state: State, key: Caller) -> Response:
    """Alerts by id, status and type, newest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    query = AlertFilter(
        ids=frozenset(body.ids) if body.ids is not None else None,
        statuses=frozenset(body.statuses) if body.statuses is not None else None,
        types=frozenset(body.types) if body.types is not None else None,
        limit=body.limit,
    )
    return _items(await storage._find_alerts(body.brain_id, query))


@router.post("/add_recall_event", response_model=OkResponse)
async def add_recall_event(body: AddRecallEventRequest, state: State, key: Caller) -> Response:
    """Record one query and what it recalled."""
    event = decode_record(RecallEvent, body.event, "event")
    check_record(event)
    storage = await _scoped(state, key, body.brain_id, Access.READ)  # the log of a read
    await storage._add_recall_event(body.brain_id, event)
    return _answer({"ok": True})


@router.post("/get_recall_events", response_model=EntityListResponse)
async def get_recall_events(body: GetRecallEventsRequest, state: State, key: Caller) -> Response:
    """Recall events at or after ``since``, oldest first (the newest ``limit``)."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    since = as_utc(body.since) if body.since else None
    return _items(await storage._get_recall_events(body.brain_id, since, body.limit))


@router.post("/get_meta", response_model=MetaResponse)
async def get_meta(body: GetMetaRequest, state: State, key: Caller) -> Response:
    """A JSON value stored under a key, or null."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _answer({"value": await storage._get_meta(body.brain_id, body.key)})


@router.post("/set_meta", response_model=OkResponse)
async def set_meta(body: SetMetaRequest, state: State, key: Caller) -> Response:
    """Store a JSON value under a key."""
    check_meta(body.key, body.value)
    storage = await _scoped(state, key, body.brain_id, Access.WRITE)
    await storage._set_meta(body.brain_id, body.key, body.value)
    return _answer({"ok": True})


@router.post("/meta_keys", response_model=MetaKeysResponse)
async def meta_keys(body: BrainIdRequest, state: State, key: Caller) -> Response:
    """The keys of the brain's meta values, sorted."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _answer({"keys": await storage._meta_keys(body.brain_id)})


@router.post("/get_vectors", response_model=VectorsResponse)
async def get_vectors(body: GetVectorsRequest, state: State, key: Caller) -> Response:
    """The stored vectors of one model (of some fibers, or all)."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    ids = frozenset(body.fiber_ids) if body.fiber_ids is not None else None
    found = await storage._get_vectors(body.brain_id, body.model, ids)
    return _answer({"vectors": {fid: vector_to_text(v) for fid, v in found.items()}})


# -- change log, statistics ----------------------------------------------------------------


@router.post("/get_change_seq", response_model=SeqResponse)
async def get_change_seq(body: BrainIdRequest, state: State, key: Caller) -> Response:
    """The brain's latest change sequence number."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _answer({"seq": await storage._get_change_seq(body.brain_id)})


@router.post("/get_changes", response_model=ChangesResponse)
async def get_changes(body: GetChangesRequest, state: State, key: Caller) -> Response:
    """Change-log entries after ``since``; null when the log was trimmed past it."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    changes = await storage._get_changes(body.brain_id, body.since)
    payload = [encode_change(c) for c in changes] if changes is not None else None
    return _answer({"changes": payload})


@router.post("/get_stats", response_model=StatsResponse)
async def get_stats(body: GetStatsRequest, state: State, key: Caller) -> Response:
    """Counts of the brain (expiry judged at ``now``)."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    stats = await storage._get_stats(body.brain_id, as_utc(body.now))
    return _answer({"stats": encode_record(stats)})
