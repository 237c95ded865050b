"""The web dashboard: static pages under ``/dashboard`` and the JSON they read.

The pages (``dashboard_assets/``, plain ES modules, no external resource) call the engine
API (``/brains/...``) and the endpoints below, always with the signed-in key as
``Authorization: Bearer``. ``read_router`` only reads; ``write_router`` edits, tags and
forgets memories and resolves alerts, so an access check can be attached to each as a whole.
Aggregates over every memory are computed server-side and kept current from the change log
(:class:`DashboardCache`): a page never receives all memories of a brain.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Annotated, cast

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from neural_memory.core.clock import utcnow
from neural_memory.core.events import ChangeKind
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import SUPERSEDES
from neural_memory.core.neuron import Neuron, NeuronType
from neural_memory.engine import memories
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.history import supersession_chain
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import NotFoundError, ValidationError
from neural_memory.server._state import ServerState
from neural_memory.server.access import require_read, require_write
from neural_memory.server.dashboard_data import (
    FADED_BELOW,
    FiberDigests,
    growth,
    retention_curve,
    stage_of,
)
from neural_memory.server.dashboard_graph import Neighbourhood
from neural_memory.server.dashboard_models import (
    BucketModel,
    ChainEntry,
    CurvePointModel,
    EditRequest,
    EditResponse,
    GraphNode,
    GraphResponse,
    MemoryDetail,
    OverviewAggregates,
    OverviewResponse,
    ReinforcementModel,
    ResolveResponse,
    RetentionModel,
    TagsRequest,
    TimelineItem,
    TimelineResponse,
)
from neural_memory.server.engine_models import DeletedResponse
from neural_memory.server.engine_routes import ERROR_RESPONSES, CurrentBrain, State
from neural_memory.storage.base import Storage
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = [
    "ASSETS",
    "CONTENT_SECURITY_POLICY",
    "DashboardCache",
    "read_router",
    "router",
    "write_router",
]

ASSETS = Path(__file__).with_name("dashboard_assets")
"""The dashboard's static files (packaged with the distribution)."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
"""Pages load nothing from anywhere but this server."""

_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
}
_PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}
_RECALL_EVENTS_READ = 5_000


# -- the cache of digests ------------------------------------------------------------------


@dataclass
class DashboardCache:
    """Per-brain memory digests of one ServerState, kept current from each change log.

    Digests of the ``max_brains`` most recently viewed brains are kept (about 100 bytes per
    memory); an older brain's are rebuilt when it is viewed again.
    """

    state: ServerState
    max_brains: int = 16
    _digests: OrderedDict[str, FiberDigests] = field(default_factory=OrderedDict)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def digests(self, brain_id: str) -> FiberDigests:
        """The brain's digests, brought up to its latest change."""
        async with self._locks.setdefault(brain_id, asyncio.Lock()):
            view = self.state.view(brain_id)
            seq = await view.get_change_seq()
            current = self._digests.get(brain_id)
            if current is None:
                current = await _built(view, seq)
            elif current.change_seq != seq:
                changes = await view.get_changes(current.change_seq)
                if changes is None:  # the log was trimmed past our position: read everything
                    current = await _built(view, seq)
                else:
                    ids = {c.entity_id for c in changes if c.kind is ChangeKind.FIBER}
                    found = await view.get_fibers(ids)
                    last = max((c.seq for c in changes), default=seq)
                    current.apply({i: found.get(i) for i in ids}, max(seq, last))
            self._digests[brain_id] = current
            self._digests.move_to_end(brain_id)
            while len(self._digests) > self.max_brains:
                forgotten, _ = self._digests.popitem(last=False)
                self._locks.pop(forgotten, None)
            return current


async def _built(view: Storage, seq: int) -> FiberDigests:
    """Digests of every memory; the digesting runs off the event loop (other requests go on)."""
    fibers = await view.find_fibers()
    return await asyncio.to_thread(FiberDigests.build, fibers, seq)


