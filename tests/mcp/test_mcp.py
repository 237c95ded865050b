"""The MCP server: each tool through the SDK's in-memory client, and the stdio command."""

from __future__ import annotations

import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

from mcp import Client, StdioServerParameters
from neural_memory import Brain
from neural_memory.mcp import create_server
from neural_memory.mcp.server import Tier
from neural_memory.storage import SQLiteStorage


@asynccontextmanager
async def connected(tmp_path: Path, tier: Tier = "full") -> AsyncIterator[Client]:
    """An MCP client session with a server over a fresh SQLite brain.

    A context manager, not a fixture: the SDK's task group must be entered and left in the
    same task, and pytest-asyncio tears fixtures down in another one.
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    async with SQLiteStorage(tmp_path / "brain.db") as storage:
        brain = Brain.create("assistant")
        await storage.save_brain(brain)
        async with Client(create_server(storage, brain, tier=tier)) as session:
            yield session


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_tiers_list_their_tools(tmp_path: Path) -> None:
    async with connected(tmp_path) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    async with connected(tmp_path / "default", tier="default") as client:
        default = {tool.name for tool in (await client.list_tools()).tools}
    assert default == {"remember", "recall", "edit", "forget", "show", "stats"}
    assert set(tools) == default | {"list_recent", "todos", "projects", "alerts", "consolidate"}
    assert tools["remember"].input_schema["required"] == ["text"]
    assert {"type", "priority", "tags", "project", "expires_in_days", "speaker", "when"} <= set(
        tools["remember"].input_schema["properties"]
    )
    assert {"depth", "max_tokens", "explain"} <= set(tools["recall"].input_schema["properties"])
    assert tools["forget"].annotations is not None
    assert tools["forget"].annotations.destructive_hint is True
    assert all(tool.output_schema for tool in tools.values())
    assert all(len(tool.description or "") > 40 for tool in tools.values())


async def test_remember_recall_stats_consolidate(tmp_path: Path) -> None:
    async with connected(tmp_path) as client:
        stored = await call(
            client,
            "remember",
            text="Alice chose PostgreSQL for the billing service",
            speaker="Bob",
            when="2024-05-01T10:00:00+00:00",
            tags=["db"],
        )
        await call(client, "remember", text="The office cat is called Miso")
        recalled = await call(client, "recall", query="Which database did Alice choose?")
        small = await call(client, "recall", query="Which database did Alice choose?", max_tokens=5)
        counts = await call(client, "stats")
        report = await call(client, "consolidate")
        after = await call(client, "stats")
    assert stored["neurons_created"] > 0 and stored["merged"] is False
    assert "PostgreSQL" in recalled["context"].splitlines()[0]
    assert "Bob" in recalled["context"]
    assert recalled["memories"][0]["memory_id"] == stored["memory_id"]
    assert recalled["memories"][0]["occurred_at"].startswith("2024-05-01T10:00:00")
    assert 0 < recalled["confidence"] <= 1
    assert len(small["context"]) < len(recalled["context"])
    assert counts["brain"] == "assistant"
    assert counts["memories"] == 2 and counts["neurons"] > 0
    assert report["duplicates_merged"] == 0 and report["expired"] == 0
    assert after["memories"] == 2


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"text": "   "}, "must not be empty"),
        ({"text": "hello", "when": "last tuesday"}, "ISO 8601"),
        ({}, "text"),
    ],
)
async def test_bad_arguments_are_tool_errors(
    tmp_path: Path, arguments: dict[str, Any], message: str
) -> None:
    async with connected(tmp_path) as client:
        result = await client.call_tool("remember", arguments)
        counts = await call(client, "stats")
    assert result.is_error
    assert message in result.content[0].text  # type: ignore[union-attr]
    assert counts["memories"] == 0


async def test_stdio_command_uses_the_environment_and_persists(tmp_path: Path) -> None:
    db = tmp_path / "agent.db"
    env = {**os.environ, "NEURAL_MEMORY_DB": str(db), "NEURAL_MEMORY_BRAIN": "agent"}
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "neural_memory.mcp"], env=env
    )
    async with Client(params) as first:
        await call(first, "remember", text="The deploy key rotates every Friday")
    async with Client(params) as second:
        recalled = await call(second, "recall", query="When does the deploy key rotate?")
        assert "Friday" in recalled["context"]
        assert (await call(second, "stats"))["brain"] == "agent"
    async with SQLiteStorage(db) as storage:
        assert [b.name for b in await storage.list_brains()] == ["agent"]
