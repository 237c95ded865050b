"""create_server: an MCP server whose tools remember and recall in one brain.

Tools: ``remember(text, speaker?, when?, tags?)``, ``recall(query, max_tokens?)``,
``stats()`` and ``consolidate()``. Each answers a small pydantic model (structured output
plus its JSON as text); a NeuralMemory error becomes a tool error with its message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from neural_memory import __version__
from neural_memory.core.brain import Brain
from neural_memory.engine.consolidation import consolidate
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.errors import NeuralMemoryError, ValidationError
from neural_memory.storage.base import Storage

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = [
    "ConsolidateResult",
    "RecallResult",
    "RecalledMemory",
    "RememberResult",
    "StatsResult",
    "create_server",
    "parse_when",
]

_T = TypeVar("_T")

INSTRUCTIONS = (
    "Long-term memory. Call `remember` with anything worth keeping (facts, decisions, "
    "preferences, events; say who said it and when). Call `recall` with a question to get the "
    "relevant memories as context. `consolidate` tidies the memory (run it when idle)."
)


class RememberResult(BaseModel):
    """What storing a memory did."""

    memory_id: str
    neurons_created: int
    synapses_created: int
    merged: bool = Field(description="True when the same text was already stored.")


class RecalledMemory(BaseModel):
    """One recalled memory."""

    memory_id: str
    content: str
    score: float
    occurred_at: datetime | None


class RecallResult(BaseModel):
    """The recalled memories as one context text, and each memory with its score."""

    context: str
    confidence: float
    memories: list[RecalledMemory]


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


def create_server(
    storage: Storage,
    brain: Brain,
    *,
    embedder: Embedder | None = None,
    name: str = "neural-memory",
) -> MCPServer:
    """An MCP server over ``brain`` in ``storage`` (selected with ``set_brain``).

    The caller owns ``storage`` (opened, with ``brain`` saved) and closes it after the
    server stops.
    """
    if not isinstance(brain, Brain):
        raise ValidationError(f"expected a Brain, got {type(brain).__name__}")
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
    pipeline = ReflexPipeline(storage, brain.config, embedder=embedder)
    sleeping = asyncio.Lock()
    server: MCPServer = MCPServer(
        name, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING"
    )

    @server.tool()
    async def remember(
        text: Annotated[str, Field(description="What to remember, in plain words.")],
        speaker: Annotated[str | None, Field(description="Who said or did it.")] = None,
        when: Annotated[
            str | None,
            Field(description="When it happened, ISO 8601 (no zone: local time). Default: now."),
        ] = None,
        tags: Annotated[list[str] | None, Field(description="Labels for the memory.")] = None,
    ) -> RememberResult:
        """Store one memory (a fact, decision, preference or event)."""
        result = await _tool(
            lambda: encoder.encode(
                text,
                timestamp=parse_when(when) if when else None,
                metadata={"speaker": speaker} if speaker else None,
                tags=tags,
            )
        )
        return RememberResult(
            memory_id=result.fiber.id,
            neurons_created=len(result.neurons_created),
            synapses_created=len(result.synapses_created),
            merged=result.merged,
        )

    @server.tool()
    async def recall(
        query: Annotated[str, Field(description="The question or topic to remember about.")],
        max_tokens: Annotated[
            int | None, Field(description="Budget of the context text.", ge=1)
        ] = None,
    ) -> RecallResult:
        """Recall the memories relevant to ``query``, as context text within a token budget."""
        result = await _tool(lambda: pipeline.query(query, max_tokens=max_tokens))
        return RecallResult(
            context=result.context,
            confidence=result.confidence,
            memories=[
                RecalledMemory(
                    memory_id=f.fiber_id,
                    content=f.content,
                    score=f.score,
                    occurred_at=f.occurred_at,
                )
                for f in result.fibers
            ],
        )

    @server.tool()
    async def stats() -> StatsResult:
        """How many memories, neurons and synapses the brain holds."""
        s = await _tool(storage.get_stats)
        return StatsResult(
            brain=brain.name,
            memories=s.fiber_count,
            neurons=s.neuron_count,
            synapses=s.synapse_count,
            typed_memories=s.typed_memory_count,
            orphan_neurons=s.orphan_neuron_count,
        )

    @server.tool(name="consolidate")
    async def consolidate_tool() -> ConsolidateResult:
        """Consolidate ("sleep"): merge duplicates, update facts, strengthen, prune, decay."""
        async with sleeping:
            report = await _tool(lambda: consolidate(storage, brain.config))
        return ConsolidateResult(
            duplicates_merged=report.duplicates_merged,
            facts_superseded=report.facts_superseded,
            paths_strengthened=report.paths_strengthened,
            memories_matured=report.memories_matured,
            concepts_promoted=report.concepts_promoted,
            orphans_pruned=report.orphans_pruned,
            expired=report.expired,
        )

    return server


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
