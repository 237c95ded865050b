"""A small but lively brain for the dashboard tests: a team story, a fact that changed,
typed memories, recalls that reinforced memories and open health alerts."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from neural_memory import Brain
from neural_memory.core.alert import Alert, AlertSeverity, AlertType
from neural_memory.core.typed_memory import MemoryType, Priority, TypedMemory
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import Storage

__all__ = ["MULTI_HOP_QUESTION", "PATH_QUESTION", "SeededBrain", "seed"]

MULTI_HOP_QUESTION = "Who leads the team of the person who fixed the login crash?"
PATH_QUESTION = "Who is the boss of the person who fixed the login crash?"
"""Shares no word with the answer (Carol leads the mobile team): reached through Dan."""

_START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=40)
_STORY = [
    "Carol leads the mobile team",
    "Dan joined the mobile team in May",
    "Dan fixed the login crash",
    "Erin runs the data platform team",
    "Farid moved from the data platform team to the mobile team",
    "The wifi password is tulip-42",
    "Grace reviewed the billing service rewrite",
    "The release train leaves every second Thursday",
    "Hiro wrote the onboarding guide for new engineers",
    "The office coffee machine was repaired by Isabel",
    "Jonas prefers tea over coffee in the morning",
    "The staging database migration finished without errors",
    "Kenji planned the offsite in Lisbon",
    "Leila found a memory leak in the image cache",
    "The wifi password is orchid-77",
]


@dataclass(frozen=True, slots=True)
class SeededBrain:
    """Ids the tests look for."""

    brain_id: str
    carol: str
    old_wifi: str
    new_wifi: str
    alert_ids: tuple[str, ...]


def seed(storage: Storage) -> SeededBrain:
    """Fill ``storage`` with the brain (run before the storage is served).

    It runs in a thread of its own: Playwright's sync API keeps an event loop on this one.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _seed(storage)).result()


async def _seed(storage: Storage) -> SeededBrain:
    brain = Brain.create("team")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config)
    ids = []
    for day, text in enumerate(_STORY):
        result = await encoder.encode(text, timestamp=_START + timedelta(days=2 * day, hours=9))
        ids.append(result.fiber.id)
    await storage.add_typed_memory(
        TypedMemory.create(ids[6], MemoryType.DECISION, Priority.HIGH, tags=["billing"])
    )
    await storage.add_typed_memory(TypedMemory.create(ids[10], MemoryType.PREFERENCE))
    await storage.add_typed_memory(TypedMemory.create(ids[7], MemoryType.FACT))
    pipeline = ReflexPipeline(storage, brain.config)
    questions = (MULTI_HOP_QUESTION, "Who leads the mobile team?", "What is the wifi password?")
    for question in questions:
        await pipeline.query(question)
    alerts = (
        Alert.create(
            AlertType.LOW_CONNECTIVITY,
            AlertSeverity.WARNING,
            "Few synapses per neuron: activation spreads poorly",
            metric_value=0.4,
            threshold=0.5,
        ),
        Alert.create(
            AlertType.STALE_FIBERS,
            AlertSeverity.INFO,
            "Some memories were not used for 90 days",
            metric_value=120,
            threshold=90,
        ),
    )
    await storage.add_alerts(alerts)
    return SeededBrain(
        brain_id=brain.id,
        carol=ids[0],
        old_wifi=ids[5],
        new_wifi=ids[14],
        alert_ids=tuple(a.id for a in alerts),
    )
