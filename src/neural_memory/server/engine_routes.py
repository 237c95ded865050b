"""The engine API: create brains, store and recall memories, sleep, decay, health alerts."""

from __future__ import annotations

from typing import Annotated, Any, TypeVar, cast

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from pydantic import BaseModel

from neural_memory.core.alert import Alert, AlertStatus
from neural_memory.core.brain import Brain, BrainConfig
from neural_memory.core.clock import as_utc
from neural_memory.engine.consolidation import ConsolidationPolicy, consolidate
from neural_memory.engine.encoder import PLAN_INLINE_CHARS, MemoryEncoder
from neural_memory.engine.health import run_health_pulse
from neural_memory.engine.lifecycle import DecayManager
from neural_memory.engine.retrieval import DepthLevel, Explanation, ReflexPipeline
from neural_memory.errors import BrainNotFoundError, NotFoundError
from neural_memory.server._state import ServerState
from neural_memory.server.access import (
    Caller,
    heavy,
    heavy_gate,
    require_admin,
    require_brain_admin,
    require_read,
    require_write,
)
from neural_memory.server.engine_models import (
    RECALL_JSON,
    AcknowledgeResponse,
    AlertIdsRequest,
    AlertListResponse,
    AlertModel,
    BrainCreateRequest,
    BrainListResponse,
    BrainModel,
    ConsolidateRequest,
    ConsolidateResponse,
    DecayRequest,
    DecayResponse,
    DeletedResponse,
    Depth,
    ErrorResponse,
    HealthResponse,
    MemoryRequest,
    MemoryResponse,
    PathStepModel,
    RecallRequest,
    RecallResponse,
    RecallWire,
    SeenResponse,
    StatsResponse,
    WhyModel,
)
from neural_memory.server.metadata_fields import given_metadata
from neural_memory.sharing.limits import MAX_ID_LENGTH

__all__ = [
    "ERROR_RESPONSES",
    "HEAVY_MEMORY_CHARS",
    "ID_PATTERN",
    "router",
    "server_state",
    "shaped",
    "state_of",
    "trusted_json",
]

_Model = TypeVar("_Model", bound=BaseModel)

ID_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
"""An id: not blank, no control characters (and, in a path, no ``/``)."""

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (401, "No API key, or an unknown or revoked one (AccessDeniedError)"),
        (403, "The key may not do this to this brain (AccessDeniedError)"),
        (404, "Unknown brain (or outside the key's brains) or entity (NotFoundError)"),
        (409, "Id already taken (AlreadyExistsError)"),
        (413, "Request body, or a value in it, too large (RequestTooLarge, LimitExceededError)"),
        (421, "Host header not accepted (MisdirectedRequest)"),
        (422, "Invalid input (ValidationError)"),
        (429, "Too many requests for this key; see Retry-After (RateLimited)"),
        (503, "Storage unavailable, or too many heavy requests queued (Retry-After)"),
    )
}
"""The error answers every route may give, for the OpenAPI document."""


async def server_state(request: Request) -> ServerState:
    """The app's ServerState (dependency)."""
    return state_of(request)


def state_of(request: Request) -> ServerState:
    """The ServerState of the app serving ``request``."""
    return cast(ServerState, request.app.state.neural_memory)


State = Annotated[ServerState, Depends(server_state)]
BrainId = Annotated[
    str, Path(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN, description="Brain id")
]


async def current_brain(request: Request, brain_id: BrainId) -> Brain:
    """The brain named by the path (BrainNotFoundError -> 404).

    Reads the app's state itself (not through :func:`server_state`): one dependency less
    for FastAPI to solve on every request of a brain.
    """
    return await state_of(request).brain(brain_id)


CurrentBrain = Annotated[Brain, Depends(current_brain)]

HEAVY_MEMORY_CHARS = PLAN_INLINE_CHARS
"""Memories longer than this (20,000 characters) take a slot of the heavy gate: the encoder
plans them off the event loop (``engine.encoder.PLAN_INLINE_CHARS``). A shorter one costs the
loop a few milliseconds, like a recall: queued behind heavy work, small stores waited most of
a second under load (session 12)."""

router = APIRouter(tags=["engine"], responses=ERROR_RESPONSES)
_HEAVY = Depends(heavy, scope="function")  # slot released as soon as the route returns


# -- brains --------------------------------------------------------------------------------


@router.post("/brains", status_code=201, response_model=BrainModel, dependencies=[require_admin])
async def create_brain(body: BrainCreateRequest, state: State) -> BrainModel:
    """Create a brain (a fresh id is assigned)."""
    config = BrainConfig(**body.config.model_dump()) if body.config else BrainConfig()
    brain = Brain.create(body.name, config)
    await (await state.opened()).save_brain(brain)
    state.saved(brain.id)
    return brain_model(brain)