def dashboard_cache(request: Request) -> DashboardCache:
    """The app's dashboard cache, bound to its current ServerState."""
    state = cast(ServerState, request.app.state.neural_memory)
    cache = getattr(request.app.state, "neural_memory_dashboard", None)
    if not isinstance(cache, DashboardCache) or cache.state is not state:
        cache = DashboardCache(state)
        request.app.state.neural_memory_dashboard = cache
    return cache


# -- pages ---------------------------------------------------------------------------------

router = APIRouter(include_in_schema=False)
"""The pages and their assets (no brain data)."""


@router.get("/dashboard")
async def dashboard_redirect(request: Request) -> RedirectResponse:
    """The dashboard lives at ``/dashboard/`` (its assets are relative to it)."""
    return RedirectResponse(f"{request.scope.get('root_path', '')}/dashboard/", status_code=307)


@router.get("/dashboard/")
async def dashboard_page() -> Response:
    """The single page of the dashboard."""
    return _asset_response(ASSETS / "index.html")


@router.get("/dashboard/assets/{name:path}")
async def dashboard_asset(name: str) -> Response:
    """One static file of the dashboard."""
    path = (ASSETS / name).resolve()
    if ASSETS.resolve() not in path.parents or not path.is_file():
        raise NotFoundError(f"no dashboard asset {name!r}")
    return _asset_response(path)


def _asset_response(path: Path) -> Response:
    media_type = _MEDIA_TYPES.get(path.suffix, "application/octet-stream")
    return FileResponse(path, media_type=media_type, headers=_PAGE_HEADERS)


# -- read endpoints ------------------------------------------------------------------------

read_router = APIRouter(
    prefix="/dashboard/api",
    tags=["dashboard"],
    responses=ERROR_RESPONSES,
    dependencies=[require_read],
)
"""Read-only JSON for the pages."""


@read_router.get("/brains/{brain_id}/overview", response_model=OverviewResponse)
async def overview(brain: CurrentBrain, state: State) -> OverviewResponse:
    """Counts and storage size: cheap at any brain size (the overview's first paint)."""
    stats = await state.view(brain.id).get_stats()
    return OverviewResponse(
        brain_id=brain.id,
        name=brain.name,
        neuron_count=stats.neuron_count,
        synapse_count=stats.synapse_count,
        fiber_count=stats.fiber_count,
        typed_memory_count=stats.typed_memory_count,
        project_count=stats.project_count,
        orphan_neuron_count=stats.orphan_neuron_count,
        expired_memory_count=stats.expired_memory_count,
        change_seq=stats.change_seq,
        storage_bytes=_storage_bytes(state),
    )


