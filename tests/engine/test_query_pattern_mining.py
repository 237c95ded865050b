"""Query pattern mining: topics, co-occurrence pairs, learned patterns and follow-ups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neural_memory.core import Brain, BrainConfig, RecallEvent, utcnow
from neural_memory.engine.query_pattern_mining import (
    META_KEY,
    extract_topics,
    learn_query_patterns,
    lookback_days,
    mine_query_topic_pairs,
    suggest_follow_up_queries,
)
from neural_memory.errors import ValidationError
from neural_memory.storage import InMemoryStorage
from tests.seed_exec import run_seed_sample

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def brain_storage() -> tuple[Brain, InMemoryStorage]:
    storage = InMemoryStorage()
    brain = Brain.create("patterns")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    return brain, storage


def event(query: str, at: datetime) -> RecallEvent:
    return RecallEvent.create(query, created_at=at)


async def record_auth_sessions(storage: InMemoryStorage, start: datetime) -> None:
    """Four sessions, a day apart: an auth question, then a web-framework follow-up."""
    follow_ups = [
        "middleware routing express",
        "middleware routing express",
        "middleware routing",
        "middleware",
    ]
    for day, follow_up in enumerate(follow_ups):
        at = start + timedelta(days=day)
        await storage.add_recall_event(event("authentication jwt tokens", at))
        await storage.add_recall_event(event(follow_up, at + timedelta(minutes=5)))


SEED_SAMPLE = """
from neural_memory.engine.query_pattern_mining import (
    extract_topics,
    mine_query_topic_pairs,
    learn_query_patterns,
    suggest_follow_up_queries,
)

# Extract topics from a query
topics = extract_topics("authentication jwt tokens")
# → ["authentication", "jwt", "tokens"]

# Mine patterns from recall events (called during consolidation)
report = await learn_query_patterns(storage, brain.config, utcnow())
print(f"Topics: {report.topics_extracted}")
print(f"Patterns: {report.patterns_learned}")

