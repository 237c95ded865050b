"""Brain behaviour end to end: restarts, decay everywhere, strengthening saved, embedders."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import numpy as np
import pytest

from neural_memory.errors import ConfigError, EmbeddingError, StorageClosedError, ValidationError
from neuram import Brain, MemoryType
from tests.neuram.conftest import FakeClock, OpenBrain


@pytest.fixture(params=["sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, object]:
    """Options that open the same long-term stores again (SQLite file or Redis namespace)."""
    if request.param == "sqlite":
        return {"path": tmp_path / "brain.db"}
    return {
        "redis_url": request.getfixturevalue("redis_url"),
        "namespace": request.getfixturevalue("redis_namespace"),
    }


async def test_a_new_brain_recalls_what_an_old_one_consolidated(
    open_brain: OpenBrain, store: dict[str, object], clock: FakeClock
) -> None:
    first = await open_brain(**store)
    await first.perceive("Our office wifi is called Nebula-5G", memory_type=MemoryType.SEMANTIC)
    await first.perceive("Lunch with Priya at the ramen bar")
    await first.sleep()
    await first.close()
    assert first.closed

    second = await open_brain(**store)
    clock.advance(hours=1)
    results = await second.recall("what is the office wifi called?")
    assert results[0][0].content == "Our office wifi is called Nebula-5G"
    assert results[0][0].region == "neocortex" and results[0][0].access_count == 1
    await second.close()

    third = await open_brain(**store)  # the strengthening of that recall was stored
    stored = await third.neocortex.get(results[0][0].engram_id)
    assert stored is not None and stored.access_count == 1
    assert stored.stability == pytest.approx(results[0][0].stability)


async def test_a_memory_recalled_six_times_survives_the_sleep_that_prunes_its_peer(
    open_brain: OpenBrain, store: dict[str, object], clock: FakeClock
) -> None:
    brain = await open_brain(**store)
    await brain.perceive("The VPN token resets every Monday")
    await brain.perceive("Marco prefers tea over coffee")
    await brain.sleep()
    for _ in range(6):
        clock.advance(hours=2)
        assert (await brain.recall("VPN token reset", top_k=1))[0][0].content.startswith("The VPN")
    clock.advance(hours=3)
    stats = await brain.sleep()
    assert stats["pruned_ltm"] == 1
    assert [e.content for e in await brain.neocortex.engrams()] == [
        "The VPN token resets every Monday"
    ]


async def test_memories_never_consolidated_fade_too(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain()
    faint = await brain.perceive("The vending machine takes coins only", salience=0.3)
    assert faint is not None
    clock.advance(120)  # out of working memory, low salience, never recalled: stays put
    stats = await brain.sleep()
    assert stats == {"consolidated": 0, "pruned_wm": 1, "pruned_ltm": 0}
    assert faint.engram_id in brain.hippocampus
    assert (await brain.recall("vending machine coins"))[0][0] is faint
    clock.advance(hours=2)
    stats = await brain.sleep()  # recalled once: it earned consolidation
    assert stats["consolidated"] == 1 and faint.consolidated
    other = await brain.perceive("The fire drill is scheduled for noon", salience=0.3)
    assert other is not None
    clock.advance(hours=8)
    stats = await brain.sleep()
    assert other.engram_id not in brain.hippocampus  # faded in the hippocampus: forgotten
    assert stats["pruned_ltm"] == 2  # and the consolidated one faded in the neocortex
    assert await brain.recall("fire drill noon") == []
    assert await brain.recall("vending machine coins") == []


async def test_perceiving_the_same_content_again_rehearses_it(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain()
    first = await brain.perceive("Deploys happen on Tuesdays", memory_type=MemoryType.SEMANTIC)
    clock.advance(30)
    again = await brain.perceive("deploys happen on tuesdays", memory_type=MemoryType.HABITUAL)
    assert again is first and first.access_count == 1
    assert first.memory_type is MemoryType.SEMANTIC
    await brain.sleep()
    clock.advance(hours=1)
    stored = await brain.perceive("Deploys happen on Tuesdays")
    assert stored is not None and stored.consolidated and stored.access_count == 2
    assert (await brain.neocortex.get(first.engram_id)).access_count == 2  # type: ignore[union-attr]
    assert len(await brain.neocortex.engrams()) == 1


async def test_without_embeddings_recall_is_lexical(open_brain: OpenBrain) -> None:
    brain = await open_brain(embeddings=False)
    await brain.perceive("The cat sleeps on the radiator")
    await brain.perceive("Quarterly taxes are due in April")
    await brain.sleep()
    await brain.perceive("The cat knocked over the plant")
    results = await brain.recall("cat")
    assert {e.content for e, _ in results} >= {
        "The cat sleeps on the radiator",
        "The cat knocked over the plant",
    }
    assert all(e.vector is None for e, _ in results)


def _topic_vectors(texts: list[str]) -> list[list[float]]:
    """A toy embedding model: vehicles on one axis, food on another."""
    vehicles, food = ("car", "automobile", "truck"), ("soup", "broth", "noodles")
    return [
        [
            float(any(w in t.lower() for w in vehicles)),
            float(any(w in t.lower() for w in food)),
            0.1,
        ]
        for t in texts
    ]


async def _async_topic_vectors(texts: list[str]) -> list[list[float]]:
    await asyncio.sleep(0)
    return _topic_vectors(texts)


@pytest.mark.parametrize("model", [_topic_vectors, _async_topic_vectors])
async def test_any_callable_can_be_the_embedding_model(
    open_brain: OpenBrain, model: object
) -> None:
    brain = await open_brain(embedder=model)
    await brain.perceive("I bought a new car yesterday")
    await brain.perceive("Grandma's chicken soup recipe uses thyme")
    await brain.sleep()
    await brain.perceive("The ramen place has great noodles")
    # no word in common with the memories: only the embedding can find them
    results = await brain.recall("automobile", top_k=1)
    assert results[0][0].content == "I bought a new car yesterday"
    broth = [e.content for e, _ in await brain.recall("broth", top_k=2)]
    assert set(broth) == {
        "Grandma's chicken soup recipe uses thyme",
        "The ramen place has great noodles",
    }


async def test_embedding_runs_in_batches_off_the_event_loop(open_brain: OpenBrain) -> None:
    calls: list[tuple[int, bool]] = []

    def model(texts: list[str]) -> np.ndarray:
        calls.append((len(texts), threading.current_thread() is threading.main_thread()))
        return np.ones((len(texts), 4), dtype=np.float32)

    brain = await open_brain(embedder=model)
    calls.clear()  # the dimension probe
    for n in range(20):
        await brain.perceive(f"Inventory note {n}: shelf {n} restocked with paper")
    await brain.recall("shelf paper")
    embedded = sum(size for size, _ in calls if size > 1)
    assert len(calls) < 20 and embedded >= 10
    assert not any(on_loop for _, on_loop in calls)
    assert all(e.vector is not None for e in brain.hippocampus.engrams())


async def test_a_closed_brain_refuses_work_and_close_is_idempotent(
    open_brain: OpenBrain, redis_url: str, redis_namespace: str
) -> None:
    brain = await open_brain(redis_url=redis_url, namespace=redis_namespace)
    await brain.start_sleep_cycle()
    await brain.close()
    await brain.close()
    assert not brain.sleep_cycle.running and brain.longterm.storage.closed
    with pytest.raises(StorageClosedError):
        await brain.perceive("Anything at all to remember")
    with pytest.raises(StorageClosedError):
        await brain.recall("anything")


async def test_arguments_are_validated(open_brain: OpenBrain) -> None:
    brain = await open_brain()
    with pytest.raises(ValidationError):
        await brain.perceive("   ")
    with pytest.raises(ValidationError):
        await brain.perceive("A real memory here", memory_type="dream")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await brain.perceive("A real memory here", salience=2.0)
    with pytest.raises(ValidationError):
        await brain.perceive("A real memory here", reward=5.0)
    with pytest.raises(ValidationError):
        await brain.recall("query", top_k=0)
    with pytest.raises(ConfigError):
        await Brain.create(storage=brain.longterm.storage, redis_url="redis://x")
    with pytest.raises(ConfigError):
        await Brain.create(storage=brain.longterm.storage, embedder="not a model")


async def test_concurrent_perceive_recall_and_sleep_take_turns(open_brain: OpenBrain) -> None:
    brain = await open_brain()
    texts = [f"Ticket {n}: the printer on floor {n} jams on A3 paper" for n in range(30)]
    await asyncio.gather(
        *(brain.perceive(t) for t in texts[:15]),
        brain.sleep(),
        *(brain.perceive(t) for t in texts[15:]),
        brain.recall("printer jams"),
    )
    await brain.sleep()
    stored = {e.content for e in await brain.neocortex.engrams()}
    assert stored == set(texts) and len(brain.hippocampus) == 0


async def test_a_restarted_brain_does_not_embed_its_memories_again(
    open_brain: OpenBrain, db_path: Path
) -> None:
    seen: list[str] = []

    def model(texts: list[str]) -> list[list[float]]:
        seen.extend(texts)
        return _topic_vectors(texts)

    first = await open_brain(path=db_path, embedder=model)
    await first.perceive("I bought a new car yesterday")
    await first.perceive("Grandma's chicken soup recipe uses thyme")
    await first.sleep()
    await first.close()
    seen.clear()
    second = await open_brain(path=db_path, embedder=model)
    results = await second.recall("automobile", top_k=1)
    assert results[0][0].content == "I bought a new car yesterday"
    assert seen == ["dimension probe", "automobile"]  # only the probe and the query


async def test_a_failing_embedder_surfaces_at_recall_not_at_perceive(
    open_brain: OpenBrain,
) -> None:
    calls = 0

    def flaky(texts: list[str]) -> list[list[float]]:
        nonlocal calls
        calls += 1
        if calls == 2:  # the first background batch
            raise EmbeddingError("model crashed")
        return [[1.0, 0.0]] * len(texts)

    brain = await open_brain(embedder=flaky)
    engram = await brain.perceive("The backup runs at midnight")
    assert engram is not None
    with pytest.raises(EmbeddingError):
        await brain.recall("backup")
    results = await brain.recall("backup")  # reported once; lexical recall still works
    assert results[0][0] is engram