@read_router.get("/brains/{brain_id}/overview/aggregates", response_model=OverviewAggregates)
async def overview_aggregates(
    brain: CurrentBrain, state: State, request: Request
) -> OverviewAggregates:
    """Growth over time, memories by maturation stage, status and type."""
    started = time.perf_counter()
    digests = await dashboard_cache(request).digests(brain.id)
    period, buckets = growth(digests.stored_per_day())
    counts = digests.counts()
    typed = await state.view(brain.id).find_typed_memories(include_expired=True)
    return OverviewAggregates(
        period=period,
        growth=[BucketModel(start=b.start, added=b.added, total=b.total) for b in buckets],
        stages=counts["stages"],
        status=counts["status"],
        memory_types=dict(Counter(m.memory_type.value for m in typed)),
        change_seq=digests.change_seq,
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


@read_router.get("/brains/{brain_id}/timeline", response_model=TimelineResponse)
async def timeline(
    brain: CurrentBrain,
    state: State,
    request: Request,
    before: Annotated[
        str | None, Query(max_length=1_000, description="Cursor: next_before of the last page.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> TimelineResponse:
    """Memories by the date they happened, newest first, one page at a time."""
    digests = await dashboard_cache(request).digests(brain.id)
    page = digests.page_before(_cursor(before) if before else None, limit)
    view = state.view(brain.id)
    fibers = await view.get_fibers(d.id for d in page)
    typed = await view.get_typed_memories_for_fibers(fibers)
    now = utcnow()
    items = [
        _timeline_item(fibers[d.id], expired=d.id in typed and typed[d.id].is_expired(now))
        for d in page
        if d.id in fibers
    ]
    last = page[-1] if len(page) == limit else None
    return TimelineResponse(
        items=items,
        next_before=f"{last.occurred!r}:{last.id}" if last else None,
        total=len(digests),
    )


@read_router.get("/brains/{brain_id}/memories/{fiber_id}", response_model=MemoryDetail)
async def memory_detail(fiber_id: str, brain: CurrentBrain, state: State) -> MemoryDetail:
    """One memory: its fields, neurons, supersession chain and retention curve."""
    view = state.view(brain.id)
    fiber = await _fiber(view, fiber_id)
    neurons = await view.get_neurons(fiber.pathway or fiber.neuron_ids)
    typed = (await view.get_typed_memories_for_fibers([fiber.id])).get(fiber.id)
    chain = await supersession_chain(view, fiber.id)
    events = await view.get_recall_events(since=fiber.created_at, limit=_RECALL_EVENTS_READ)
    now = utcnow()
    curve = retention_curve(fiber, events, decay_rate=brain.config.decay_rate, now=now)
    return MemoryDetail(
        fiber_id=fiber.id,
        content=fiber.content,
        occurred_at=fiber.occurred_at,
        created_at=fiber.created_at,
        last_conducted=fiber.last_conducted,
        conductivity=fiber.conductivity,
        salience=fiber.salience,
        access_count=fiber.access_count,
        stage=stage_of(fiber),
        tags=sorted(fiber.tags),
        metadata=dict(fiber.metadata),
        neurons=[_node(n) for n in neurons.values()],
        memory_type=typed.memory_type.value if typed else None,
        priority=int(typed.priority) if typed else None,
        expires_at=typed.expires_at if typed else None,
        chain=[
            ChainEntry(
                fiber_id=f.id,
                content=f.content,
                occurred_at=f.occurred_at,
                current=f.id == fiber.id,
            )
            for f in chain
        ],
        retention=RetentionModel(
            history=[CurvePointModel(at=p.at, strength=p.strength) for p in curve.history],
            forecast=[CurvePointModel(at=p.at, strength=p.strength) for p in curve.forecast],
            reinforcements=[
                ReinforcementModel(at=r.at, query=r.query, strength_after=r.strength_after)
                for r in curve.reinforcements
            ],
            stability_days=curve.stability_days,
            days_until_faded=curve.days_until_faded,
        ),
    )


@read_router.get("/brains/{brain_id}/graph", response_model=GraphResponse)
async def graph(
    brain: CurrentBrain,
    state: State,
    fiber: Annotated[str | None, Query(min_length=1, description="Grow around a memory.")] = None,
    neuron: Annotated[str | None, Query(min_length=1, description="Grow around a neuron.")] = None,
    query: Annotated[str | None, Query(min_length=1, description="Grow around recall.")] = None,
    hops: Annotated[int, Query(ge=0, le=4)] = 2,
    types: Annotated[list[NeuronType] | None, Query(description="Neuron types kept.")] = None,
    limit: Annotated[int, Query(ge=10, le=20_000, description="Elements at most.")] = 3_000,
) -> GraphResponse:
    """Neurons, synapses and memories around a memory, a neuron or a query."""
    if sum(x is not None for x in (fiber, neuron, query)) != 1:
        raise ValidationError("give exactly one of fiber, neuron or query")
    view = state.view(brain.id)
    hood = Neighbourhood(view, limit=limit, types=frozenset(types) if types else None)
    if fiber is not None:
        await hood.seed_fibers([await _fiber(view, fiber)])
    elif neuron is not None:
        await hood.seed_neurons([neuron])
    else:
        pipeline = ReflexPipeline(view, brain.config, embedder=state.embedder)
        found = await pipeline.search(cast(str, query), max_fibers=5)
        await hood.seed_fibers(list((await view.get_fibers(f.fiber_id for f in found)).values()))
    await hood.grow(hops)
    return hood.response()


# -- write endpoints -----------------------------------------------------------------------

write_router = APIRouter(
    prefix="/dashboard/api",
    tags=["dashboard"],
    responses=ERROR_RESPONSES,
    dependencies=[require_write],
)
"""Edit, tag and forget memories, resolve alerts (for keys that may write)."""


@write_router.post("/brains/{brain_id}/memories/{fiber_id}/edit", response_model=EditResponse)
async def edit_memory(
    fiber_id: str, body: EditRequest, brain: CurrentBrain, state: State
) -> EditResponse:
    """Correct a memory: the new text supersedes it, the old version stays in the chain."""
    view = state.view(brain.id)
    encoder = MemoryEncoder(view, brain.config, embedder=state.embedder, planner=state.planner)
    edited = await memories.edit_memory(view, encoder, fiber_id, text=body.text)
    return EditResponse(fiber_id=edited.current.id, supersedes=edited.previous.id)


@write_router.put("/brains/{brain_id}/memories/{fiber_id}/tags", response_model=TimelineItem)
async def tag_memory(
    fiber_id: str, body: TagsRequest, brain: CurrentBrain, state: State
) -> TimelineItem:
    """Replace the tags of a memory."""
    view = state.view(brain.id)
    fiber = replace(await _fiber(view, fiber_id), tags=frozenset(body.tags))
    await view.update_fiber(fiber)
    return _timeline_item(fiber, expired=False)


@write_router.delete("/brains/{brain_id}/memories/{fiber_id}", response_model=DeletedResponse)
async def forget_memory(fiber_id: str, brain: CurrentBrain, state: State) -> DeletedResponse:
    """Forget a memory for good, every version of it (fibers and typed records; neurons stay)."""
    deleted = await memories.forget_memory(state.view(brain.id), fiber_id)
    return DeletedResponse(deleted=bool(deleted))


@write_router.post("/brains/{brain_id}/alerts/{alert_id}/resolve", response_model=ResolveResponse)
async def resolve_alert(alert_id: str, brain: CurrentBrain, state: State) -> ResolveResponse:
    """Resolve an alert by hand (404 for an unknown alert)."""
    view = state.view(brain.id)
    found = [a for a in await view.get_alerts() if a.id == alert_id]
    if not found:
        raise NotFoundError(f"alert {alert_id!r} does not exist")
    await view.add_alerts([found[0].resolve()])
    return ResolveResponse(resolved=True)


router.include_router(read_router)
router.include_router(write_router)


# -- helpers -------------------------------------------------------------------------------


async def _fiber(view: Storage, fiber_id: str) -> Fiber:
    fiber = await view.get_fiber(fiber_id)
    if fiber is None:
        raise NotFoundError(f"memory {fiber_id!r} does not exist")
    return fiber


def _cursor(text: str) -> tuple[float, str]:
    """``occurred:id`` (a timeline cursor) as the digests' sort key."""
    moment, _, fiber_id = text.partition(":")
    try:
        return float(moment), fiber_id
    except ValueError:
        raise ValidationError(f"not a timeline cursor: {text!r}") from None


def _node(neuron: Neuron) -> GraphNode:
    return GraphNode(
        id=neuron.id, type=neuron.type.value, label=neuron.content, activation=neuron.activation
    )


def _timeline_item(fiber: Fiber, *, expired: bool) -> TimelineItem:
    return TimelineItem(
        fiber_id=fiber.id,
        content=fiber.content,
        occurred_at=fiber.occurred_at,
        created_at=fiber.created_at,
        stage=stage_of(fiber),
        tags=sorted(fiber.tags),
        superseded_by=fiber.superseded_by,
        supersedes=SUPERSEDES.get(fiber.metadata),
        faded=fiber.conductivity < FADED_BELOW,
        expired=expired,
        conductivity=fiber.conductivity,
    )


def _storage_bytes(state: ServerState) -> int | None:
    """The database's size on disk (with its WAL), when the storage is a SQLite file."""
    storage = state.storage
    if not isinstance(storage, SQLiteStorage) or storage.path == ":memory:":
        return None
    sizes = (os.path.getsize(p) for p in (storage.path, f"{storage.path}-wal") if os.path.isfile(p))
    return sum(sizes)
