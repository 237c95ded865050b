"""Extraction scans an ASCII text lower-cased: it must find exactly what the general scan finds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from neural_memory.engine import facts
from neural_memory.engine._cased import CaseScan
from neural_memory.engine.extraction import extract

_WORDS = (
    "Alice Bob New York Carol Smith I we went to the park in Paris because so that therefore "
    "before after during while enables lets prevents stops is a kind of was WANT to Plan "
    "planning going gonna todo: need hope saw heard the photo of SHARES image: watched cat "
    'felt happy Is seems tired yesterday last week Monday 3 May 2023 . , ! ? ; : \n ( [ " '
    "deployed fixing Because SO Before AFTER"
).split(" ")


@given(st.lists(st.sampled_from(_WORDS), max_size=20), st.integers(0, 3000))
def test_an_ascii_text_extracts_what_the_same_text_with_a_non_ascii_tail_does(
    words: list[str], days: int
) -> None:
    # "é" is no word, no term and no time: only the scan's path differs (lower-cased ASCII
    # scanned case-sensitively, or the text as written scanned case-insensitively).
    text = " ".join(words) or "x"
    moment = datetime(2020, 1, 1, tzinfo=UTC) + timedelta(days=days)
    ascii_scan = extract(text, moment, speaker="Dana")
    general_scan = extract(f"{text} é", moment, speaker="Dana")
    assert ascii_scan.neurons == general_scan.neurons
    assert ascii_scan.links == general_scan.links
    assert ascii_scan.terms == general_scan.terms
    assert ascii_scan.time_spans == general_scan.time_spans


_STATEMENT_WORDS = (
    "The WiFi password is now Mango77 My Sister's cat Alice lives LIVED in moved to Berlin "
    "works at Acme ACME Corp Was Were became = : and But because When his Her THEIR its "
    "Bob's office number changed to 42"
).split(" ")


@given(st.lists(st.sampled_from(_STATEMENT_WORDS), min_size=1, max_size=12))
def test_a_lower_cased_ascii_statement_reads_as_the_statement_as_written(words: list[str]) -> None:
    sentence = " ".join(words)
    assert facts._read(CaseScan(sentence.lower(), lowered=True)) == facts._read(
        CaseScan(sentence, lowered=False)
    )