@router.get("/brains", response_model=BrainListResponse)
async def list_brains(state: State, key: Caller) -> BrainListResponse:
    """Every brain the key covers, oldest first."""
    brains = await (await state.opened()).list_brains()
    return BrainListResponse(brains=[brain_model(b) for b in brains if key.sees(b.id)])


@router.get("/brains/{brain_id}", response_model=BrainModel, dependencies=[require_read])
async def get_brain(brain: CurrentBrain) -> BrainModel:
    """One brain."""
    return brain_model(brain)


@router.delete(
    "/brains/{brain_id}", response_model=DeletedResponse, dependencies=[require_brain_admin]
)
async def delete_brain(brain_id: BrainId, state: State) -> DeletedResponse:
    """Delete a brain and all its memories."""
    deleted = await (await state.opened()).delete_brain(brain_id)
    state.forget(brain_id)
    if not deleted:
        raise BrainNotFoundError(f"brain {brain_id!r} does not exist")
    return DeletedResponse(deleted=True)


# -- memories ------------------------------------------------------------------------------


@router.post(
    "/brains/{brain_id}/memories",
    status_code=201,
    response_model=MemoryResponse,
    dependencies=[require_write],
)
async def remember(request: Request, body: MemoryRequest, brain: CurrentBrain) -> MemoryResponse:
    """Encode one memory (text -> neurons, synapses and a fiber) in one transaction.

    A memory of more than 20,000 characters waits for a heavy-work slot (503 when too many
    heavy requests are queued); a shorter one is stored at once.
    """
    # state and gate come from the request, not as dependencies: fewer for FastAPI to solve
    # on every store (the gate's, a plain function, even ran on a worker thread)
    state = state_of(request)
    if len(body.text) > HEAVY_MEMORY_CHARS:
        async with heavy_gate(request).held():
            return await _encode(body, brain, state)
    return await _encode(body, brain, state)


async def _encode(body: MemoryRequest, brain: Brain, state: ServerState) -> MemoryResponse:
    metadata = dict(body.metadata or {})
    metadata.update(given_metadata(body))
    encoder = MemoryEncoder(
        state.view(brain.id), brain.config, embedder=state.embedder, planner=state.planner
    )
    result = await encoder.encode(
        body.text,
        timestamp=as_utc(body.timestamp) if body.timestamp else None,
        metadata=metadata or None,
        tags=body.tags,
        salience=body.salience,
    )
    return MemoryResponse(
        fiber_id=result.fiber.id,
        neurons_created=len(result.neurons_created),
        neurons_linked=len(result.neurons_linked),
        synapses_created=len(result.synapses_created),
        synapses_reinforced=len(result.synapses_reinforced),
        merged=result.merged,
    )


@router.post(
    "/brains/{brain_id}/recall", response_model=RecallResponse, dependencies=[require_read]
)
async def recall(request: Request, body: RecallRequest, brain: CurrentBrain) -> Response:
    """Recall by spreading activation; the context fits ``max_tokens``."""
    state = state_of(request)  # not a dependency: one less for FastAPI to solve per recall
    pipeline = ReflexPipeline(state.recall_view(brain.id), brain.config, embedder=state.embedder)
    result = await pipeline.query(
        body.query,
        DepthLevel[body.depth.upper()] if body.depth else None,
        body.max_tokens,
        reference_time=as_utc(body.reference_time) if body.reference_time else None,
        max_fibers=body.max_fibers,
        explain=body.explain,
    )
    answer: RecallWire = {  # RecallResponse's fields, in its order (see RECALL_JSON)
        "query": result.query,
        "context": result.context,
        "confidence": float(result.confidence),
        "depth_used": cast(Depth, result.depth_used.name.lower()),
        "neurons_activated": result.neurons_activated,
        "tokens_used": result.tokens_used,
        "latency_ms": float(result.latency_ms),
        "fibers": [
            {
                "fiber_id": f.fiber_id,
                "content": f.content,
                "score": float(f.score),
                "lexical": float(f.lexical),
                "activation": float(f.activation),
                "semantic": float(f.semantic),
                "occurred_at": f.occurred_at,
                "metadata": dict(f.metadata),
                "why": why_model(f.why) if f.why is not None else None,
            }
            for f in result.fibers
        ],
    }
    return Response(RECALL_JSON.dump_json(answer), media_type="application/json")


@router.get("/brains/{brain_id}/stats", response_model=StatsResponse, dependencies=[require_read])
async def stats(brain: CurrentBrain, state: State) -> StatsResponse:
    """Counts describing the brain."""
    return shaped(StatsResponse, await state.view(brain.id).get_stats())


# -- lifecycle -----------------------------------------------------------------------------


