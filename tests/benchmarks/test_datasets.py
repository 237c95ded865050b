"""Loader checks against the public dev splits in ../shared/data (skipped if absent)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from benchmarks.quality.datasets import (
    LOCOMO_FILE,
    LONGMEMEVAL_FILE,
    LmeQuestion,
    LocomoConversation,
    default_data_dir,
    dev_slice,
    load_locomo,
    load_longmemeval,
    parse_lme_date,
    parse_locomo_date,
    repair_evidence,
)

DATA = default_data_dir()
needs_locomo = pytest.mark.skipif(
    not (DATA / LOCOMO_FILE).is_file(), reason=f"no {LOCOMO_FILE} under {DATA}"
)
needs_lme = pytest.mark.skipif(
    not (DATA / LONGMEMEVAL_FILE).is_file(), reason=f"no {LONGMEMEVAL_FILE} under {DATA}"
)


@pytest.fixture(scope="module")
def locomo() -> list[LocomoConversation]:
    return load_locomo(DATA)


@pytest.fixture(scope="module")
def lme() -> list[LmeQuestion]:
    return load_longmemeval(DATA)


def test_parse_dates() -> None:
    assert parse_locomo_date("1:56 pm on 8 May, 2023") == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert parse_locomo_date("12:48 am on 1 February, 2023") == datetime(
        2023, 2, 1, 0, 48, tzinfo=UTC
    )
    assert parse_lme_date("2023/05/20 (Sat) 02:21") == datetime(2023, 5, 20, 2, 21, tzinfo=UTC)
    with pytest.raises(ValueError):
        parse_lme_date("yesterday")


def test_repair_evidence() -> None:
    known = frozenset({"D11:26", "D8:6", "D9:17", "D1:18", "D1:20"})
    assert repair_evidence(["D:11:26"], known)[0] == ["D11:26"]
    assert repair_evidence(["D8:6; D9:17"], known)[0] == ["D8:6", "D9:17"]
    evidence, notes = repair_evidence(["D1:18", "D", "D1:20", "D10:19"], known)
    assert evidence == ["D1:18", "D1:20"]
    assert len(notes) == 2
    assert repair_evidence([], known) == ([], [])


@needs_locomo
def test_locomo_counts(locomo: list[LocomoConversation]) -> None:
    questions = [q for c in locomo for q in c.questions]
    assert len(locomo) == 7
    assert len(questions) == 1345
    assert sum(c.skipped_questions for c in locomo) == 2
    by_category = Counter(q.category for q in questions)
    assert sum(n for cat, n in by_category.items() if cat in (1, 2, 3, 4)) == 1033
    assert by_category[1] == 192
    assert sum(len(c.turns) for c in locomo) == 4124


@needs_locomo
def test_locomo_turns_and_evidence(locomo: list[LocomoConversation]) -> None:
    conv = next(c for c in locomo if c.sample_id == "conv-26")
    first = conv.turns[0]
    assert (first.dia_id, first.speaker) == ("D1:1", "Caroline")
    assert first.timestamp == datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    assert first.session_date == "1:56 pm on 8 May, 2023"
    assert any("[shares image: " in t.text for t in conv.turns)
    known = {t.dia_id for c in locomo for t in c.turns}
    for c in locomo:
        ids = {t.dia_id for t in c.turns}
        for q in c.questions:
            assert q.evidence
            assert set(q.evidence) <= ids <= known
    painted = next(q for q in conv.questions if q.question == "What did Melanie paint recently?")
    assert painted.evidence == ("D8:6", "D9:17")
    tim = next(c for c in locomo if c.sample_id == "conv-43")
    authors = next(q for q in tim.questions if q.question.startswith("What authors has Tim"))
    assert "D11:26" in authors.evidence


@needs_lme
def test_longmemeval_strict_count(lme: list[LmeQuestion]) -> None:
    assert len(lme) == 85
    assert not any(q.question_id.endswith("_abs") for q in lme)
    assert all(q.relevant_turn_ids and q.relevant_session_ids for q in lme)
    assert len(load_longmemeval(DATA, strict=False)) == 93


@needs_lme
def test_longmemeval_relevance(lme: list[LmeQuestion]) -> None:
    for q in lme:
        turns = {t.turn_id: t for t in q.iter_turns()}
        assert len(turns) == sum(len(s.turns) for s in q.sessions)  # ids are unique
        for turn_id in q.relevant_turn_ids:
            turn = turns[turn_id]
            assert turn.role == "user" and turn.has_answer
            assert turn.turn_id == f"{turn.session_id}:{turn.index}"
        assert q.relevant_session_ids <= {s.session_id for s in q.sessions}
        assert q.question_date.tzinfo is UTC
    first = next(q for q in lme if q.question_id == "001be529")
    assert first.question_date == datetime(2023, 5, 30, 10, 18, tzinfo=UTC)
    assert first.relevant_turn_ids == {"answer_530960c1:4"}
    # This haystack repeats a session: the repeat gets its own id.
    assert "sharegpt_SYbLHTK_0#2" in {s.session_id for s in first.sessions}


@needs_locomo
def test_dev_slices_split_by_conversation(locomo: list[LocomoConversation]) -> None:
    tune = [c.sample_id for c in dev_slice(locomo, "tune")]
    heldout = [c.sample_id for c in dev_slice(locomo, "heldout")]
    assert tune == ["conv-26", "conv-41", "conv-43", "conv-47"]
    assert heldout == ["conv-30", "conv-42", "conv-44"]
    assert dev_slice(locomo, "all") == locomo
    with pytest.raises(ValueError, match="unknown slice"):
        dev_slice(locomo, "train")
