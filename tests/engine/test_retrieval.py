"""Retrieval: multi-hop recall, hubs that cannot drown the signal, budgets, reinforcement."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from neural_memory import BrainConfig, ValidationError
from neural_memory.core import MemoryType, TypedMemory
from neural_memory.engine.embeddings import HashingEmbedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.retrieval import DepthLevel, FusionWeights, ReflexPipeline
from neural_memory.engine.retrieval.index import BrainIndex
from neural_memory.engine.retrieval.ranking import thread_boost
from neural_memory.engine.retrieval.scoring import relative_similarity
from neural_memory.engine.tokens import count_tokens
from neural_memory.storage import Storage
from neural_memory.storage._core import FiberRows

START = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
TEAM_FACTS = [
    "Carol leads the mobile team",
    "Dan joined the mobile team in May",
    "Dan fixed the login crash",
]


def filler(count: int) -> list[MemoryInput]:
    """Unrelated memories that all share one speaker and one day (hubs)."""
    topics = ["pottery", "marathon", "sourdough", "chess", "guitar", "gardening", "kayak"]
    return [
        MemoryInput(
            text=f"Ben talked about {topics[i % len(topics)]} practice number {i} with friends",
            timestamp=START,
            metadata={"speaker": "Ben"},
        )
        for i in range(count)
    ]


async def test_multi_hop_question_reaches_the_leader(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    await encoder.encode_many(filler(300))
    for offset, text in enumerate(TEAM_FACTS):
        await encoder.encode(text, timestamp=START + timedelta(days=offset))
    pipeline = ReflexPipeline(storage, config)
    result = await pipeline.query("Who leads the team of the person who fixed the login crash?")
    assert "Carol leads the mobile team" in result.context
    assert "Dan fixed the login crash" in result.context
    assert result.fibers[0].content in TEAM_FACTS
    assert result.confidence > 0.3


async def test_activation_carries_a_fact_with_no_shared_words(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    await encoder.encode_many(filler(50))
    await encoder.encode("Priya adopted a greyhound called Comet")
    await encoder.encode("Comet sleeps on the blue sofa")
    pipeline = ReflexPipeline(storage, config, reinforce=False)
    instant = await pipeline.query("Which dog did Priya adopt?", depth=DepthLevel.INSTANT)
    deep = await pipeline.query("Which dog did Priya adopt?", depth=DepthLevel.CONTEXT)
    contents = [f.content for f in deep.fibers]
    assert contents[0] == "Priya adopted a greyhound called Comet"
    assert "Comet sleeps on the blue sofa" in contents[:3]  # reached through "Comet"
    assert instant.depth_used is DepthLevel.INSTANT and deep.depth_used is DepthLevel.CONTEXT


async def test_a_hub_does_not_drown_the_answer(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    await encoder.encode_many(filler(1000))
    await encoder.encode(
        "Ben sold his old kayak to Marta", timestamp=START, metadata={"speaker": "Ben"}
    )
    result = await ReflexPipeline(storage, config).query("Who bought Ben's old kayak?")
    assert result.fibers[0].content == "Ben sold his old kayak to Marta"
    assert result.latency_ms < 2_000  # a hub of 1,000 memories must not make recall crawl


async def test_context_never_exceeds_the_token_budget(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    long_text = " ".join(["The deployment pipeline needs attention"] * 80)
    await encoder.encode_many([long_text, *(f"deployment note {i}" for i in range(30))])
    pipeline = ReflexPipeline(storage, config)
    for budget in (5, 50, 400):
        result = await pipeline.query("deployment pipeline", max_tokens=budget)
        assert result.context
        assert result.tokens_used == count_tokens(result.context) <= budget


async def test_recall_reinforces_what_it_used(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    encoded = await encoder.encode("Dan fixed the login crash")
    await encoder.encode("Carol leads the mobile team")
    stored = await storage.get_synapses_by_id(encoded.fiber.synapse_ids)
    before = {synapse_id: s.weight for synapse_id, s in stored.items()}
    await ReflexPipeline(storage, config).query("who fixed the login crash")
    fiber = await storage.get_fiber(encoded.fiber.id)
    assert fiber is not None and fiber.access_count == 1 and fiber.last_conducted is not None
    after = await storage.get_synapses_by_id(encoded.fiber.synapse_ids)
    assert any(after[i].weight > weight for i, weight in before.items())
    events = await storage.get_recall_events()
    assert events[-1].query == "who fixed the login crash"
    assert events[-1].fiber_ids[0] == encoded.fiber.id


async def test_search_ranks_like_query_and_changes_nothing(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    encoded = await encoder.encode("Dan fixed the login crash")
    await encoder.encode("Carol leads the mobile team")
    pipeline = ReflexPipeline(storage, config)
    found = await pipeline.search("who fixed the login crash", max_fibers=1)
    assert [f.fiber_id for f in found] == [encoded.fiber.id]
    fiber = await storage.get_fiber(encoded.fiber.id)
    assert fiber is not None and fiber.access_count == 0 and fiber.last_conducted is None
    assert await storage.get_recall_events() == []
    answered = await pipeline.query("who fixed the login crash", max_fibers=1)
    assert answered.fibers_matched == [f.fiber_id for f in found]
    with pytest.raises(ValidationError):
        await pipeline.search("crash", max_fibers=0)


async def test_memories_written_by_another_storage_are_seen(storage: Storage) -> None:
    config = BrainConfig()
    pipeline = ReflexPipeline(storage, config)
    encoder = MemoryEncoder(storage, config)
    await encoder.encode("The cafe on Elm street closes at noon")
    first = await pipeline.query("When does the cafe close?")
    await encoder.encode("The bakery on Oak street closes at five")
    second = await pipeline.query("When does the bakery close?")
    assert first.fibers[0].content.startswith("The cafe")
    assert second.fibers[0].content.startswith("The bakery")


async def test_a_time_expression_in_the_query_prefers_that_period(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    await encoder.encode("Went running in the park", timestamp=datetime(2024, 1, 10, tzinfo=UTC))
    await encoder.encode("Went running by the river", timestamp=datetime(2024, 3, 5, tzinfo=UTC))
    pipeline = ReflexPipeline(storage, config, reinforce=False)
    asked = datetime(2024, 3, 20, tzinfo=UTC)
    result = await pipeline.query("Where did I go running in March?", reference_time=asked)
    assert result.fibers[0].content == "Went running by the river"
    result = await pipeline.query("Where did I go running in January?", reference_time=asked)
    assert result.fibers[0].content == "Went running in the park"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"max_tokens": 0}, "max_tokens"), ({"depth": 9}, "depth"), ({"max_fibers": 0}, "max_fibers")],
)
async def test_bad_query_arguments(
    storage: Storage, kwargs: dict[str, object], message: str
) -> None:
    pipeline = ReflexPipeline(storage, BrainConfig())
    with pytest.raises(ValidationError, match=message):
        await pipeline.query("anything", **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        await pipeline.query("   ")


async def test_an_empty_brain_answers_nothing_with_zero_confidence(storage: Storage) -> None:
    result = await ReflexPipeline(storage, BrainConfig()).query("anything at all?")
    assert result.context == "" and result.fibers == () and result.confidence == 0.0


async def _index_state(index: BrainIndex) -> tuple[object, ...]:
    await index.load_fibers()
    live = [row for row, record in enumerate(index.fibers) if record.alive]
    fiber_ids = [record.id for record in index.fibers]
    fibers = {index.fibers[row].id: index.fibers[row].fiber for row in live}
    ids = index.neurons.ids
    links = {
        (ids[a], ids[b]): weight
        for a, neighbours in enumerate(index.neurons.adjacency)
        for b, weight in neighbours.items()
    }
    previous, following = index.thread_links()
    speakers = index.speakers()
    columns = {
        fiber_ids[row]: (
            int(index.occurred_days()[row]),
            float(index.conductivity()[row]),
            bool(index.suppressed()[row]),
            bool(index.asks()[row]),
            ids[speakers[row]] if speakers[row] >= 0 else None,
            fiber_ids[previous[row]] if previous[row] >= 0 else None,
            fiber_ids[following[row]] if following[row] >= 0 else None,
            sorted(index.fiber_terms(row)),
            sorted(ids[n] for n in index.fibers[row].neuron_rows),
        )
        for row in live
    }
    members = {
        ids[n]: sorted(fiber_ids[r] for r in rows) for n, rows in enumerate(index.neurons.fibers)
    }
    return fibers, links, columns, {k: v for k, v in members.items() if v}


async def test_the_index_kept_in_step_in_process_equals_a_fresh_build(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    pipeline = ReflexPipeline(storage, config)
    await encoder.encode_many(TEAM_FACTS)
    for question in ("who leads the mobile team", "who fixed the login crash"):
        await pipeline.query(question)
    await encoder.encode("Dan moved to the payments team in June")
    await pipeline.query("which team is Dan on")
    live = BrainHandle.of(storage).index()
    await live.sync()
    fresh = BrainIndex(storage, storage.brain_id, None)
    await fresh.sync()
    assert await _index_state(live) == await _index_state(fresh)
    assert live.seq == fresh.seq == await storage.get_change_seq()


async def test_an_answer_is_found_through_the_question_it_follows(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    day = datetime(2024, 5, 2, 18, 0, tzinfo=UTC)
    await encoder.encode_many(filler(40))
    await encoder.encode_many(
        [
            MemoryInput(text="What dance were you doing at the regional show?", timestamp=day,
                        metadata={"speaker": "Jon"}),
            MemoryInput(text="A contemporary piece called Finding Freedom.", timestamp=day,
                        metadata={"speaker": "Gina"}),
        ]
    )  # fmt: skip
    result = await ReflexPipeline(storage, config).query(
        "Which dance was performed at the regional show?"
    )
    contents = [f.content for f in result.fibers[:3]]
    assert "A contemporary piece called Finding Freedom." in contents
    stored = await storage.find_fibers()
    answer = next(f for f in stored if f.content.startswith("A contemporary"))
    question = next(f for f in stored if f.content.startswith("What dance"))
    assert answer.metadata["follows"] == question.id


@pytest.mark.parametrize(
    ("asker", "answerer", "gains"),
    [(5, 6, True), (5, 5, False), (-1, -1, True), (5, -1, True)],
)
def test_an_answer_gains_from_a_question_someone_else_asked(
    asker: int, answerer: int, gains: bool
) -> None:
    # row 0 asks (score 1), row 1 follows it (score 0); speakers are neuron rows, -1 unknown
    boost = thread_boost(
        scores=np.array([1.0, 0.0], dtype=np.float32),
        rows=np.array([0, 1], dtype=np.intp),
        previous=np.array([-1, 0], dtype=np.int32),
        following=np.array([1, -1], dtype=np.int32),
        asks=np.array([True, False]),
        speakers=np.array([asker, answerer], dtype=np.int32),
        weight=0.5,
    )
    assert boost[1] == pytest.approx(0.5 if gains else 0.0)
    assert boost[0] == 0.0  # the answer scored nothing to give back


def test_a_follow_up_two_steps_after_ones_own_question_keeps_half_the_gain() -> None:
    # Jon (7) asks, Gina (8) replies, Jon follows up: the follow-up gains half the question's
    # score (right after his own question, it would gain nothing: see the test above)
    boost = thread_boost(
        scores=np.array([1.0, 0.0, 0.0], dtype=np.float32),
        rows=np.array([2], dtype=np.intp),
        previous=np.array([-1, 0, 1], dtype=np.int32),
        following=np.array([1, 2, -1], dtype=np.int32),
        asks=np.array([True, False, False]),
        speakers=np.array([7, 8, 7], dtype=np.int32),
        weight=0.5,
    )
    assert boost[0] == pytest.approx(0.25)


async def test_where_nobody_asks_anything_threads_change_no_ranking(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    await encoder.encode_many(filler(60))
    for offset, text in enumerate(TEAM_FACTS):
        await encoder.encode(text, timestamp=START + timedelta(minutes=offset))
    queries = ["Who leads the mobile team?", "Dan login crash", "Ben chess practice"]
    for query in queries:
        threaded = await ReflexPipeline(storage, config, reinforce=False).search(query)
        unthreaded = await ReflexPipeline(
            storage, config, reinforce=False, weights=FusionWeights(thread=0.0)
        ).search(query)
        assert threaded and threaded == unthreaded


async def test_memories_days_apart_are_not_one_thread(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    first = await encoder.encode("Booked the dentist", timestamp=START)
    second = await encoder.encode("Paid the rent", timestamp=START + timedelta(days=3))
    third = await encoder.encode(
        "Called the landlord", timestamp=START + timedelta(days=3, hours=1)
    )
    assert "follows" not in first.fiber.metadata
    assert "follows" not in second.fiber.metadata
    assert third.fiber.metadata["follows"] == second.fiber.id


async def test_an_expired_typed_memory_is_no_longer_recalled(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    todo = await encoder.encode("Buy concert tickets for the Friday show", timestamp=START)
    await storage.add_typed_memory(
        TypedMemory.create(
            fiber_id=todo.fiber.id, memory_type=MemoryType.TODO, expires_in_days=7, created_at=START
        )
    )
    pipeline = ReflexPipeline(storage, config, reinforce=False)
    before = await pipeline.query("concert tickets", reference_time=START + timedelta(days=6))
    after = await pipeline.query("concert tickets", reference_time=START + timedelta(days=8))
    assert before.fibers and before.fibers[0].fiber_id == todo.fiber.id
    assert todo.fiber.id not in after.fibers_matched
    assert "concert" not in after.context


async def test_a_memory_below_an_expired_one_takes_its_place(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    todo = await encoder.encode("Buy concert tickets for the Friday show", timestamp=START)
    other = await encoder.encode("Concert tickets are sold at the kiosk", timestamp=START)
    pipeline = ReflexPipeline(storage, config, reinforce=False)
    ranked = await pipeline.search("concert tickets Friday show", reference_time=START)
    assert [f.fiber_id for f in ranked[:2]] == [todo.fiber.id, other.fiber.id]
    await storage.add_typed_memory(
        TypedMemory.create(
            fiber_id=todo.fiber.id, memory_type=MemoryType.TODO, expires_in_days=7, created_at=START
        )
    )
    later = START + timedelta(days=8)
    after = await pipeline.query("concert tickets Friday show", reference_time=later, max_fibers=1)
    assert after.fibers_matched == [other.fiber.id]
    assert "kiosk" in after.context


async def test_asked_about_a_person_their_own_words_rank_first(storage: Storage) -> None:
    config = BrainConfig()
    encoder = MemoryEncoder(storage, config)
    await encoder.encode_many(filler(40))
    said = await encoder.encode(
        "I love camping in the mountains with my kids", metadata={"speaker": "Melanie"}
    )
    await encoder.encode(
        "Melanie, I love camping in the mountains too", metadata={"speaker": "Caroline"}
    )
    question = "What does Melanie love doing?"
    with_speakers = await ReflexPipeline(storage, config, reinforce=False).search(question)
    without = await ReflexPipeline(
        storage, config, reinforce=False, weights=FusionWeights(speaker=0.0)
    ).search(question)
    assert with_speakers[0].fiber_id == said.fiber.id
    own = {f.fiber_id: f.score for f in without}[said.fiber.id]
    assert with_speakers[0].score > own


def test_relative_similarity_puts_the_typical_memory_at_zero() -> None:
    sims = np.array([0.20, 0.30, 0.40, 0.60, 0.90, 0.0], dtype=np.float32)
    present = np.array([True, True, True, True, True, False])
    relative = relative_similarity(sims, present)
    assert relative.dtype == np.float32
    assert relative[4] == pytest.approx(1.0)  # the closest memory
    assert relative[2] == pytest.approx(0.0) and relative[0] == 0.0  # median and below
    assert relative[3] == pytest.approx(0.2 / 0.5)
    assert relative[5] == 0.0  # no vector, no score
    flat = relative_similarity(np.full(3, 0.5, dtype=np.float32), np.ones(3, dtype=bool))
    assert not flat.any()
    assert not relative_similarity(sims, np.zeros(6, dtype=bool)).any()


async def test_thread_links_hold_whatever_order_fibers_arrive_in(
    storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    encoder = MemoryEncoder(storage, BrainConfig())
    asked = await encoder.encode(
        "Did you adopt the dog?", timestamp=START, metadata={"speaker": "Ann"}
    )
    answer = await encoder.encode(
        "Yes, a greyhound", timestamp=START + timedelta(minutes=1), metadata={"speaker": "Ben"}
    )
    assert answer.fiber.metadata.get("follows") == asked.fiber.id
    rows = await storage.get_fiber_rows()
    newest_first = FiberRows(**{f.name: getattr(rows, f.name)[::-1] for f in fields(rows)})

    async def get_fiber_rows() -> FiberRows:
        return newest_first

    monkeypatch.setattr(storage, "get_fiber_rows", get_fiber_rows)
    index = BrainIndex(storage, storage.brain_id, None)
    await index.sync()
    previous, following = index.thread_links()
    first, second = index.fiber_rows[asked.fiber.id], index.fiber_rows[answer.fiber.id]
    assert second < first  # the answer arrived first
    assert previous[second] == first and following[first] == second


async def test_scored_semantic_is_the_cosine_to_the_query(storage: Storage) -> None:
    config = BrainConfig()
    embedder = HashingEmbedder(64)
    encoder = MemoryEncoder(storage, config, embedder=embedder)
    paris = await encoder.encode("Paris is the capital of France")
    await encoder.encode("The kettle in the kitchen is broken")
    pipeline = ReflexPipeline(storage, config, embedder=embedder, reinforce=False)
    found = {f.fiber_id: f for f in await pipeline.search("capital of France")}
    memory, query = await embedder.embed([paris.fiber.content, "capital of France"])
    assert found[paris.fiber.id].semantic == pytest.approx(float(memory @ query), abs=1e-5)
