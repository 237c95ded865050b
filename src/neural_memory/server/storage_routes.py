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
from neural_memory.core.events import RecallEvent
from neural_memory.engine.handle import BrainHandle
from neural_memory.errors import BrainNotFoundError
from neural_memory.server._state import ServerState
from neural_memory.server.access import Caller, admin_only, check_brain
from neural_memory.server.engine_routes import ERROR_RESPONSES, State
from neural_memory.server.keys import Access, ApiKey
from neural_memory.server.storage_models import (
    AddRecallEventRequest,
    BrainIdRequest,
    BrainResponse,
    BrainsResponse,
    BrainVersionResponse,
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
    IdsResponse,
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
from neural_memory.storage._vectors import vector_to_text
from neural_memory.storage._wire import PROTOCOL_VERSION, decode_write_batch, dump_json
from neural_memory.storage.base import Storage

__all__ = ["router"]

router = APIRouter(tags=["storage"], responses=ERROR_RESPONSES)


def _answer(payload: dict[str, Any]) -> Response:
    return Response(content=dump_json(payload), media_type="application/json")


def _items(entities: list[Any]) -> Response:
    return _answer({"items": [encode_record(e) for e in entities]})


def _by_id(entities: dict[str, Any]) -> Response:
    return _answer({"items": {i: encode_record(e) for i, e in entities.items()}})


async def _scoped(state: ServerState, key: ApiKey, brain_id: str, access: Access) -> Storage:
    """The brain's view of the storage, once the key may ``access`` the (existing) brain."""
    check_brain(key, brain_id, access)
    await state.require_brain(brain_id)
    return state.view(brain_id)


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


@router.post("/get_brain_version", response_model=BrainVersionResponse)
async def get_brain_version(body: BrainIdRequest, state: State, key: Caller) -> Response:
    """The brain's change seq and record version, or null."""
    if not key.sees(body.brain_id):
        return _answer({"version": None})  # as if it did not exist
    try:
        version = await (await state.opened()).get_brain_version(body.brain_id)
    except BrainNotFoundError:
        return _answer({"version": None})
    found = {"change_seq": version.change_seq, "record": version.record}
    return _answer({"version": {**found, "generation": version.generation}})


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
    view = await _scoped(state, key, body.brain_id, Access.WRITE)
    return _answer({"seq": await BrainHandle.of(view).write(batch)})


@router.post("/get_neurons", response_model=EntityMapResponse)
async def get_neurons(body: IdsRequest, state: State, key: Caller) -> Response:
    """Neurons by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage.get_neurons(body.ids))


@router.post("/find_neurons", response_model=EntityListResponse)
async def find_neurons(body: FindNeuronsRequest, state: State, key: Caller) -> Response:
    """Neurons of a type and/or with a content, oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _items(await storage.find_neurons(body.type, body.content, limit=body.limit))


@router.post("/get_synapses", response_model=EntityMapResponse)
async def get_synapses(body: IdsRequest, state: State, key: Caller) -> Response:
    """Synapses by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage.get_synapses_by_id(body.ids))


@router.post("/find_synapses", response_model=EntityListResponse)
async def find_synapses(body: FindSynapsesRequest, state: State, key: Caller) -> Response:
    """Synapses by endpoint and type, oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    found = await storage.get_synapses(body.source_id, body.target_id, body.type, limit=body.limit)
    return _items(found)


@router.post("/synapses_touching", response_model=EntityListResponse)
async def synapses_touching(body: IdsRequest, state: State, key: Caller) -> Response:
    """Synapses with either endpoint among the ids."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _items(await storage.get_synapses_for_neurons(body.ids))


@router.post("/get_fibers", response_model=EntityMapResponse)
async def get_fibers(body: IdsRequest, state: State, key: Caller) -> Response:
    """Fibers by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage.get_fibers(body.ids))


@router.post("/find_fibers", response_model=EntityListResponse)
async def find_fibers(body: FindFibersRequest, state: State, key: Caller) -> Response:
    """Fibers binding a neuron and carrying all tags, oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _items(await storage.find_fibers(body.neuron_id, body.tags, limit=body.limit))


# -- which ids exist -----------------------------------------------------------------------


@router.post("/existing_neuron_ids", response_model=IdsResponse)
async def existing_neuron_ids(body: IdsRequest, state: State, key: Caller) -> Response:
    """The ids asked for of neurons the brain holds, sorted."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _answer({"ids": sorted(await storage.existing_neuron_ids(body.ids))})


