"""Fit and check recall confidence: ``python -m benchmarks.calibrate_confidence``.

What the confidence should predict: that the context a plain ``query()`` returns (the seed
API's defaults: 10 memories, the brain's token budget) holds *all* the evidence turns of the
question. Each LoCoMo development conversation is its own brain; every turn is stored through
``MemoryEncoder.encode_many`` with its session date and ``metadata={"speaker": ...}``, and each
question is asked with ``ReflexPipeline.query(question, reference_time=<last session>)``.

The first ``--tune`` conversations are the tuning slice: a logistic regression of
:func:`~neural_memory.engine.retrieval.confidence.confidence_features` on the outcome is
fitted there (Newton's method, a small L2 penalty), once without and once with embeddings, and
printed as the constants to store in ``engine/retrieval/confidence.py``. The other
conversations are held out: for them the script prints, per mode, the reliability table
(10 equal-width bins: questions, mean confidence, share whose evidence was in the context),
the Brier score and the expected calibration error (ECE) of the fitted model, of the
constants the engine carries now, and of the formula used before calibration.

``--features FILE`` keeps the per-question features and outcomes (JSON), so a second run
only fits and reports (``--reuse``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.quality.datasets import (
    LmeQuestion,
    LocomoConversation,
    dev_slice,
    load_locomo,
    load_longmemeval,
)
from benchmarks.quality.evaluate import LME_ASKER
from benchmarks.quality.retrievers import evidence_in_context
from neural_memory import Brain
from neural_memory.engine.embeddings import Embedder, OnnxMiniLMEmbedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline, RetrievalResult
from neural_memory.engine.retrieval.confidence import (
    FEATURES,
    LEXICAL_COEFFICIENTS,
    SEMANTIC_COEFFICIENTS,
    confidence_features,
)
from neural_memory.storage import InMemoryStorage

MODES = ("lexical", "semantic")
BINS = 10
L2 = 1e-4
CURRENT = {"lexical": LEXICAL_COEFFICIENTS, "semantic": SEMANTIC_COEFFICIENTS}
"""The coefficients the engine carries now, per mode."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One question: its conversation, features, outcome and the pre-calibration confidence."""

    conversation: str
    category: int
    features: tuple[float, ...]
    held: bool
    any_held: bool
    old_confidence: float
    signals: dict[str, Any]


def recall_signals(result: RetrievalResult) -> dict[str, Any]:
    """What a recall had at hand beyond the features (kept to try new features offline)."""
    return {
        "scores": [f.score for f in result.fibers],
        "lexical": [f.lexical for f in result.fibers],
        "activation": [f.activation for f in result.fibers],
        "semantic": [f.semantic for f in result.fibers],
        "in_context": [f.content in result.context for f in result.fibers],
        "coverage": result.coverage,
        "tokens_used": result.tokens_used,
        "anchors": len(result.anchors),
        "query_words": len(result.query.split()),
    }


def old_confidence(top_score: float, coverage: float) -> float:
    """The confidence before calibration (0.5 coverage + 0.5 of a saturating top score)."""
    if top_score <= 0:
        return 0.0
    return min(1.0, 0.5 * coverage + 0.5 * top_score / (top_score + 0.5))


@dataclass(frozen=True, slots=True)
class Ask:
    """One question to ask a brain: when, by whom, and the texts of its evidence."""

    question: str
    reference_time: datetime
    evidence_texts: tuple[str, ...]
    category: int = 0
    asker: str | None = None


