"""The calibration script on a tiny LongMemEval-shaped haystack (no shared data needed)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchmarks.quality.datasets import LONGMEMEVAL_FILE

from benchmarks import calibrate_confidence as calib
from neural_memory.engine.encoder import MemoryInput

FILLER = [
    "I repainted the garden fence last weekend.",
    "The train to the coast was late again.",
    "We tried a new pasta recipe with lemon.",
    "My sister adopted a grey kitten.",
]


def lme_item(question_id: str) -> dict[str, object]:
    """One LongMemEval_S item: two dated sessions, one user turn holding the answer."""
    evidence = {"role": "user", "content": "My violin teacher is called Margot Ellery.",
                "has_answer": True}  # fmt: skip
    first = [{"role": "user", "content": text} for text in FILLER[:2]]
    second = [evidence, {"role": "assistant", "content": "Lovely, violin lessons are fun."}]
    second += [{"role": "user", "content": text} for text in FILLER[2:]]
    return {
        "question_id": question_id,
        "question_type": "single-session-user",
        "question": "What is the name of my violin teacher?",
        "question_date": "2023/06/01 (Thu) 10:00",
        "answer": "Margot Ellery",
        "answer_session_ids": ["s2"],
        "haystack_session_ids": ["s1", "s2"],
        "haystack_dates": ["2023/05/01 (Mon) 09:00", "2023/05/20 (Sat) 02:21"],
        "haystack_sessions": [first, second],
    }


def test_longmemeval_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / LONGMEMEVAL_FILE
    path.parent.mkdir(parents=True)
    items = [lme_item("q1"), lme_item("q2"), lme_item("q3_abs")]
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        json.dump(items, handle)
    features = tmp_path / "features.json"
    argv = ["--dataset", "longmemeval", "--modes", "lexical", "--data", str(tmp_path),
            "--lme-questions", "1", "--lme-features", str(features)]  # fmt: skip
    calib.main(argv)
    rows = json.loads(features.read_text())["lexical"]
    assert [row["conversation"] for row in rows] == ["q1"]
    assert rows[0]["held"] and rows[0]["any_held"]
    assert len(rows[0]["features"]) == len(calib.FEATURES)
    printed = capsys.readouterr().out
    assert "LongMemEval_S lexical, current: 1 questions, evidence in context 1.000" in printed
    assert "LongMemEval_S lexical, before calibration: 1 questions" in printed
    report = calib.analyse_lme(json.loads(features.read_text()))["lexical"]["current"]
    assert report["questions"] == 1 and report["base_rate"] == 1.0
    assert set(report) == {"questions", "base_rate", "brier", "ece", "mean_confidence", "table"}


async def test_label_needs_all_evidence_in_context() -> None:
    when = datetime(2023, 5, 20, tzinfo=UTC)
    memories = [MemoryInput(text=text, timestamp=when) for text in FILLER]
    stored, missing = FILLER[3], "A text that was never stored in this brain."
    asks = [
        calib.Ask(question="Who adopted a kitten?", reference_time=when,
                  evidence_texts=(stored,)),
        calib.Ask(question="Who adopted a kitten?", reference_time=when,
                  evidence_texts=(stored, missing)),
    ]  # fmt: skip
    whole, partial = await calib.brain_samples("label", memories, asks, None)
    assert whole.held and whole.any_held
    assert not partial.held and partial.any_held


def feature_rows(name: str, margins: list[float], held: list[bool]) -> list[dict[str, object]]:
    """Feature rows of one brain: only the margin varies, and it decides the outcome."""
    return [
        {"conversation": name, "category": 0, "features": [1.0, 0.5, 0.5, m, 0.0], "held": h,
         "any_held": h, "old_confidence": 0.9}
        for m, h in zip(margins, held, strict=True)
    ]  # fmt: skip


def test_joint_fit_uses_only_tuning_brains_and_reports_each_sets_held_out() -> None:
    margins = [0.05, 0.1, 0.15, 0.2, 0.6, 0.7, 0.8, 0.9, 0.1, 0.85]
    held = [False, False, True, False, True, True, False, True, False, True]
    tuning = feature_rows("a-tune", margins, held), feature_rows("b-tune", margins, held)
    sets = {
        "A": {"lexical": tuning[0] + feature_rows("a-held", [0.1], [False])},
        "B": {"lexical": tuning[1] + feature_rows("b-held", [0.9, 0.05], [True, True])},
    }
    found = calib.analyse_joint(sets, {"A": {"a-tune"}, "B": {"b-tune"}})["lexical"]
    assert found["tuning_questions"] == 2 * len(margins)
    assert found["A"]["fitted"]["questions"] == 1
    assert found["B"]["fitted"]["questions"] == 2
    assert found["fitted"][3] > 0  # a larger margin means evidence more often in context
    assert found["B"]["before_calibration"]["mean_confidence"] == pytest.approx(0.9)


def test_features_are_recomputed_from_a_rows_signals() -> None:
    signals = {"scores": [2.0, 1.5, 1.0, 0.9, 0.5], "semantic": [0.7, 0.1, 0.1, 0.1, 0.1],
               "coverage": 0.8}  # fmt: skip
    row = {"features": [9.0] * len(calib.FEATURES), "signals": signals}
    features = dict(zip(calib.FEATURES, calib.row_features(row), strict=True))
    assert features["coverage"] == 0.8 and features["top_cosine"] == 0.7
    assert features["margin"] == pytest.approx(0.75)  # 0.5 against 2.0
    assert calib.row_features({"features": [1.0, 2.0]}) == [1.0, 2.0]  # no signals kept


def test_fitting_chosen_features_weighs_the_others_zero() -> None:
    rows = feature_rows("t", [0.05, 0.1, 0.15, 0.2, 0.6, 0.7, 0.8, 0.9],
                        [False, False, True, False, True, True, False, True])  # fmt: skip
    x, y, _ = calib.arrays(rows)
    weights = calib.fit_columns(x, y, ["bias", "margin"])
    assert [calib.FEATURES[i] for i, w in enumerate(weights) if w != 0] == ["bias", "margin"]
    assert weights[calib.FEATURES.index("margin")] > 0
    with pytest.raises(SystemExit):
        calib.fit_columns(x, y, ["bias", "no_such_feature"])