@router.post("/existing_synapse_ids", response_model=IdsResponse)
async def existing_synapse_ids(body: IdsRequest, state: State, key: Caller) -> Response:
    """The ids asked for of synapses the brain holds, sorted."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _answer({"ids": sorted(await storage.existing_synapse_ids(body.ids))})


# -- knowledge -----------------------------------------------------------------------------


@router.post("/get_typed_memories", response_model=EntityMapResponse)
async def get_typed_memories(body: IdsRequest, state: State, key: Caller) -> Response:
    """Typed memories by id."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _by_id(await storage.get_typed_memories(body.ids))


@router.post("/find_typed_memories", response_model=EntityListResponse)
async def find_typed_memories(
    body: FindTypedMemoriesRequest, state: State, key: Caller
) -> Response:
    """Typed memories matching every criterion, highest priority first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    found = await storage.find_typed_memories(
        body.memory_type,
        body.min_priority,
        tags=body.tags,
        project_id=body.project_id,
        fiber_ids=body.fiber_ids,
        include_expired=body.not_expired_at is None,
        now=body.not_expired_at,
        limit=body.limit,
    )
    return _items(found)


@router.post("/get_projects", response_model=EntityListResponse)
async def get_projects(body: OptionalIdsRequest, state: State, key: Caller) -> Response:
    """Projects by id (null: all), oldest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    if body.ids is None:
        return _items(await storage.list_projects())
    return _items(await storage.get_projects(body.ids))


@router.post("/put_alerts", response_model=OkResponse)
async def put_alerts(body: PutAlertsRequest, state: State, key: Caller) -> Response:
    """Insert or replace alerts."""
    alerts = decode_records(Alert, body.alerts, "alerts")
    storage = await _scoped(state, key, body.brain_id, Access.WRITE)
    await storage.add_alerts(alerts)
    return _answer({"ok": True})


@router.post("/find_alerts", response_model=EntityListResponse)
async def find_alerts(body: FindAlertsRequest, state: State, key: Caller) -> Response:
    """Alerts by id, status and type, newest first."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    found = await storage.get_alerts(
        ids=body.ids, statuses=body.statuses, types=body.types, limit=body.limit
    )
    return _items(found)


@router.post("/add_recall_event", response_model=OkResponse)
async def add_recall_event(body: AddRecallEventRequest, state: State, key: Caller) -> Response:
    """Record one query and what it recalled."""
    event = decode_record(RecallEvent, body.event, "event")
    storage = await _scoped(state, key, body.brain_id, Access.READ)  # the log of a read
    await storage.add_recall_event(event)
    return _answer({"ok": True})


@router.post("/get_recall_events", response_model=EntityListResponse)
async def get_recall_events(body: GetRecallEventsRequest, state: State, key: Caller) -> Response:
    """Recall events at or after ``since``, oldest first (the newest ``limit``)."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _items(await storage.get_recall_events(since=body.since, limit=body.limit))


@router.post("/get_meta", response_model=MetaResponse)
async def get_meta(body: GetMetaRequest, state: State, key: Caller) -> Response:
    """A JSON value stored under a key, or null."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _answer({"value": await storage.get_meta(body.key)})


@router.post("/set_meta", response_model=OkResponse)
async def set_meta(body: SetMetaRequest, state: State, key: Caller) -> Response:
    """Store a JSON value under a key."""
    storage = await _scoped(state, key, body.brain_id, Access.WRITE)
    await storage.set_meta(body.key, body.value)
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
    found = await storage.get_vectors(body.model, body.fiber_ids)
    return _answer({"vectors": {fid: vector_to_text(v) for fid, v in found.items()}})


# -- change log, statistics ----------------------------------------------------------------


@router.post("/get_change_seq", response_model=SeqResponse)
async def get_change_seq(body: BrainIdRequest, state: State, key: Caller) -> Response:
    """The brain's latest change sequence number."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    return _answer({"seq": await storage.get_change_seq()})


@router.post("/get_changes", response_model=ChangesResponse)
async def get_changes(body: GetChangesRequest, state: State, key: Caller) -> Response:
    """Change-log entries after ``since``; null when the log was trimmed past it."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    changes = await storage.get_changes(body.since)
    payload = [encode_change(c) for c in changes] if changes is not None else None
    return _answer({"changes": payload})


@router.post("/get_stats", response_model=StatsResponse)
async def get_stats(body: GetStatsRequest, state: State, key: Caller) -> Response:
    """Counts of the brain (expiry judged at ``now``)."""
    storage = await _scoped(state, key, body.brain_id, Access.READ)
    stats = await storage.get_stats(now=body.now)
    return _answer({"stats": encode_record(stats)})
