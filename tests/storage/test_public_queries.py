"""The public Storage queries the storage RPC routes use: by ids, and typed memories by fiber."""

from __future__ import annotations

from neural_memory.core.alert import Alert, AlertSeverity, AlertType
from neural_memory.core.brain import Brain
from neural_memory.core.project import Project
from neural_memory.core.typed_memory import MemoryType, TypedMemory
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.storage import InMemoryStorage


async def test_queries_by_ids_and_by_fiber() -> None:
    async with InMemoryStorage() as storage:
        brain = Brain.create("queries")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config)
        first = (await encoder.encode("Ada ships the parser on Monday")).fiber.id
        second = (await encoder.encode("Ben reviews the parser on Tuesday")).fiber.id
        todo = TypedMemory.create(first, MemoryType.TODO)
        fact = TypedMemory.create(second, MemoryType.FACT)
        for memory in (todo, fact):
            await storage.add_typed_memory(memory)
        alpha, beta = Project.create("alpha"), Project.create("beta")
        for project in (alpha, beta):
            await storage.add_project(project)
        alerts = [
            Alert.create(AlertType.STALE_FIBERS, AlertSeverity.INFO, f"alert {n}") for n in range(3)
        ]
        await storage.add_alerts(alerts)

        assert set(await storage.get_typed_memories([todo.id, "missing"])) == {todo.id}
        assert await storage.get_typed_memories([]) == {}
        by_fiber = await storage.find_typed_memories(fiber_ids=[second])
        assert [m.id for m in by_fiber] == [fact.id]
        todos_of_second = await storage.find_typed_memories(MemoryType.TODO, fiber_ids=[second])
        assert todos_of_second == []
        assert [p.id for p in await storage.get_projects([beta.id, "missing"])] == [beta.id]
        assert await storage.get_projects([]) == []
        picked = await storage.get_alerts(ids=[alerts[0].id, alerts[2].id])
        assert {a.id for a in picked} == {alerts[0].id, alerts[2].id}
