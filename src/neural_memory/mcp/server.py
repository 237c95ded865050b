"""create_server: an MCP server whose tools remember, recall, correct and forget in one brain.

Two tool tiers. ``default`` (what most agents need): ``remember``, ``recall``, ``edit``,
``forget``, ``show`` and ``stats``. ``full`` adds ``list_recent``, ``todos``, ``projects``,
``alerts`` and ``consolidate``. Each tool answers a pydantic model (structured output plus its
JSON as text); a NeuralMemory error becomes a tool error with its message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations
from pydantic import Field

from neural_memory import __version__
from neural_memory.core.brain import Brain
from neural_memory.core.fiber_metadata import SPEAKER
from neural_memory.core.typed_memory import MemoryType
from neural_memory.engine._default_embedder import DEFAULT_EMBEDDER, EmbedderChoice
from neural_memory.engine.consolidation import consolidate
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.health import run_health_pulse
from neural_memory.engine.memories import (
    MemoryFilter,
    MemorySpec,
    edit_memory,
    forget_memory,
    list_memories,
    remember_memory,
    show_memory,
)
from neural_memory.engine.retrieval import DepthLevel, ReflexPipeline
from neural_memory.errors import NeuralMemoryError, ValidationError
from neural_memory.mcp.models import (
    AlertsResult,
    ConsolidateResult,
    EditResult,
    ForgetResult,
    MemoryListResult,
    MemoryModel,
    ProjectModel,
    ProjectsResult,
    RecallResult,
    RememberResult,
    StatsResult,
    alert_model,
    memory_model,
    recall_result,
    typed_name,
)
from neural_memory.storage.base import Storage

__all__ = ["DEFAULT_TOOLS", "FULL_TOOLS", "Tier", "create_server", "parse_when"]

_T = TypeVar("_T")

Tier = Literal["default", "full"]

DEFAULT_TOOLS = ("remember", "recall", "edit", "forget", "show", "stats")
"""The tools of the default tier."""

FULL_TOOLS = (*DEFAULT_TOOLS, "list_recent", "todos", "projects", "alerts", "consolidate")
"""The tools of the full tier."""

INSTRUCTIONS = (
    "Long-term memory that persists across conversations. Call `remember` whenever the user "
    "states something worth keeping (facts, decisions, preferences, todos, instructions; say "
    "who said it and when). Before answering a question that may depend on earlier "
    "conversations, call `recall` with the question and use its `context`. If a memory is "
    "wrong, `edit` it (the old version is kept as history); if the user asks you to forget "
    "something, `forget` it. Memory ids come from `remember`, `recall` and `list_recent`."
)

_READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, open_world_hint=False)
_WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
_DELETE = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)

_TYPES = ", ".join(t.value for t in MemoryType)
_DEPTHS = {"instant": DepthLevel.INSTANT, "context": DepthLevel.CONTEXT,
           "habit": DepthLevel.HABIT, "deep": DepthLevel.DEEP}  # fmt: skip

MemoryId = Annotated[str, Field(description="The memory's id (from remember, recall or list).")]
TypeName = Literal[
    "fact", "decision", "preference", "todo", "insight", "context", "instruction", "error",
    "workflow", "reference",
]  # fmt: skip


def create_server(
    storage: Storage,
    brain: Brain,
    *,
    embedder: EmbedderChoice = DEFAULT_EMBEDDER,
    name: str = "neural-memory",
    tier: Tier = "full",
) -> MCPServer:
    """An MCP server over ``brain`` in ``storage`` (selected with ``set_brain``).

    The caller owns ``storage`` (opened, with ``brain`` saved) and closes it after the
    server stops. ``embedder``: the process's default embedding model when the ``embeddings``
    extra is installed, unless given (None: lexical recall). ``tier`` chooses the tool set
    (:data:`DEFAULT_TOOLS` or :data:`FULL_TOOLS`).
    """
    if not isinstance(brain, Brain):
        raise ValidationError(f"expected a Brain, got {type(brain).__name__}")
    if tier not in ("default", "full"):
        raise ValidationError(f"tier must be 'default' or 'full', got {tier!r}")
    storage.set_brain(brain.id)
    server: MCPServer = MCPServer(
        name, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )
    tools = _Tools(storage, brain, embedder)
    _register_default(server, tools)
    if tier == "full":
        _register_full(server, tools)
    return server


class _Tools:
    """The engine objects the tools share (one encoder, one pipeline, one sleep lock)."""

    def __init__(self, storage: Storage, brain: Brain, embedder: EmbedderChoice) -> None:
        self.storage = storage
        self.brain = brain
        self.encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
        self.pipeline = ReflexPipeline(storage, brain.config, embedder=embedder)
        self.sleeping = asyncio.Lock()

    async def memory(self, memory_id: str) -> MemoryModel:
        return memory_model(await show_memory(self.storage, memory_id))


def _register_default(server: MCPServer, tools: _Tools) -> None:
    @server.tool(annotations=_WRITE)
    async def remember(
        text: Annotated[str, Field(description="What to remember, in plain words.")],
        type: Annotated[
            TypeName | None,
            Field(description=f"What kind of knowledge it is: {_TYPES}. Omit for a plain note."),
        ] = None,
        priority: Annotated[
            int | None, Field(description="Importance from 0 to 10 (default 5).", ge=0, le=10)
        ] = None,
        tags: Annotated[list[str] | None, Field(description="Short labels for the memory.")] = None,
        project: Annotated[
            str | None, Field(description="Project name it belongs to (created if new).")
        ] = None,
        expires_in_days: Annotated[
            float | None, Field(description="Forget it after this many days.", gt=0)
        ] = None,
        speaker: Annotated[str | None, Field(description=SPEAKER.meaning)] = None,
        when: Annotated[
            str | None,
            Field(description="When it happened, ISO 8601 (no zone: local time). Default: now."),
        ] = None,
    ) -> RememberResult:
        """Store one memory (a fact, decision, preference, todo, event...).

        Say who said it and when it happened when known: recall uses both. Storing the same
        text again is reported as `merged` and strengthens the existing memory.
        """
        spec = MemorySpec(
            text=text,
            when=parse_when(when) if when else None,
            speaker=speaker,
            memory_type=MemoryType(type) if type else None,
            priority=priority,
            tags=frozenset(tags or ()),
            project=project,
            expires_in_days=expires_in_days,
            source="mcp",
        )
        done = await _tool(lambda: remember_memory(tools.storage, tools.encoder, spec))
        return RememberResult(
            memory_id=done.encoding.fiber.id,
            merged=done.encoding.merged,
            neurons_created=len(done.encoding.neurons_created),
            synapses_created=len(done.encoding.synapses_created),
            type=typed_name(done.typed),
        )

    @server.tool(annotations=_WRITE)
    async def recall(
        query: Annotated[str, Field(description="The question or topic, in plain words.")],
        depth: Annotated[
            Literal["instant", "context", "habit", "deep"] | None,
            Field(
                description="How far association may travel: instant (direct answers), "
                "context (default), habit, deep (causal chains). Default: chosen from the query."
            ),
        ] = None,
        max_tokens: Annotated[
            int | None, Field(description="Token budget of the returned context.", ge=1)
        ] = None,
        max_memories: Annotated[
            int, Field(description="How many memories at most.", ge=1, le=100)
        ] = 10,
        explain: Annotated[
            bool,
            Field(description="Also say why each memory was recalled (scores and the path)."),
        ] = False,
    ) -> RecallResult:
        """Recall what is remembered about `query`: a context text and the memories behind it.

        Use the `context` to answer. `confidence` is low when little matched; `nothing_found`
        is true when nothing did. Recall strengthens the memories it uses.
        """
        result = await _tool(
            lambda: tools.pipeline.query(
                query,
                _DEPTHS[depth] if depth else None,
                max_tokens,
                max_fibers=max_memories,
                explain=explain,
            )
        )
        return recall_result(result)

    @server.tool(annotations=_WRITE)
    async def edit(
        memory_id: MemoryId,
        text: Annotated[str | None, Field(description="The corrected text.")] = None,
        type: Annotated[TypeName | None, Field(description=f"The new type: {_TYPES}.")] = None,
    ) -> EditResult:
        """Correct a memory's text or type.

        A new text becomes a new memory that replaces the old one in recall; the old version
        stays in the memory's `versions` as history. Give the newest version's id.
        """
        done = await _tool(
            lambda: edit_memory(
                tools.storage,
                tools.encoder,
                memory_id,
                text=text,
                memory_type=MemoryType(type) if type else None,
            )
        )
        current = await _tool(lambda: tools.memory(done.current.id))
        return EditResult(previous_id=done.previous.id, memory=current)

    @server.tool(annotations=_DELETE)
    async def forget(memory_id: MemoryId) -> ForgetResult:
        """Delete a memory for good, with all its older versions. It is no longer recalled."""
        deleted = await _tool(lambda: forget_memory(tools.storage, memory_id))
        return ForgetResult(deleted=deleted)

    @server.tool(annotations=_READ)
    async def show(memory_id: MemoryId) -> MemoryModel:
        """One memory in full: text, when, who, type, tags, project and its version history."""
        return await _tool(lambda: tools.memory(memory_id))

    @server.tool(annotations=_READ)
    async def stats() -> StatsResult:
        """How many memories, neurons and synapses the brain holds."""
        s = await _tool(tools.storage.get_stats)
        return StatsResult(
            brain=tools.brain.name,
            memories=s.fiber_count,
            neurons=s.neuron_count,
            synapses=s.synapse_count,
            typed_memories=s.typed_memory_count,
            orphan_neurons=s.orphan_neuron_count,
        )


def _register_full(server: MCPServer, tools: _Tools) -> None:
    @server.tool(annotations=_READ)
    async def list_recent(
        limit: Annotated[int, Field(description="How many at most.", ge=1, le=200)] = 20,
        type: Annotated[TypeName | None, Field(description="Only this type.")] = None,
        tag: Annotated[str | None, Field(description="Only memories with this tag.")] = None,
        project: Annotated[str | None, Field(description="Only this project's.")] = None,
    ) -> MemoryListResult:
        """The most recent memories, newest first (by when they happened), with their ids."""
        query = MemoryFilter(
            memory_type=MemoryType(type) if type else None, tag=tag, project=project, limit=limit
        )
        views = await _tool(lambda: list_memories(tools.storage, query))
        return MemoryListResult(memories=[memory_model(v) for v in views])

    @server.tool(annotations=_READ)
    async def todos(
        project: Annotated[str | None, Field(description="Only this project's todos.")] = None,
    ) -> MemoryListResult:
        """Open todos (memories of type `todo` that have not expired), newest first."""
        query = MemoryFilter(memory_type=MemoryType.TODO, project=project, limit=200)
        now = datetime.now().astimezone()
        views = await _tool(lambda: list_memories(tools.storage, query))
        open_views = [v for v in views if v.typed is None or not v.typed.is_expired(now)]
        return MemoryListResult(memories=[memory_model(v) for v in open_views])

    @server.tool(annotations=_READ)
    async def projects() -> ProjectsResult:
        """The projects memories are grouped in, with how many memories each holds."""
        found = await _tool(tools.storage.list_projects)
        counts = {
            p.id: len(await tools.storage.get_project_memories(p.id, include_expired=True))
            for p in found
        }
        return ProjectsResult(
            projects=[
                ProjectModel(project_id=p.id, name=p.name, memories=counts[p.id]) for p in found
            ]
        )

    @server.tool(annotations=_WRITE)
    async def alerts() -> AlertsResult:
        """Check the brain's health now and list its open alerts (what needs attention)."""
        async with tools.sleeping:
            report = await _tool(lambda: run_health_pulse(tools.storage))
        open_alerts = await _tool(tools.storage.get_active_alerts)
        return AlertsResult(
            healthy=report.healthy,
            findings=[f.alert_type.value for f in report.findings],
            alerts=[alert_model(a) for a in open_alerts],
        )

    @server.tool(name="consolidate", annotations=_WRITE)
    async def consolidate_tool() -> ConsolidateResult:
        """Tidy the memory ("sleep"): merge duplicates, update facts, strengthen, prune, decay.

        Run it when idle, not in the middle of a task: it can take a while on a big brain.
        """
        async with tools.sleeping:
            report = await _tool(lambda: consolidate(tools.storage, tools.brain.config))
        return ConsolidateResult.model_validate(report, from_attributes=True)


async def _tool(call: Callable[[], Awaitable[_T]]) -> _T:
    """Run one engine call; a NeuralMemoryError becomes a ToolError the agent can read."""
    try:
        return await call()
    except NeuralMemoryError as exc:
        raise ToolError(str(exc) or type(exc).__name__) from exc


def parse_when(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is local time (ToolError if bad)."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ToolError(f"`when` must be an ISO 8601 date or time, got {text!r}") from None
    return moment if moment.tzinfo is not None else moment.astimezone()