async def brain_samples(
    name: str, memories: Sequence[MemoryInput], asks: Sequence[Ask], embedder: Embedder | None
) -> list[Sample]:
    """Store ``memories`` in a fresh brain, ask each question, label it by its evidence.

    The label is whether *all* the evidence texts are in the returned context.
    """
    async with InMemoryStorage() as storage:
        brain = Brain.create(name)
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
        await encoder.encode_many(memories)
        pipeline = ReflexPipeline(storage, brain.config, embedder=embedder)
        samples = []
        for ask in asks:
            result = await pipeline.query(
                ask.question, reference_time=ask.reference_time, asker=ask.asker
            )
            share = evidence_in_context(ask.evidence_texts, result.context)
            top = result.fibers[0].score if result.fibers else 0.0
            samples.append(
                Sample(
                    conversation=name,
                    category=ask.category,
                    features=confidence_features(result.fibers, result.coverage)
                    if result.fibers
                    else (1.0,) + (0.0,) * (len(FEATURES) - 1),
                    held=share == 1.0,
                    any_held=share > 0.0,
                    old_confidence=old_confidence(top, result.coverage),
                    signals=recall_signals(result),
                )
            )
    return samples


async def conversation_samples(
    conversation: LocomoConversation, embedder: Embedder | None
) -> list[Sample]:
    """LoCoMo: every turn with its session date and speaker; asked as of the last session."""
    texts = {turn.dia_id: turn.text for turn in conversation.turns}
    memories = [
        MemoryInput(text=t.text, timestamp=t.timestamp, metadata={"speaker": t.speaker})
        for t in conversation.turns
    ]
    asks = [
        Ask(
            question=q.question,
            reference_time=conversation.last_timestamp,
            evidence_texts=tuple(texts[e] for e in q.evidence),
            category=q.category,
        )
        for q in conversation.questions
    ]
    return await brain_samples(conversation.sample_id, memories, asks, embedder)


async def lme_samples(question: LmeQuestion, embedder: Embedder | None) -> list[Sample]:
    """LongMemEval: its own haystack, one memory per non-blank turn (session date, role as speaker).

    Asked as of ``question_date`` by the user; the evidence is its user turns with
    ``has_answer``.
    """
    # Blank turns hold no evidence, and the engine refuses empty memories.
    turns = [t for t in question.iter_turns() if t.content.strip()]
    memories = [
        MemoryInput(text=t.content, timestamp=t.timestamp, metadata={"speaker": t.role})
        for t in turns
    ]
    evidence = tuple(t.content for t in turns if t.turn_id in question.relevant_turn_ids)
    ask = Ask(
        question=question.question,
        reference_time=question.question_date,
        evidence_texts=evidence,
        asker=LME_ASKER,
    )
    return await brain_samples(question.question_id, memories, [ask], embedder)


def fit(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Logistic regression by Newton's method; the bias (column 0) is not penalised."""
    weights = np.zeros(x.shape[1])
    penalty = np.full(x.shape[1], L2 * len(y))
    penalty[0] = 0.0
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(x @ weights)))
        gradient = x.T @ (p - y) + penalty * weights
        hessian = (
            (x * (p * (1 - p))[:, None]).T @ x + np.diag(penalty) + 1e-9 * np.eye(len(weights))
        )
        step = np.linalg.solve(hessian, gradient)
        weights -= step
        if float(np.max(np.abs(step))) < 1e-8:
            break
    return weights


def fit_columns(
    x: npt.NDArray[np.float64], y: npt.NDArray[np.float64], columns: Sequence[str] | None
) -> npt.NDArray[np.float64]:
    """:func:`fit` on the named :data:`FEATURES` only (all when None); the others weigh 0."""
    if columns is None:
        return fit(x, y)
    unknown = set(columns) - set(FEATURES)
    if unknown:
        raise SystemExit(f"unknown features {sorted(unknown)}; choose from {', '.join(FEATURES)}")
    chosen = [FEATURES.index(name) for name in FEATURES if name in columns]
    weights = np.zeros(len(FEATURES))
    weights[chosen] = fit(x[:, chosen], y)
    return weights


