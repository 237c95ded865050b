"""Context optimizer: composite score, freshness, and packing under a hard token budget."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from neural_memory.core import (
    Brain,
    Fiber,
    MemoryType,
    Neuron,
    NeuronType,
    Priority,
    TypedMemory,
)
from neural_memory.engine.context_optimizer import (
    FRESHNESS_HALF_LIFE_DAYS,
    compute_composite_score,
    freshness_score,
    optimize_context,
)
from neural_memory.engine.tokens import count_tokens
from neural_memory.errors import ValidationError
from neural_memory.storage import InMemoryStorage, WriteBatch
from neural_memory.storage.filters import TypedMemoryFilter
from tests.seed_exec import run_seed_sample

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


class CountingStorage(InMemoryStorage):
    """An InMemoryStorage that counts typed-memory reads (a spy, not a mock)."""

    def __init__(self) -> None:
        super().__init__()
        self.typed_memory_reads = 0

    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]:
        self.typed_memory_reads += 1
        return await super()._find_typed_memories(brain_id, query)


@pytest.fixture
async def storage() -> CountingStorage:
    store = CountingStorage()
    brain = Brain.create("context")
    await store.save_brain(brain)
    store.set_brain(brain.id)
    return store


async def add_memory(
    storage: InMemoryStorage,
    content: str,
    *,
    created_at: datetime = NOW,
    access_count: int = 0,
    conductivity: float = 1.0,
) -> Fiber:
    neuron = Neuron.create(NeuronType.CONCEPT, f"n {content}", created_at=created_at)
    await storage.write(WriteBatch(ensure_neurons=(neuron,)))
    fiber = Fiber.create([neuron.id], content=content, created_at=created_at)
    fiber = replace(fiber, access_count=access_count, conductivity=conductivity)
    await storage.add_fiber(fiber)
    return fiber


# -- the seed sample -----------------------------------------------------------------------

SEED_SAMPLE = """
from neural_memory.engine.context_optimizer import (
    optimize_context,
    compute_composite_score,
    ContextItem,
    ContextPlan,
)

# Optimize fibers for context injection
plan = await optimize_context(storage, fibers, max_tokens=4000)

print(f"Items: {len(plan.items)}")
print(f"Tokens used: {plan.total_tokens}")
print(f"Dropped: {plan.dropped_count}")

for item in plan.items:
    print(f"  {item.fiber_id}: score={item.score:.3f}, tokens={item.token_count}")
