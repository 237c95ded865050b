"""No text breaks extraction or encoding: far dates, huge numbers, broken Unicode (issue 11)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neural_memory import Brain, ConfigError, ValidationError
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.extraction import extract
from neural_memory.engine.retrieval.pipeline import ReflexPipeline
from neural_memory.engine.timeparse import find_time_spans
from neural_memory.storage import Storage

_UNITS = ["day", "days", "week", "weeks", "month", "months", "year", "years"]
_WORDS = ["ago", "last", "next", "this", "past", "in", "on", "of", "since", "may", "june"]
_MONTHS = ["Jan", "February", "mar", "May", "Sept", "december"]

_numbers = st.one_of(
    st.integers(min_value=0, max_value=10**30).map(str),
    st.sampled_from(["a", "an", "one", "few", "several", "couple", "6000", "9999", "0"]),
)
_pieces = st.one_of(
    _numbers,
    st.sampled_from(_UNITS + _WORDS + _MONTHS),
    st.integers(min_value=0, max_value=99).map(lambda d: f"{d}th"),
    st.tuples(st.integers(0, 9999), st.integers(0, 19), st.integers(0, 39)).map(
        lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
    ),
    st.text(max_size=8),
)
_texts = st.lists(_pieces, max_size=12).map(" ".join)
_moments = st.datetimes(
    min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None)
@given(text=_texts, moment=_moments)
def test_the_time_parser_never_raises(text: str, moment: datetime) -> None:
    for span in find_time_spans(text, moment):
        assert span.start <= span.end
        assert isinstance(span.label, str)


@settings(max_examples=200, deadline=None)
@given(text=_texts, moment=_moments)
def test_the_extractor_never_raises(text: str, moment: datetime) -> None:
    extraction = extract(text, moment)
    assert all(isinstance(key, str) for key in extraction.keys)


@pytest.mark.parametrize(
    ("text", "today"),
    [
        ("The pyramids were built about 6000 years ago", date(2026, 1, 1)),
        ("that was 2000 years ago", date(1, 6, 1)),
        ("see you next year, tomorrow", date(9999, 12, 31)),
        ("99999999999999999999 days ago", date(2026, 1, 1)),
        ("in May", date(1, 2, 1)),
        ("last week", date(1, 1, 2)),
    ],
)
def test_dates_out_of_range_are_no_span(text: str, today: date) -> None:
    spans = find_time_spans(text, today)
    assert all(date.min <= span.start <= span.end <= date.max for span in spans)


async def test_the_pyramids_sentence_is_stored(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    result = await encoder.encode("The pyramids were built about 6000 years ago")
    assert await storage.get_fiber(result.fiber.id) == result.fiber


@pytest.mark.parametrize("year", [1, 9999])
async def test_a_timestamp_outside_the_supported_years_is_a_validation_error(
    storage: Storage, year: int
) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    with pytest.raises(ValidationError, match="years"):
        await encoder.encode("an old memory", timestamp=datetime(year, 1, 1, tzinfo=UTC))
    assert (await storage.get_stats()).fiber_count == 0


async def test_a_lone_surrogate_in_text_or_query_is_a_validation_error(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    with pytest.raises(ValidationError, match="Unicode"):
        await encoder.encode("broken \ud800 text")
    await encoder.encode("Alice likes tea")
    pipeline = ReflexPipeline(storage, Brain.create("x").config)
    with pytest.raises(ValidationError, match="Unicode"):
        await pipeline.query("what does \udfff Alice like")
    assert (await pipeline.query("what does Alice like")).fibers


async def test_a_reference_time_that_is_not_a_datetime_is_a_validation_error(
    storage: Storage,
) -> None:
    pipeline = ReflexPipeline(storage, Brain.create("x").config)
    with pytest.raises(ValidationError, match="reference_time"):
        await pipeline.query("anything", reference_time="2024-01-01")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="reference_time"):
        await pipeline.search("anything", reference_time=datetime(9999, 1, 1, tzinfo=UTC))


async def test_an_encoder_without_a_config_is_a_config_error(storage: Storage) -> None:
    with pytest.raises(ConfigError, match="BrainConfig"):
        MemoryEncoder(storage, None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="Storage"):
        MemoryEncoder("not a storage", Brain.create("x").config)  # type: ignore[arg-type]
