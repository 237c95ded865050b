"""Query pattern mining: learn which topics go together from the brain's recall history.

Each recall event's query is reduced to topics (:func:`extract_topics`). Two topics form a
*pair* ``(a, b)`` each time ``b`` is asked about together with ``a`` (in the same query, both
directions) or right after ``a`` (in the next query, at most ``window`` later). Pairs seen at
least ``min_support`` times become patterns, stored as JSON under the brain's meta key
``"query_patterns"``; :func:`suggest_follow_up_queries` reads them back to propose what to
ask next. Mining is idempotent: each run recomputes the patterns from the recent history.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from neural_memory.core.brain import BrainConfig
from neural_memory.core.clock import as_utc
from neural_memory.core.events import RecallEvent
from neural_memory.errors import ValidationError
from neural_memory.storage.base import Storage

__all__ = [
    "DEFAULT_WINDOW",
    "MAX_FOLLOWERS_PER_TOPIC",
    "MAX_TOPICS_STORED",
    "META_KEY",
    "QueryPatternReport",
    "extract_topics",
    "learn_query_patterns",
    "lookback_days",
    "mine_query_topic_pairs",
    "suggest_follow_up_queries",
]

META_KEY = "query_patterns"
"""The storage meta key the learned patterns are kept under."""

PATTERN_FORMAT = 1
"""Version of the JSON layout stored under :data:`META_KEY`."""

DEFAULT_WINDOW = timedelta(minutes=30)
"""Two consecutive queries at most this far apart count as one line of inquiry."""

DEFAULT_MIN_SUPPORT = 2
"""A pair must be seen this many times to become a pattern."""

MAX_FOLLOWERS_PER_TOPIC = 20
"""At most this many follow-up topics are kept per topic (the most frequent)."""

MAX_TOPICS_STORED = 2000
"""At most this many topics keep patterns (those with the most support)."""

_RETENTION_FLOOR = 0.05
_MIN_LOOKBACK_DAYS = 1.0
_MAX_LOOKBACK_DAYS = 365.0

_WORD = re.compile(r"[^\W_]+(?:[.\-][^\W_]+)*")

STOP_WORDS = frozenset(
    """
    a about above after again against all also am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn doing
    don down during each else ever few for from further get got had hadn has hasn have haven
    having he her here hers herself him himself his how i if in into is isn it its itself just
    know let like me more most much must mustn my myself need no nor not now of off on once
    only or other ought our ours ourselves out over own please recall remember same say shall
    she should shouldn show so some such tell than that the their theirs them themselves then
    there these they this those through to too under until up upon us very want was wasn we
    were weren what whats when where whether which while who whom whose why will with won
    would wouldn yes yet you your yours yourself yourselves
    """.split()
)
"""English function words and query filler that are never topics."""


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryPatternReport:
    """What one mining run found and stored.

    Attributes:
        events_analyzed: Recall events read (those within the look-back period).
        topics_extracted: Distinct topics found in their queries.
        pairs_found: Distinct topic pairs seen at least once.
        patterns_learned: Pairs stored as patterns (seen at least ``min_support`` times).
        learned_at: The ``now`` of the run.
    """

    events_analyzed: int
    topics_extracted: int
    pairs_found: int
    patterns_learned: int
    learned_at: datetime


def extract_topics(query: str) -> list[str]:
    """The topics of a query: lower-cased words without stop words, in order, deduplicated.

    Words may hold inner dots or hyphens (``node.js``, ``gpt-4``); numbers and one-letter
    words are not topics. ``extract_topics("authentication jwt tokens")`` is
    ``["authentication", "jwt", "tokens"]``.
    """
    if not isinstance(query, str):
        raise ValidationError(f"query must be a string, got {type(query).__name__}")
    topics: list[str] = []
    for word in _WORD.findall(query.casefold()):
        if len(word) < 2 or word in STOP_WORDS or word.replace(".", "").isdigit():
            continue
        if word not in topics:
            topics.append(word)
    return topics


def mine_query_topic_pairs(
    events: Iterable[RecallEvent], *, window: timedelta = DEFAULT_WINDOW
) -> Counter[tuple[str, str]]:
    """Count topic pairs ``(a, b)``: ``b`` asked with ``a``, or right after ``a``.

    Within one query every ordered pair of distinct topics counts once. Between consecutive
    queries (in time order) at most ``window`` apart, every topic of the earlier query paired
    with every new topic of the later one counts once. Pure: no I/O, no clock.
    """
    if not isinstance(window, timedelta) or window < timedelta(0):
        raise ValidationError("window must be a non-negative timedelta")
    ordered = sorted(events, key=lambda event: event.created_at)
    pairs: Counter[tuple[str, str]] = Counter()
    previous: tuple[datetime, list[str]] | None = None
    for event in ordered:
        topics = extract_topics(event.query)
        pairs.update((a, b) for a in topics for b in topics if a != b)
        if previous is not None and event.created_at - previous[0] <= window:
            pairs.update((a, b) for a in previous[1] for b in topics if b not in previous[1])
        previous = (event.created_at, topics)
    return pairs


def lookback_days(config: BrainConfig) -> float:
    """How many days back mining reads recall events (queries fade like memories do).

    That is how long a memory decaying at ``config.decay_rate`` per day takes to fall to 5 %
    of its strength (``ln 20 / decay_rate``), kept between 1 and 365 days.
    With the default decay rate 0.1 this is about 30 days.
    """
    if config.decay_rate <= 0:
        return _MAX_LOOKBACK_DAYS
    days = math.log(1 / _RETENTION_FLOOR) / config.decay_rate
    return min(_MAX_LOOKBACK_DAYS, max(_MIN_LOOKBACK_DAYS, days))


async def learn_query_patterns(
    storage: Storage,
    config: BrainConfig,
    now: datetime,
    *,
    window: timedelta = DEFAULT_WINDOW,
    min_support: int = DEFAULT_MIN_SUPPORT,
) -> QueryPatternReport:
    """Mine the recent recall events of the current brain and store the learned patterns.

    Reads the events of the last :func:`lookback_days` (queries fade like memories do),
    keeps pairs seen at least ``min_support`` times and replaces the stored patterns.
    """
    if isinstance(min_support, bool) or not isinstance(min_support, int) or min_support < 1:
        raise ValidationError(f"min_support must be a positive integer, got {min_support!r}")
    moment = as_utc(now)
    since = moment - timedelta(days=lookback_days(config))
    events = [e for e in await storage.get_recall_events(since=since) if e.created_at <= moment]
    pairs = mine_query_topic_pairs(events, window=window)
    followers = _followers(pairs, min_support)
    await storage.set_meta(
        META_KEY,
        {
            "format": PATTERN_FORMAT,
            "learned_at": moment.isoformat(),
            "followers": {topic: [[b, n] for b, n in items] for topic, items in followers.items()},
        },
    )
    topics = {topic for event in events for topic in extract_topics(event.query)}
    return QueryPatternReport(
        events_analyzed=len(events),
        topics_extracted=len(topics),
        pairs_found=len(pairs),
        patterns_learned=sum(len(items) for items in followers.values()),
        learned_at=moment,
    )


async def suggest_follow_up_queries(
    storage: Storage, topics: Sequence[str], config: BrainConfig, *, limit: int = 5
) -> list[str]:
    """Topics worth asking about next, given the current query's ``topics``.

    Scores every learned follow-up of every given topic by its pair count (summed over the
    given topics), leaves out the given topics themselves and returns the best ``limit``,
    ties broken alphabetically. Without learned patterns the list is empty. ``config`` is the
    brain's configuration (the same one mining used).
    """
    if isinstance(topics, str):
        raise ValidationError("topics must be a list of strings, not a string")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValidationError(f"limit must be a non-negative integer, got {limit!r}")
    if not isinstance(config, BrainConfig):
        raise ValidationError(f"config must be a BrainConfig, got {type(config).__name__}")
    asked = list(dict.fromkeys(topic for text in topics for topic in extract_topics(text)))
    learned = _read_followers(await storage.get_meta(META_KEY))
    scores: Counter[str] = Counter()
    for topic in asked:
        for follower, count in learned.get(topic, ()):
            if follower not in asked:
                scores[follower] += count
    ranked = sorted(scores.items(), key=lambda item: (-item[1], item[0]))
    return [topic for topic, _ in ranked[:limit]]


def _followers(
    pairs: Counter[tuple[str, str]], min_support: int
) -> dict[str, list[tuple[str, int]]]:
    grouped: dict[str, list[tuple[str, int]]] = {}
    for (a, b), count in pairs.items():
        if count >= min_support:
            grouped.setdefault(a, []).append((b, count))
    for items in grouped.values():
        items.sort(key=lambda item: (-item[1], item[0]))
        del items[MAX_FOLLOWERS_PER_TOPIC:]
    strongest = sorted(grouped, key=lambda t: (-sum(n for _, n in grouped[t]), t))
    return {topic: grouped[topic] for topic in sorted(strongest[:MAX_TOPICS_STORED])}


def _read_followers(stored: Any) -> dict[str, list[tuple[str, int]]]:
    """Decode the stored patterns; anything malformed (or another format) is ignored."""
    if not isinstance(stored, dict) or stored.get("format") != PATTERN_FORMAT:
        return {}
    raw = stored.get("followers")
    if not isinstance(raw, dict):
        return {}
    result: dict[str, list[tuple[str, int]]] = {}
    for topic, items in raw.items():
        if isinstance(topic, str) and isinstance(items, list):
            result[topic] = [
                (item[0], item[1])
                for item in items
                if isinstance(item, list)
                and len(item) == 2
                and isinstance(item[0], str)
                and isinstance(item[1], int)
            ]
    return result