def predict(
    x: npt.NDArray[np.float64], weights: Sequence[float] | npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """The model's probabilities (what ``calibrated_confidence`` computes, unrounded)."""
    logits = np.clip(x @ np.asarray(weights, dtype=np.float64), -50, 50)
    result: npt.NDArray[np.float64] = 1.0 / (1.0 + np.exp(-logits))
    return result


def reliability(p: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> dict[str, Any]:
    """Reliability table (equal-width bins), Brier score and ECE of probabilities ``p``."""
    rows = []
    ece = 0.0
    for b in range(BINS):
        low, high = b / BINS, (b + 1) / BINS
        inside = (p >= low) & ((p < high) if b < BINS - 1 else (p <= high))
        count = int(inside.sum())
        if count:
            mean, rate = float(p[inside].mean()), float(y[inside].mean())
            ece += count / len(p) * abs(mean - rate)
            rows.append({"bin": f"{low:.1f}-{high:.1f}", "n": count, "confidence": mean,
                         "evidence_rate": rate})  # fmt: skip
    return {
        "questions": len(p),
        "base_rate": float(y.mean()),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": ece,
        "mean_confidence": float(p.mean()),
        "table": rows,
    }


def print_report(title: str, report: dict[str, Any]) -> None:
    """The reliability table and its summary figures."""
    print(f"\n{title}: {report['questions']} questions, evidence in context "
          f"{report['base_rate']:.3f}, mean confidence {report['mean_confidence']:.3f}, "
          f"Brier {report['brier']:.4f}, ECE {report['ece']:.4f}")  # fmt: skip
    print("  bin       n     confidence  evidence rate")
    for row in report["table"]:
        print(f"  {row['bin']}  {row['n']:5d}  {row['confidence']:.3f}       "
              f"{row['evidence_rate']:.3f}")  # fmt: skip


def sample_rows(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """Samples as JSON rows (the ``--features`` file)."""
    return [
        {"conversation": s.conversation, "category": s.category,
         "features": list(s.features), "held": s.held, "any_held": s.any_held,
         "old_confidence": s.old_confidence, "signals": s.signals}
        for s in samples
    ]  # fmt: skip


async def load_embedder(modes: Sequence[str]) -> OnnxMiniLMEmbedder | None:
    """The embedding model when a mode needs it."""
    if "semantic" not in modes:
        return None
    embedder = OnnxMiniLMEmbedder()
    await embedder.load()
    return embedder


Brains = Sequence[tuple[str, int, Callable[[Embedder | None], Awaitable[list[Sample]]]]]
"""Per brain: its name, its number of questions, and what stores and asks it."""


async def collect_modes(
    brains: Brains, modes: Sequence[str], checkpoint: Path | None = None
) -> dict[str, Any]:
    """Per mode, the feature rows of every brain's questions (printing progress per brain).

    ``checkpoint``: a file each brain's rows are appended to as JSON lines as soon as they are
    known (a long run stopped early still leaves what it measured).
    """
    embedder = await load_embedder(modes)
    collected: dict[str, Any] = {}
    for mode in modes:
        samples: list[Sample] = []
        for name, questions, ask in brains:
            started = time.perf_counter()
            found = await ask(embedder if mode == "semantic" else None)
            samples += found
            if checkpoint is not None:
                with checkpoint.open("a", encoding="utf-8") as handle:
                    handle.write(json.dumps({"mode": mode, "rows": sample_rows(found)}) + "\n")
            print(f"{mode} {name}: {questions} questions "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
        collected[mode] = sample_rows(samples)
    if embedder is not None:
        await embedder.aclose()
    return collected


async def collect(
    conversations: Sequence[LocomoConversation],
    modes: Sequence[str],
    checkpoint: Path | None = None,
) -> dict[str, Any]:
    """LoCoMo, per mode: every question's features and outcome (and its tuning slice, the
    harness's ``--slice tune``)."""
    brains = [
        (c.sample_id, len(c.questions), partial(conversation_samples, c)) for c in conversations
    ]
    collected = await collect_modes(brains, modes, checkpoint)
    collected["tune"] = [c.sample_id for c in dev_slice(conversations, "tune")]
    return collected


async def collect_lme(
    questions: Sequence[LmeQuestion], modes: Sequence[str], checkpoint: Path | None = None
) -> dict[str, Any]:
    """LongMemEval, per mode: each question's features and outcome (its own brain)."""
    return await collect_modes(
        [(q.question_id, 1, partial(lme_samples, q)) for q in questions], modes, checkpoint
    )


@dataclass(frozen=True, slots=True)
class Recalled:
    """A recalled memory's scores as a feature row keeps them."""

    score: float
    semantic: float


def row_features(row: dict[str, Any]) -> list[float]:
    """The engine's :data:`FEATURES` of a row: recomputed from its signals when the row has
    them (so a changed feature set needs no new recall), else the features it stored."""
    signals = row.get("signals")
    if signals is None or not signals["scores"]:
        return list(row["features"])
    recalled = [Recalled(s, c) for s, c in zip(signals["scores"], signals["semantic"], strict=True)]
    return list(confidence_features(recalled, signals["coverage"]))


def arrays(
    rows: Sequence[dict[str, Any]],
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Features, outcomes and pre-calibration confidences of feature rows."""
    x = np.array([row_features(r) for r in rows], dtype=np.float64).reshape(
        len(rows), len(FEATURES)
    )
    y = np.array([float(r["held"]) for r in rows])
    old = np.array([r["old_confidence"] for r in rows])
    return x, y, old


def analyse(collected: dict[str, Any], columns: Sequence[str] | None = None) -> dict[str, Any]:
    """Fit on the tuning slice; reliability of each model on the held-out slice."""
    tune = set(collected["tune"])
    results: dict[str, Any] = {}
    for mode in MODES:
        if mode not in collected:
            continue
        rows = collected[mode]
        x, y, old = arrays(rows)
        in_tune = np.array([r["conversation"] in tune for r in rows])
        weights = fit_columns(x[in_tune], y[in_tune], columns)
        held_out = ~in_tune
        results[mode] = {
            "fitted": [round(float(w), 4) for w in weights],
            "tuning_questions": int(in_tune.sum()),
            "fitted_on_held_out": reliability(predict(x[held_out], weights), y[held_out]),
            "current_on_held_out": reliability(predict(x[held_out], CURRENT[mode]), y[held_out]),
            "before_calibration_on_held_out": reliability(old[held_out], y[held_out]),
        }
    return results


def analyse_lme(collected: dict[str, Any]) -> dict[str, Any]:
    """Reliability of the engine's constants (no refit) on every LongMemEval question."""
    results: dict[str, Any] = {}
    for mode in MODES:
        if mode not in collected:
            continue
        x, y, old = arrays(collected[mode])
        results[mode] = {
            "current": reliability(predict(x, CURRENT[mode]), y),
            "before_calibration": reliability(old, y),
        }
    return results


def run_locomo(args: argparse.Namespace) -> None:
    """LoCoMo: collect (or reuse), fit, print the constants and the held-out reliability."""
    if args.reuse:
        collected = json.loads(args.features.read_text())
    else:
        collected = asyncio.run(collect(load_locomo(args.data), args.modes, args.checkpoint))
        args.features.write_text(json.dumps(collected))
    results = analyse(collected, args.fit_features)
    print(f"features: {', '.join(FEATURES)}; tuning slice: {', '.join(collected['tune'])}")
    for mode, found in results.items():
        name = "LEXICAL" if mode == "lexical" else "SEMANTIC"
        print(f"\n{name}_COEFFICIENTS = {tuple(found['fitted'])}  "
              f"# fitted on {found['tuning_questions']} questions")  # fmt: skip
        for key in ("fitted_on_held_out", "current_on_held_out", "before_calibration_on_held_out"):
            print_report(f"LoCoMo {mode}, {key.replace('_', ' ')}", found[key])


def run_longmemeval(args: argparse.Namespace) -> None:
    """LongMemEval_S: collect (or reuse) and print the reliability of the engine's constants."""
    if args.reuse:
        collected = json.loads(args.lme_features.read_text())
    else:
        questions = load_longmemeval(args.data)[args.lme_skip : args.lme_questions]
        collected = asyncio.run(collect_lme(questions, args.modes, args.checkpoint))
        args.lme_features.write_text(json.dumps(collected))
    for mode, found in analyse_lme(collected).items():
        for key in ("current", "before_calibration"):
            print_report(f"LongMemEval_S {mode}, {key.replace('_', ' ')}", found[key])


def analyse_joint(
    sets: dict[str, dict[str, Any]],
    tune: dict[str, set[str]],
    columns: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Fit on the tuning slices of every set together; reliability per set on its held out.

    ``sets`` maps a set's name to its collected features (per mode), ``tune`` to the brain
    names (conversations, questions) of its tuning slice; ``columns`` the features fitted
    (all when None).
    """
    results: dict[str, Any] = {}
    for mode in MODES:
        if not all(mode in collected for collected in sets.values()):
            continue
        parts = {name: arrays(collected[mode]) for name, collected in sets.items()}
        in_tune = {
            name: np.array([r["conversation"] in tune[name] for r in collected[mode]], dtype=bool)
            for name, collected in sets.items()
        }
        x = np.concatenate([parts[name][0][in_tune[name]] for name in sets])
        y = np.concatenate([parts[name][1][in_tune[name]] for name in sets])
        weights = fit_columns(x, y, columns)
        found: dict[str, Any] = {"fitted": [round(float(w), 4) for w in weights]}
        found["tuning_questions"] = len(y)
        for name, (xs, ys, old) in parts.items():
            held = ~in_tune[name]
            found[name] = {
                "fitted": reliability(predict(xs[held], weights), ys[held]),
                "current": reliability(predict(xs[held], CURRENT[mode]), ys[held]),
                "before_calibration": reliability(old[held], ys[held]),
            }
        results[mode] = found
    return results


def run_joint(args: argparse.Namespace) -> None:
    """Fit on the tuning slices of LoCoMo and LongMemEval_S (the harness's ``--slice tune``)
    together, from the feature files of an earlier ``--dataset both`` run; report each set's
    held-out reliability."""
    sets = {
        "LoCoMo": json.loads(args.features.read_text()),
        "LongMemEval_S": json.loads(args.lme_features.read_text()),
    }
    tune = {
        "LoCoMo": {c.sample_id for c in dev_slice(load_locomo(args.data), "tune")},
        "LongMemEval_S": {q.question_id for q in dev_slice(load_longmemeval(args.data), "tune")},
    }
    for mode, found in analyse_joint(sets, tune, args.fit_features).items():
        if mode not in args.modes:
            continue
        name = "LEXICAL" if mode == "lexical" else "SEMANTIC"
        print(f"\n{name}_COEFFICIENTS = {tuple(found['fitted'])}  "
              f"# fitted on {found['tuning_questions']} questions of both sets")  # fmt: skip
        for data in sets:
            for key in ("fitted", "current", "before_calibration"):
                title = f"{data} held out, {mode}, {key.replace('_', ' ')}"
                print_report(title, found[data][key])


def main(argv: Sequence[str] | None = None) -> None:
    """Report calibration on the chosen data sets (``--dataset``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="The shared data folder.")
    parser.add_argument(
        "--dataset",
        choices=("locomo", "longmemeval", "both", "joint"),
        default="locomo",
        help="joint: fit on both sets' tuning slices from the feature files of a 'both' run.",
    )
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    parser.add_argument("--lme-questions", type=int, default=100, help="First N LME questions.")
    parser.add_argument(
        "--lme-skip", type=int, default=0, help="Skip the first N of those (split a long run)."
    )
    parser.add_argument("--features", type=Path, default=Path("confidence_features.json"))
    parser.add_argument("--lme-features", type=Path, default=Path("confidence_features_lme.json"))
    parser.add_argument(
        "--checkpoint", type=Path, default=None, help="Append each brain's rows here (JSON lines)."
    )
    parser.add_argument(
        "--fit-features", nargs="+", default=None, help="Fit only these FEATURES (others 0)."
    )
    parser.add_argument("--reuse", action="store_true", help="Reuse the features, no recall.")
    args = parser.parse_args(argv)
    if args.dataset == "joint":
        run_joint(args)
        return
    if args.dataset in ("locomo", "both"):
        run_locomo(args)
    if args.dataset in ("longmemeval", "both"):
        run_longmemeval(args)


if __name__ == "__main__":
    main()