@router.post(
    "/brains/{brain_id}/consolidate",
    response_model=ConsolidateResponse,
    dependencies=[require_write, _HEAVY],
)
async def sleep(
    brain: CurrentBrain,
    state: State,
    body: Annotated[ConsolidateRequest | None, Body()] = None,
) -> ConsolidateResponse:
    """Consolidate ("sleep"): merge, supersede, strengthen, mature, promote, prune, decay."""
    options = body or ConsolidateRequest()
    async with state.lock(brain.id):
        report = await consolidate(
            state.view(brain.id),
            brain.config,
            policy=ConsolidationPolicy(apply_decay=options.apply_decay),
            now=as_utc(options.now) if options.now else None,
        )
    return shaped(ConsolidateResponse, report)


@router.post(
    "/brains/{brain_id}/decay",
    response_model=DecayResponse,
    dependencies=[require_write, _HEAVY],
)
async def decay(
    brain: CurrentBrain,
    state: State,
    body: Annotated[DecayRequest | None, Body()] = None,
) -> DecayResponse:
    """Apply the forgetting curve at the brain's decay rate (``dry_run``: only count)."""
    options = body or DecayRequest()
    manager = DecayManager(
        decay_rate=brain.config.decay_rate,
        prune_threshold=options.prune_threshold,
        min_age_days=options.min_age_days,
    )
    async with state.lock(brain.id):
        report = await manager.apply_decay(
            state.view(brain.id),
            dry_run=options.dry_run,
            now=as_utc(options.now) if options.now else None,
        )
    return shaped(DecayResponse, report)


# -- health and alerts ---------------------------------------------------------------------


@router.post(
    "/brains/{brain_id}/health",
    response_model=HealthResponse,
    dependencies=[require_write, _HEAVY],
)
async def health_pulse(brain: CurrentBrain, state: State) -> HealthResponse:
    """Check the brain: raise alerts for new findings, resolve cleared ones."""
    async with state.lock(brain.id):
        report = await run_health_pulse(state.view(brain.id))
    return HealthResponse(
        healthy=report.healthy,
        checked_at=report.checked_at,
        findings=[f.alert_type.value for f in report.findings],
        raised=[alert_model(a) for a in report.raised],
        resolved_count=report.resolved_count,
    )


@router.get(
    "/brains/{brain_id}/alerts", response_model=AlertListResponse, dependencies=[require_read]
)
async def alerts(
    brain: CurrentBrain,
    state: State,
    status: Annotated[
        list[AlertStatus] | None, Query(description="Default: open alerts (active, seen).")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 50,
) -> AlertListResponse:
    """Alerts of the brain, newest first."""
    view = state.view(brain.id)
    if status:
        found = await view.get_alerts(statuses=status, limit=limit)
    else:
        found = await view.get_active_alerts(limit=limit)
    return AlertListResponse(alerts=[alert_model(a) for a in found])


@router.post(
    "/brains/{brain_id}/alerts/seen", response_model=SeenResponse, dependencies=[require_write]
)
async def alerts_seen(body: AlertIdsRequest, brain: CurrentBrain, state: State) -> SeenResponse:
    """Mark active alerts as seen (unknown ids are ignored)."""
    return SeenResponse(changed=await state.view(brain.id).mark_alerts_seen(body.ids))


@router.post(
    "/brains/{brain_id}/alerts/{alert_id}/acknowledge",
    response_model=AcknowledgeResponse,
    dependencies=[require_write],
)
async def acknowledge(
    alert_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH, pattern=ID_PATTERN)],
    brain: CurrentBrain,
    state: State,
) -> AcknowledgeResponse:
    """Acknowledge an alert, so it is not auto-resolved (404 for an unknown alert)."""
    view = state.view(brain.id)
    if not await view.get_alerts(ids=[alert_id], limit=1):
        raise NotFoundError(f"alert {alert_id!r} does not exist")
    acknowledged = await view.mark_alert_acknowledged(alert_id)
    return AcknowledgeResponse(acknowledged=acknowledged)


# -- conversions ---------------------------------------------------------------------------


def trusted_json(model: BaseModel) -> Response:
    """``model`` as a JSON response, sent as it is.

    For models built with ``model_construct`` from the engine's own (typed) results: the
    route's ``response_model`` still documents the shape, but FastAPI does not dump,
    validate and serialize the answer a second time.
    """
    return Response(model.model_dump_json(), media_type="application/json")


def shaped(model: type[_Model], source: object) -> _Model:
    """``model`` filled from the same-named attributes of ``source`` (a record or a report)."""
    return model.model_validate(source, from_attributes=True)


def brain_model(brain: Brain) -> BrainModel:
    """The HTTP shape of a brain."""
    return shaped(BrainModel, brain)


def alert_model(alert: Alert) -> AlertModel:
    """The HTTP shape of an alert."""
    return shaped(AlertModel, alert)


def why_model(why: Explanation) -> WhyModel:
    """An explanation on the wire."""
    return WhyModel(
        anchors=list(why.anchors),
        path=[
            PathStepModel(
                neuron_id=s.neuron_id,
                label=s.label,
                via=s.via.value,
                through_memory=s.through_memory,
            )
            for s in why.path
        ],
    )