# Get follow-up suggestions based on learned patterns
suggestions = await suggest_follow_up_queries(storage, topics, brain.config)
# → ["middleware", "routing", "express"] (if learned)
"""


async def test_seed_sample_learns_the_documented_follow_ups(
    brain_storage: tuple[Brain, InMemoryStorage], capsys: pytest.CaptureFixture[str]
) -> None:
    brain, storage = brain_storage
    await record_auth_sessions(storage, utcnow() - timedelta(days=5))
    namespace = {"storage": storage, "brain": brain, "utcnow": utcnow}
    await run_seed_sample(SEED_SAMPLE, namespace)

    assert namespace["topics"] == ["authentication", "jwt", "tokens"]
    assert namespace["suggestions"] == ["middleware", "routing", "express"]
    report = namespace["report"]
    assert report.topics_extracted == 6
    assert report.patterns_learned > 0
    out = capsys.readouterr().out
    assert "Topics: 6" in out and f"Patterns: {report.patterns_learned}" in out


# -- extract_topics ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "topics"),
    [
        ("authentication jwt tokens", ["authentication", "jwt", "tokens"]),
        ("What did Alice say about the JWT tokens?", ["alice", "jwt", "tokens"]),
        ("Deploy deploy DEPLOY", ["deploy"]),
        ("node.js vs gpt-4 in 2024", ["node.js", "vs", "gpt-4"]),
        ("how do I do it?", []),
        ("", []),
        ("Alice's café plans", ["alice", "café", "plans"]),
    ],
)
def test_extract_topics(query: str, topics: list[str]) -> None:
    assert extract_topics(query) == topics


def test_extract_topics_refuses_non_text() -> None:
    with pytest.raises(ValidationError):
        extract_topics(None)  # type: ignore[arg-type]


# -- mine_query_topic_pairs ------------------------------------------------------------------


def test_pairs_within_a_query_count_both_ways() -> None:
    pairs = mine_query_topic_pairs([event("redis cache latency", NOW)])
    assert pairs[("redis", "cache")] == 1 and pairs[("cache", "redis")] == 1
    assert pairs[("redis", "latency")] == 1 and sum(pairs.values()) == 6


def test_consecutive_queries_within_the_window_form_follow_up_pairs() -> None:
    events = [
        event("postgres indexes", NOW + timedelta(minutes=10)),  # given out of order
        event("postgres", NOW),
        event("vacuum", NOW + timedelta(hours=5)),  # too late to follow "indexes"
    ]
    pairs = mine_query_topic_pairs(events, window=timedelta(minutes=30))
    assert pairs[("postgres", "indexes")] == 2  # once as follow-up, once within the query
    assert pairs[("indexes", "postgres")] == 1
    assert ("indexes", "vacuum") not in pairs and ("postgres", "vacuum") not in pairs
    wide = mine_query_topic_pairs(events, window=timedelta(hours=6))
    assert wide[("indexes", "vacuum")] == 1 and wide[("postgres", "vacuum")] == 1


# -- learn / suggest -----------------------------------------------------------------------


async def test_learning_reads_only_recent_events_and_is_idempotent(
    brain_storage: tuple[Brain, InMemoryStorage],
) -> None:
    brain, storage = brain_storage
    await record_auth_sessions(storage, NOW - timedelta(days=400))  # long forgotten
    first = await learn_query_patterns(storage, brain.config, NOW)
    assert first.events_analyzed == 0 and first.patterns_learned == 0
    assert await suggest_follow_up_queries(storage, ["jwt"], brain.config) == []

    await record_auth_sessions(storage, NOW - timedelta(days=10))
    await storage.add_recall_event(event("kubernetes helm", NOW - timedelta(days=1)))
    report = await learn_query_patterns(storage, brain.config, NOW)
    stored = await storage.get_meta(META_KEY)
    again = await learn_query_patterns(storage, brain.config, NOW)
    assert again == report and await storage.get_meta(META_KEY) == stored
    assert report.events_analyzed == 9
    assert report.topics_extracted == 8
    assert report.pairs_found == report.patterns_learned + 2  # kubernetes<->helm seen once


async def test_rare_pairs_are_not_learned(brain_storage: tuple[Brain, InMemoryStorage]) -> None:
    brain, storage = brain_storage
    await record_auth_sessions(storage, NOW - timedelta(days=10))
    await learn_query_patterns(storage, brain.config, NOW, min_support=3)
    suggestions = await suggest_follow_up_queries(storage, ["authentication"], brain.config)
    assert suggestions == ["jwt", "middleware", "tokens", "routing"]  # express seen twice only


async def test_suggestions_respect_limit_and_skip_asked_topics(
    brain_storage: tuple[Brain, InMemoryStorage],
) -> None:
    brain, storage = brain_storage
    await record_auth_sessions(storage, NOW - timedelta(days=10))
    await learn_query_patterns(storage, brain.config, NOW)
    topics = ["Authentication", "jwt", "middleware"]
    suggestions = await suggest_follow_up_queries(storage, topics, brain.config, limit=2)
    assert suggestions == ["routing", "tokens"]
    assert await suggest_follow_up_queries(storage, topics, brain.config, limit=0) == []


async def test_malformed_stored_patterns_are_ignored(
    brain_storage: tuple[Brain, InMemoryStorage],
) -> None:
    brain, storage = brain_storage
    await storage.set_meta(META_KEY, {"format": 1, "followers": {"jwt": [["ok", 2], [3, "x"]]}})
    assert await suggest_follow_up_queries(storage, ["jwt"], brain.config) == ["ok"]
    await storage.set_meta(META_KEY, ["not", "a", "pattern", "table"])
    assert await suggest_follow_up_queries(storage, ["jwt"], brain.config) == []
    with pytest.raises(ValidationError):
        await suggest_follow_up_queries(storage, "jwt", brain.config)


def test_lookback_follows_the_decay_rate() -> None:
    assert lookback_days(BrainConfig()) == pytest.approx(29.96, abs=0.01)
    assert lookback_days(BrainConfig(decay_rate=0.0)) == 365
    assert lookback_days(BrainConfig(decay_rate=1.0)) == pytest.approx(3.0, abs=0.01)
