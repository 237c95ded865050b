"""Time expressions resolve against the moment they were written."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_memory.engine.timeparse import Granularity, find_time_spans

WRITTEN = datetime(2023, 5, 8, 13, 56)  # a Monday


@pytest.mark.parametrize(
    ("text", "label", "granularity"),
    [
        ("I went to the support group yesterday", "2023-05-07", Granularity.DAY),
        ("last Saturday we hiked", "2023-05-06", Granularity.DAY),
        ("on Friday", "2023-05-05", Granularity.DAY),
        ("two weeks ago", "2023-W17", Granularity.WEEK),
        ("last week", "2023-W18", Granularity.WEEK),
        ("a few days ago", "2023-05-05", Granularity.DAY),
        ("Dan joined the team in May", "2023-05", Granularity.MONTH),
        ("in November", "2022-11", Granularity.MONTH),
        ("next month", "2023-06", Granularity.MONTH),
        ("on 7 May 2023", "2023-05-07", Granularity.DAY),
        ("on May 7, 2023", "2023-05-07", Granularity.DAY),
        ("the 2023-05-01 release", "2023-05-01", Granularity.DAY),
        ("back in 2022", "2022", Granularity.YEAR),
        ("last year", "2022", Granularity.YEAR),
    ],
)
def test_expressions_resolve(text: str, label: str, granularity: Granularity) -> None:
    spans = find_time_spans(text, WRITTEN)
    assert [(s.label, s.granularity) for s in spans] == [(label, granularity)]


def test_words_that_only_look_like_time_are_ignored() -> None:
    assert find_time_spans("I may go, or I may not", WRITTEN) == []
    assert find_time_spans("She has 12 cats", WRITTEN) == []


def test_every_month_spelling_resolves() -> None:
    text = "Sept 5, 2021, 3 September 2020, in sep 2019, Jan 2 2018 and in december"
    labels = [s.label for s in find_time_spans(text, WRITTEN)]
    assert labels == ["2021-09-05", "2020-09-03", "2019-09", "2018-01-02", "2022-12"]


_DATE_WORDS = (
    "yesterday today tonight tomorrow ago last this next past in since during early late mid "
    "week weekend month year day days weeks of on the 1st 2nd 3rd 12th 7 31 05 2023 1999 "
    "2023-05-07 "
    "2022/12/31 Monday TUESDAY sunday Jan january MAY Sept sep December a two few couple , ."
).split()


@given(st.lists(st.sampled_from(_DATE_WORDS), max_size=12), st.integers(0, 3000))
def test_skipping_patterns_whose_words_are_absent_finds_the_same_spans(
    words: list[str], days: int
) -> None:
    import re

    from neural_memory.engine import timeparse

    text = " ".join(words)
    reference = datetime(2020, 1, 1) + timedelta(days=days)
    everything = {name: re.compile("") for name in timeparse._GUARDS}
    every_word = {name: ("",) for name in timeparse._GUARD_WORDS}
    guarded = find_time_spans(text, reference), find_time_spans(f"{text} é", reference)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timeparse, "_GUARDS", everything)
        patch.setattr(timeparse, "_GUARD_WORDS", every_word)
        unguarded = find_time_spans(text, reference), find_time_spans(f"{text} é", reference)
    assert unguarded == guarded


@given(st.lists(st.sampled_from(_DATE_WORDS), max_size=12), st.integers(0, 3000))
def test_ascii_text_finds_what_any_text_finds(words: list[str], days: int) -> None:
    # An ASCII text is scanned lower-cased; a non-ASCII word beside it takes the general path.
    text = " ".join(words)
    reference = datetime(2020, 1, 1) + timedelta(days=days)
    assert find_time_spans(text, reference) == find_time_spans(f"{text} ünïcode", reference)
