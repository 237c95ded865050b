"""Long texts are planned off the event loop, with the same result as inline planning."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from neural_memory.core.brain import Brain
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.storage import InMemoryStorage

LONG = " ".join(f"Dana met Eve in Rome on day {i} to plan the launch" for i in range(2_500))
WHEN = datetime(2024, 5, 1, tzinfo=UTC)


async def _encoded(planner: ThreadPoolExecutor | None, text: str) -> tuple[object, ...]:
    async with InMemoryStorage() as storage:
        brain = Brain.create("planner")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, planner=planner)
        result = await encoder.encode(text, timestamp=WHEN, metadata={"speaker": "Dana"})
        return (
            result.fiber.id,
            result.fiber.pathway,
            sorted(n.id for n in result.neurons_created),
            sorted(s.id for s in result.synapses_created),
        )


@pytest.mark.parametrize("text", [LONG, "Dana met Eve in Rome yesterday"])
async def test_a_planner_plans_like_the_event_loop(text: str) -> None:
    with ThreadPoolExecutor(max_workers=1) as planner:
        assert await _encoded(planner, text) == await _encoded(None, text)
