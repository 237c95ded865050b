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
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from benchmarks.quality.datasets import LocomoConversation, load_locomo
from benchmarks.quality.retrievers import normalise_text
from neural_memory import Brain
from neural_memory.engine.embeddings import Embedder, OnnxMiniLMEmbedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline
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


@dataclass(frozen=True, slots=True)
class Sample:
    """One question: its conversation, features, outcome and the pre-calibration confidence."""

    conversation: str
    category: int
    features: tuple[float, ...]
    held: bool
    any_held: bool
    old_confidence: float


def old_confidence(top_score: float, coverage: float) -> float:
    """The confidence before calibration (0.5 coverage + 0.5 of a saturating top score)."""
    if top_score <= 0:
        return 0.0
    return min(1.0, 0.5 * coverage + 0.5 * top_score / (top_score + 0.5))


async def conversation_samples(
    conversation: LocomoConversation, embedder: Embedder | None
) -> list[Sample]:
    """Store one conversation in a fresh brain and ask each of its questions."""
    texts = {turn.dia_id: turn.text for turn in conversation.turns}
    async with InMemoryStorage() as storage:
        brain = Brain.create(conversation.sample_id)
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
        await encoder.encode_many(
            [
                MemoryInput(text=t.text, timestamp=t.timestamp, metadata={"speaker": t.speaker})
                for t in conversation.turns
            ]
        )
        pipeline = ReflexPipeline(storage, brain.config, embedder=embedder)
        samples = []
        for question in conversation.questions:
            result = await pipeline.query(
                question.question, reference_time=conversation.last_timestamp
            )
            context = normalise_text(result.context)
            found = [normalise_text(texts[e]) in context for e in question.evidence]
            top = result.fibers[0].score if result.fibers else 0.0
            samples.append(
                Sample(
                    conversation=conversation.sample_id,
                    category=question.category,
                    features=confidence_features(result.fibers, result.coverage)
                    if result.fibers
                    else (1.0, 0.0, 0.0, 0.0, 0.0),
                    held=all(found),
                    any_held=any(found),
                    old_confidence=old_confidence(top, result.coverage),
                )
            )
    return samples


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


def predict(x: npt.NDArray[np.float64], weights: Sequence[float]) -> npt.NDArray[np.float64]:
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


async def collect(conversations: Sequence[LocomoConversation], tune: int) -> dict[str, Any]:
    """Per mode, every question's features and outcome (and which slice it belongs to)."""
    embedder = OnnxMiniLMEmbedder()
    await embedder.load()
    collected: dict[str, Any] = {"tune": [c.sample_id for c in conversations[:tune]]}
    for mode in MODES:
        samples: list[Sample] = []
        for conversation in conversations:
            started = time.perf_counter()
            samples += await conversation_samples(
                conversation, embedder if mode == "semantic" else None
            )
            print(f"{mode} {conversation.sample_id}: {len(conversation.questions)} questions "
                  f"in {time.perf_counter() - started:.0f} s", flush=True)  # fmt: skip
        collected[mode] = [
            {"conversation": s.conversation, "category": s.category,
             "features": list(s.features), "held": s.held, "any_held": s.any_held,
             "old_confidence": s.old_confidence}
            for s in samples
        ]  # fmt: skip
    await embedder.aclose()
    return collected


def analyse(collected: dict[str, Any]) -> dict[str, Any]:
    """Fit on the tuning slice; reliability of each model on the held-out slice."""
    tune = set(collected["tune"])
    current = {"lexical": LEXICAL_COEFFICIENTS, "semantic": SEMANTIC_COEFFICIENTS}
    results: dict[str, Any] = {}
    for mode in MODES:
        rows = collected[mode]
        x = np.array([r["features"] for r in rows], dtype=np.float64)
        y = np.array([float(r["held"]) for r in rows])
        old = np.array([r["old_confidence"] for r in rows])
        in_tune = np.array([r["conversation"] in tune for r in rows])
        weights = fit(x[in_tune], y[in_tune])
        held_out = ~in_tune
        results[mode] = {
            "fitted": [round(float(w), 4) for w in weights],
            "tuning_questions": int(in_tune.sum()),
            "fitted_on_held_out": reliability(predict(x[held_out], weights), y[held_out]),
            "current_on_held_out": reliability(predict(x[held_out], current[mode]), y[held_out]),
            "before_calibration_on_held_out": reliability(old[held_out], y[held_out]),
        }
    return results


def main(argv: Sequence[str] | None = None) -> None:
    """Collect (or reuse) the features, fit, print the constants and the reliability."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="The shared data folder.")
    parser.add_argument("--tune", type=int, default=4, help="Conversations fitted on.")
    parser.add_argument("--features", type=Path, default=Path("confidence_features.json"))
    parser.add_argument("--reuse", action="store_true", help="Reuse --features, do not recall.")
    args = parser.parse_args(argv)
    if args.reuse:
        collected = json.loads(args.features.read_text())
    else:
        conversations = sorted(load_locomo(args.data), key=lambda c: c.sample_id)
        collected = asyncio.run(collect(conversations, args.tune))
        args.features.write_text(json.dumps(collected))
    results = analyse(collected)
    print(f"features: {', '.join(FEATURES)}; tuning slice: {', '.join(collected['tune'])}")
    for mode in MODES:
        found = results[mode]
        name = "LEXICAL" if mode == "lexical" else "SEMANTIC"
        print(f"\n{name}_COEFFICIENTS = {tuple(found['fitted'])}  "
              f"# fitted on {found['tuning_questions']} questions")  # fmt: skip
        for key in ("fitted_on_held_out", "current_on_held_out", "before_calibration_on_held_out"):
            print_report(f"{mode}, {key.replace('_', ' ')}", found[key])


if __name__ == "__main__":
    main()