"""


async def test_seed_sample_runs_and_ranks_the_critical_decision_first(
    storage: CountingStorage, capsys: pytest.CaptureFixture[str]
) -> None:
    chat = await add_memory(storage, "Met with team to discuss architecture")
    decision = await add_memory(storage, "DECISION: Use microservices. REASON: Better scaling")
    await storage.add_typed_memory(
        TypedMemory.create(decision.id, MemoryType.DECISION, priority=Priority.CRITICAL)
    )
    old = await add_memory(storage, "Met with team to discuss architecture")  # duplicate text
    namespace = await run_seed_sample(
        SEED_SAMPLE, {"storage": storage, "fibers": [chat, decision, old]}
    )

    plan = namespace["plan"]
    assert plan.items[0].fiber_id == decision.id
    assert len(plan.items) == 2 and plan.dropped_count == 1
    out = capsys.readouterr().out
    assert "Items: 2" in out and f"Tokens used: {plan.total_tokens}" in out and "Dropped: 1" in out
    assert f"  {decision.id}: score=" in out


# -- pure scoring --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("factors", "expected"),
    [
        ({"activation": 1.0}, 0.30),
        ({"priority": 10}, 0.25),
        ({"priority": 5}, 0.125),
        ({"access_count": 20}, 0.20),
        ({"access_count": 10}, 0.10),
        ({"access_count": 500}, 0.20),
        ({"conductivity": 1.0}, 0.15),
        ({"freshness": 1.0}, 0.10),
        (
            {
                "activation": 1.0,
                "priority": 10,
                "access_count": 20,
                "conductivity": 1.0,
                "freshness": 1.0,
            },
            1.0,
        ),
    ],
)
def test_composite_score_uses_the_documented_weights(
    factors: dict[str, float], expected: float
) -> None:
    zero = {
        "activation": 0.0,
        "priority": 0,
        "access_count": 0,
        "conductivity": 0.0,
        "freshness": 0.0,
    }
    score = compute_composite_score(**{**zero, **factors})  # type: ignore[arg-type]
    assert score == pytest.approx(expected)


def test_freshness_halves_every_half_life() -> None:
    assert freshness_score(NOW, NOW) == 1.0
    assert freshness_score(NOW + timedelta(days=3), NOW) == 1.0
    half = NOW - timedelta(days=FRESHNESS_HALF_LIFE_DAYS)
    assert freshness_score(half, NOW) == pytest.approx(0.5)
    assert freshness_score(half - timedelta(days=FRESHNESS_HALF_LIFE_DAYS), NOW) == pytest.approx(
        0.25
    )


# -- optimize_context ----------------------------------------------------------------------


async def test_budget_is_never_exceeded(storage: CountingStorage) -> None:
    rng = random.Random(11)
    words = "alice bob deploy database migration cache latency decided postgres redis".split()
    fibers = [
        await add_memory(storage, " ".join(rng.choice(words) for _ in range(rng.randint(3, 120))))
        for _ in range(40)
    ]
    for budget in (0, 1, 7, 30, 100, 333, 1000, 100_000):
        plan = await optimize_context(storage, fibers, max_tokens=budget, now=NOW)
        assert plan.total_tokens <= budget
        assert plan.total_tokens == sum(item.token_count for item in plan.items)
        assert all(item.token_count == count_tokens(item.content) for item in plan.items)
        assert plan.dropped_count == len(fibers) - len(plan.items)
    assert len((await optimize_context(storage, fibers, max_tokens=100_000)).items) == 40


async def test_priorities_are_read_in_one_storage_call(storage: CountingStorage) -> None:
    fibers = [await add_memory(storage, f"memory number {i}") for i in range(25)]
    for fiber in fibers[:10]:
        await storage.add_typed_memory(TypedMemory.create(fiber.id, MemoryType.FACT))
    storage.typed_memory_reads = 0
    await optimize_context(storage, fibers, max_tokens=500, now=NOW)
    assert storage.typed_memory_reads == 1


async def test_expired_and_superseded_memories_are_skipped(storage: CountingStorage) -> None:
    current = await add_memory(storage, "The API runs on port 8080")
    stale = await add_memory(storage, "The API runs on port 8000")
    stale = stale.superseded(current.id)
    await storage.update_fiber(stale)
    expiring = await add_memory(storage, "Sprint demo is on Friday")
    await storage.add_typed_memory(
        TypedMemory.create(expiring.id, MemoryType.TODO, expires_in_days=1, created_at=NOW)
    )

    before = await optimize_context(storage, [current, stale, expiring], now=NOW)
    after = await optimize_context(storage, [current, stale, expiring], now=NOW + timedelta(days=2))

    assert {item.fiber_id for item in before.items} == {current.id, expiring.id}
    assert [item.fiber_id for item in after.items] == [current.id]
    assert after.dropped_count == 2


async def test_ranking_follows_priority_activation_and_freshness(storage: CountingStorage) -> None:
    low = await add_memory(storage, "Lunch was pasta")
    high = await add_memory(storage, "Never deploy on Fridays")
    await storage.add_typed_memory(
        TypedMemory.create(low.id, MemoryType.FACT, priority=Priority.LOW)
    )
    await storage.add_typed_memory(
        TypedMemory.create(high.id, MemoryType.INSTRUCTION, priority=Priority.HIGH)
    )
    plan = await optimize_context(storage, [low, high], now=NOW)
    assert [item.fiber_id for item in plan.items] == [high.id, low.id]
    assert plan.items[0].priority == Priority.HIGH
    assert plan.items[0].memory_type is MemoryType.INSTRUCTION

    boosted = await optimize_context(storage, [low, high], activations={low.id: 1.0}, now=NOW)
    assert [item.fiber_id for item in boosted.items] == [low.id, high.id]
    assert boosted.items[0].activation == 1.0

    fresh = await add_memory(storage, "Standup moved to 10am")
    old = await add_memory(storage, "Standup moved to 9am", created_at=NOW - timedelta(days=200))
    plan = await optimize_context(storage, [old, fresh], now=NOW)
    assert [item.fiber_id for item in plan.items] == [fresh.id, old.id]


async def test_duplicate_content_keeps_the_best_copy(storage: CountingStorage) -> None:
    weak = await add_memory(storage, "Alice prefers  dark mode", conductivity=0.2)
    strong = await add_memory(storage, "alice prefers dark mode", access_count=20)
    plan = await optimize_context(storage, [weak, strong, strong], now=NOW)
    assert [item.fiber_id for item in plan.items] == [strong.id]
    assert plan.dropped_count == 1


async def test_a_smaller_memory_fills_the_remaining_budget(storage: CountingStorage) -> None:
    big = await add_memory(storage, "architecture " * 200, access_count=20)
    small = await add_memory(storage, "Use FastAPI")
    budget = count_tokens("Use FastAPI") + 5
    plan = await optimize_context(storage, [big, small], max_tokens=budget, now=NOW)
    assert [item.fiber_id for item in plan.items] == [small.id]


async def test_the_best_memory_is_truncated_when_nothing_fits(storage: CountingStorage) -> None:
    big = await add_memory(storage, "The migration plan has many steps. " * 100)
    plan = await optimize_context(storage, [big], max_tokens=40, now=NOW)
    assert len(plan.items) == 1 and plan.items[0].truncated
    assert plan.total_tokens <= 40
    assert big.content.startswith(plan.items[0].content)


async def test_empty_input_needs_no_storage(storage: CountingStorage) -> None:
    plan = await optimize_context(storage, [])
    assert plan.items == () and plan.total_tokens == 0 and plan.dropped_count == 0
    assert storage.typed_memory_reads == 0


async def test_invalid_arguments_are_refused(storage: CountingStorage) -> None:
    fiber = await add_memory(storage, "x marks the spot")
    with pytest.raises(ValidationError):
        await optimize_context(storage, [fiber], max_tokens=-1)
    with pytest.raises(ValidationError):
        await optimize_context(storage, fiber)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await optimize_context(storage, [fiber], activations={fiber.id: "high"})  # type: ignore[dict-item]
