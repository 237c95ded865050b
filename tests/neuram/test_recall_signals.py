"""Recall analyses and embeds each query once, and hands both to the engine."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import neural_memory.engine.retrieval.pipeline as pipeline_module
import neuram.activation as activation_module
from neural_memory import Brain as EngineBrain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.storage import SQLiteStorage
from neuram._codec import engram_metadata, engram_tags, moment
from neuram.engram import Engram
from neuram.regions.hippocampus import Hippocampus
from tests.neuram.conftest import FakeClock, OpenBrain

QUERY = "what did I buy for the car"
WORDS = ["car", "soup", "garden", "guitar"]


def topic_vectors(texts: list[str]) -> list[list[float]]:
    """One axis per topic word, so the model is deterministic and meaningful."""
    return [[float(word in text.lower()) + 0.01 for word in WORDS] for text in texts]


def counting(fn: Callable[..., Any], calls: list[str]) -> Callable[..., Any]:
    def wrapper(text: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(text)
        return fn(text, *args, **kwargs)

    return wrapper


async def test_recall_extracts_and_embeds_its_query_once(
    open_brain: OpenBrain, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    embedded: list[str] = []

    def model(texts: list[str]) -> list[list[float]]:
        embedded.extend(texts)
        return topic_vectors(texts)

    brain = await open_brain(embedder=model)
    await brain.perceive("I bought winter tyres for the car")
    await brain.perceive("Grandma's chicken soup recipe uses thyme")
    await brain.sleep()  # these two are long-term now; the next one stays in the hippocampus
    clock.advance(hours=1)
    await brain.perceive("I washed the car on Sunday")
    extracted: list[str] = []
    for module in (activation_module, pipeline_module):
        monkeypatch.setattr(module, "extract", counting(module.extract, extracted))

    results = await brain.recall(QUERY, top_k=3)

    assert {engram.content for engram, _ in results} >= {
        "I bought winter tyres for the car",
        "I washed the car on Sunday",
    }
    assert extracted.count(QUERY) == 1
    assert embedded.count(QUERY) == 1


async def test_vectors_an_older_release_kept_in_metadata_are_not_embedded_again(
    open_brain: OpenBrain, db_path: Path
) -> None:
    texts = ["I bought a new car yesterday", "Grandma's chicken soup recipe uses thyme"]
    storage = SQLiteStorage(db_path)
    await storage.initialize()
    brain = EngineBrain.create("neuram")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    engrams = [Engram(t, embedding=topic_vectors([t])[0], consolidated=True) for t in texts]
    await MemoryEncoder(storage, brain.config).encode_many(
        [
            MemoryInput(  # as an older release wrote them: the vector in the metadata only
                text=e.content,
                timestamp=moment(e.created_at),
                metadata=engram_metadata(e, "callable:model"),
                tags=engram_tags(e),
            )
            for e in engrams
        ]
    )
    await storage.close()
    seen: list[str] = []

    def model(texts: list[str]) -> list[list[float]]:
        seen.extend(texts)
        return topic_vectors(texts)

    reopened = await open_brain(path=db_path, embedder=model)
    results = await reopened.recall("automobile car", top_k=1)
    assert results[0][0].content == "I bought a new car yesterday"
    assert seen == ["dimension probe", "automobile car"]
    stored = await reopened.longterm.storage.get_vectors("callable:model")
    assert len(stored) == 2  # moved into storage: the next open reads them from there


def test_the_hippocampus_still_completes_patterns_after_compacting_its_rows() -> None:
    hippocampus = Hippocampus(clock=FakeClock())
    engrams = [Engram(f"note {i} about topic{i}") for i in range(2100)]
    for engram in engrams:
        hippocampus.encode(engram)
    for engram in engrams[:1100]:  # more dead rows than live ones: the rows are rebuilt
        hippocampus.remove(engram.engram_id)
    assert len(hippocampus) == 1000
    (found, _), *_ = hippocampus.pattern_complete("topic2050", top_k=1)
    assert found is engrams[2050]
    assert hippocampus.pattern_complete("topic5", top_k=1) == []
