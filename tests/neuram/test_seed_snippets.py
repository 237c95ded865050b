"""Each snippet of the seed's "A few things worth knowing" runs verbatim, and does what it says."""

from __future__ import annotations

import asyncio
import math

import pytest

from neuram import Brain, Engram, Hippocampus, MemoryType, compute_retention, time_until_forgotten
from tests.neuram.conftest import FakeClock, OpenBrain
from tests.neuram.seed import run_snippet

BACKGROUND_SLEEP = """
brain = await Brain.create(redis_url="redis://localhost", sleep_interval_seconds=30.0)
await brain.start_sleep_cycle()
# your agent does its thing
await brain.stop_sleep_cycle()
"""

FORGET = """
await brain.forget(engram.engram_id)
"""

RETENTION = """
from neuram import compute_retention, time_until_forgotten

compute_retention(engram)       # 0.73 — still pretty strong
time_until_forgotten(engram)    # 4.2 hours left before it drops below threshold
"""

HIPPOCAMPUS = """
from neuram import Hippocampus

hpc = Hippocampus()
results = hpc.pattern_complete("what did we discuss about Redis?", top_k=10)
"""


async def test_background_sleep_snippet(default_redis_brain: str) -> None:
    # The snippet's URL has no port; the test's redis-server has its own (nothing else changes).
    namespace: dict[str, object] = {"Brain": Brain}
    try:
        await run_snippet(BACKGROUND_SLEEP, namespace, {"redis://localhost": default_redis_brain})
        brain = namespace["brain"]
        assert isinstance(brain, Brain)
        assert brain.sleep_cycle.interval_seconds == 30.0
        assert not brain.sleep_cycle.running
        tasks = {t.get_name() for t in asyncio.all_tasks()}
        assert "neuram-sleep-cycle" not in tasks
    finally:
        brain = namespace.get("brain")
        if isinstance(brain, Brain):
            await brain.close()


async def test_background_sleep_consolidates_while_the_agent_works(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain(sleep_interval_seconds=0.01)
    engram = await brain.perceive("The deploy key lives in the team vault")
    assert engram is not None and not engram.consolidated
    await brain.start_sleep_cycle()
    assert brain.sleep_cycle.running
    async with asyncio.timeout(10):
        while brain.sleep_cycle.cycles_completed < 2:
            await asyncio.sleep(0.01)
    await brain.stop_sleep_cycle()
    assert not brain.sleep_cycle.running
    assert engram.consolidated and engram.region == "neocortex"
    assert brain.sleep_cycle.last_error is None
    assert [e.content for e in await brain.neocortex.engrams()] == [engram.content]


async def test_forget_snippet(open_brain: OpenBrain, redis_url: str, redis_namespace: str) -> None:
    brain = await open_brain(redis_url=redis_url, namespace=redis_namespace)
    engram = await brain.perceive("My locker code is 4471", memory_type=MemoryType.SEMANTIC)
    assert engram is not None
    await brain.sleep()
    assert await brain.neocortex.get(engram.engram_id) is not None
    await run_snippet(FORGET, {"brain": brain, "engram": engram})
    assert await brain.neocortex.get(engram.engram_id) is None
    assert engram.engram_id not in brain.prefrontal_cortex
    assert await brain.recall("locker code") == []


async def test_retention_snippet_matches_the_documented_figures() -> None:
    # An engram of stability 1.56 h last used 0.49 h ago: the figures the seed's comments show.
    import time

    stability, elapsed = 1.56, -math.log(0.73) * 1.56
    engram = Engram("Standup moved to 10am", stability=stability)
    engram.last_access = time.time() - elapsed * 3600
    namespace = await run_snippet(RETENTION, {"engram": engram})
    assert namespace["compute_retention"] is compute_retention
    assert namespace["time_until_forgotten"] is time_until_forgotten
    assert compute_retention(engram) == pytest.approx(0.73, abs=0.005)
    assert time_until_forgotten(engram) == pytest.approx(4.2, abs=0.05)


async def test_hippocampus_snippet_works_standalone() -> None:
    namespace = await run_snippet(HIPPOCAMPUS, {})
    assert isinstance(namespace["hpc"], Hippocampus)
    assert namespace["results"] == []  # a fresh hippocampus remembers nothing


def test_hippocampus_pattern_completes_partial_cues(clock: FakeClock) -> None:
    hpc = Hippocampus(clock=clock)
    for text in (
        "We discussed moving the session cache to Redis",
        "Lunch with Priya at the ramen bar",
        "Redis needs maxmemory-policy allkeys-lru for the cache",
        "The quarterly report is due on Friday",
    ):
        hpc.encode(Engram(text, created_at=clock()), now=clock())
        clock.advance(hours=2)  # far apart: no temporal association
    results = hpc.pattern_complete("what did we discuss about Redis?", top_k=10)
    contents = [engram.content for engram, _ in results]
    assert contents[0] == "We discussed moving the session cache to Redis"
    assert set(contents) == {contents[0], "Redis needs maxmemory-policy allkeys-lru for the cache"}
    assert all(0 < score <= 1 for _, score in results)
    # an equal cue: the more vivid (more recent) memory comes first
    assert hpc.pattern_complete("Redis", top_k=1)[0][0].content.startswith("Redis needs")


def test_pattern_completion_spreads_through_temporal_associations(clock: FakeClock) -> None:
    hpc = Hippocampus(clock=clock)
    trip = hpc.encode(Engram("Booked the Paris trip", created_at=clock()))
    clock.advance(20)
    tower = hpc.encode(Engram("Visited the Eiffel Tower at sunset", created_at=clock()))
    clock.advance(days=1)
    hpc.encode(Engram("Dentist appointment on Tuesday", created_at=clock()))
    assert tower.associations and tower.associations[0][0] == trip.engram_id
    results = dict((e.content, s) for e, s in hpc.pattern_complete("Paris"))
    assert set(results) == {"Booked the Paris trip", "Visited the Eiffel Tower at sunset"}
    # one hop: 0.6 x the edge weight of the direct activation (both equally vivid here)
    weight = tower.associations[0][1]
    assert results["Visited the Eiffel Tower at sunset"] == pytest.approx(
        results["Booked the Paris trip"] * 0.6 * weight, rel=0.05
    )


def test_the_hippocampus_stays_correct_as_engrams_come_and_go(clock: FakeClock) -> None:
    hpc = Hippocampus(clock=clock)
    engrams = []
    for n in range(2100):
        vector = [float(n % 3 == 0), float(n % 3 == 1), 1.0]
        engram = Engram(
            f"Shipment {n} left warehouse {n % 7}", embedding=vector, created_at=clock()
        )
        engrams.append(hpc.encode(engram))
        clock.advance(hours=1)
    for engram in engrams[:2000]:
        assert hpc.remove(engram.engram_id)
    assert len(hpc) == 100 and engrams[5].engram_id not in hpc
    found = hpc.pattern_complete("shipment 2050", top_k=3, query_embedding=[0.0, 1.0, 0.0])
    assert found[0][0] is engrams[2050]  # 2050 % 3 == 1: both cue and vector point at it
    assert all(e in engrams[2000:] for e, _ in found)
