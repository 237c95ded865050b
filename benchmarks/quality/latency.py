"""Query latency and recall with embeddings beside lexical-only, same brains, same process.

``python -m benchmarks.quality.latency [--dataset locomo|longmemeval] [--limit N]
[--slice tune|heldout|all] [--questions N] [--one-per-type]`` builds each brain once with
MiniLM vectors and asks every question three ways, in turns (the order rotates per question,
so a burst of load hits each way alike): the full engine with MiniLM (the question embedded
live, its cache off), the same weights without embeddings, and the lexical signal alone
(``nm_lexical``). Recall does not reinforce, so the three ways see the same brain. It prints
the median and p90 query time of each way, the ratios of the medians, the load average
before and after (on a loaded machine only the same-run ratios mean much), and each way's
recall@10 per question type: LongMemEval turn recall_all@10 (its question asked by the
user, as the harness asks), LoCoMo recall@10. ``--one-per-type`` keeps the first
LongMemEval question of each type (embedding a haystack of ~500 long turns is what costs).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from benchmarks.quality import metrics as m
from benchmarks.quality.datasets import (
    SLICES,
    default_data_dir,
    dev_slice,
    load_locomo,
    load_longmemeval,
)
from benchmarks.quality.evaluate import lme_turn_docs, locomo_docs
from benchmarks.quality.retrievers import Doc
from benchmarks.quality.systems import NM_SYSTEMS
from neural_memory import Brain
from neural_memory.engine.embeddings import Embedder, OnnxMiniLMEmbedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import DepthLevel, FusionWeights, ReflexPipeline
from neural_memory.storage import InMemoryStorage

WAYS = ("with MiniLM", "no embeddings", "lexical only")


@dataclass(frozen=True, slots=True)
class Haystack:
    """One brain's docs and the questions asked of it (text, as-of time, asker)."""

    docs: list[Doc]
    questions: list[Asked]


@dataclass(frozen=True, slots=True)
class Asked:
    """One question: its text, as-of time, asker, type and the doc ids that answer it."""

    text: str
    when: datetime
    asker: str | None
    group: str
    relevant: frozenset[str]
    all_needed: bool
    """LongMemEval's recall_all (every relevant doc), else LoCoMo's partial credit."""


def haystacks(
    dataset: str, which: str, limit: int | None, one_per_type: bool = False
) -> list[Haystack]:
    """The brains of ``dataset``'s slice ``which`` (at most ``limit``)."""
    data_dir = default_data_dir()
    if dataset == "locomo":
        out = [
            Haystack(
                locomo_docs(c),
                [
                    Asked(
                        q.question,
                        c.last_timestamp,
                        None,
                        q.category_name,
                        frozenset(q.evidence),
                        all_needed=False,
                    )
                    for q in c.questions
                ],
            )
            for c in dev_slice(load_locomo(data_dir), which)
        ]
    else:
        questions = dev_slice(load_longmemeval(data_dir, strict=True), which)
        if one_per_type:
            firsts = {q.question_type: q for q in reversed(questions)}
            questions = [q for q in questions if firsts[q.question_type] is q]
        out = [
            Haystack(
                [d for d in lme_turn_docs(q) if d.text.strip()],  # as the harness: no blanks
                [
                    Asked(
                        q.question,
                        q.question_date,
                        "user",
                        q.question_type,
                        q.relevant_turn_ids,
                        all_needed=True,
                    )
                ],
            )
            for q in questions
        ]
    return out[:limit] if limit is not None else out


@dataclass(slots=True)
class Measured:
    """Per way: milliseconds per question and (group, recall@10) per question."""

    ms: dict[str, list[float]]
    recall: dict[str, list[tuple[str, float]]]


async def time_haystack(
    haystack: Haystack, index_embedder: Embedder, query_embedder: Embedder, cap: int | None
) -> Measured:
    """Time and score each way on one brain built once."""
    brain = Brain.create("latency")
    storage = InMemoryStorage()
    await storage.initialize()
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config, embedder=index_embedder)
    results = await encoder.encode_many(
        [
            MemoryInput(text=d.text, timestamp=d.timestamp, metadata={"speaker": d.speaker})
            for d in haystack.docs
        ]
    )
    docs_of: dict[str, list[str]] = {}
    for doc, result in zip(haystack.docs, results, strict=True):
        docs_of.setdefault(result.fiber.id, []).append(doc.id)
    lexical = NM_SYSTEMS["nm_lexical"].weights
    pipelines = {
        WAYS[0]: _pipeline(storage, brain, query_embedder, FusionWeights()),
        WAYS[1]: _pipeline(storage, brain, None, FusionWeights()),
        WAYS[2]: _pipeline(storage, brain, None, lexical),
    }
    measured = Measured({w: [] for w in WAYS}, {w: [] for w in WAYS})
    for pipeline in pipelines.values():  # warm-up: the brain's index is built on first query
        await pipeline.query("warm up", reference_time=haystack.questions[0].when)
    questions = haystack.questions[:cap] if cap is not None else haystack.questions
    for turn, asked in enumerate(questions):
        for way in WAYS[turn % 3 :] + WAYS[: turn % 3]:
            started = time.perf_counter()
            result = await pipelines[way].query(
                asked.text,
                depth=DepthLevel.CONTEXT,
                reference_time=asked.when,
                max_fibers=10,
                asker=asked.asker,
            )
            measured.ms[way].append((time.perf_counter() - started) * 1000)
            ranking = [d for f in result.fibers for d in docs_of.get(f.fiber_id, ())]
            measured.recall[way].append((asked.group, _recall(ranking, asked)))
    await storage.close()
    return measured


def _recall(ranking: Sequence[str], asked: Asked) -> float:
    if asked.all_needed:
        return m.recall_all_at_k(ranking, asked.relevant, 10)
    return m.recall_at_k(ranking, asked.relevant, 10)


def _pipeline(
    storage: InMemoryStorage, brain: Brain, embedder: Embedder | None, weights: FusionWeights
) -> ReflexPipeline:
    return ReflexPipeline(
        storage,
        brain.config,
        embedder=embedder,
        reinforce=False,
        record_events=False,
        weights=weights,
    )


def _p90(values: Sequence[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]


async def main(args: argparse.Namespace) -> None:
    """Build the brains, time and score the three ways, print the tables."""
    load_before = os.getloadavg()
    index_embedder = OnnxMiniLMEmbedder(cache_size=0)
    query_embedder = OnnxMiniLMEmbedder(cache_size=0)
    await index_embedder.load()
    total = Measured({w: [] for w in WAYS}, {w: [] for w in WAYS})
    for haystack in haystacks(args.dataset, args.slice, args.limit, args.one_per_type):
        started = time.perf_counter()
        measured = await time_haystack(haystack, index_embedder, query_embedder, args.questions)
        for way in WAYS:
            total.ms[way].extend(measured.ms[way])
            total.recall[way].extend(measured.recall[way])
        figures = ", ".join(
            f"{way} R@10 {statistics.mean(v for _, v in measured.recall[way]):.3f} "
            f"p50 {statistics.median(measured.ms[way]):.0f} ms"
            for way in WAYS
        )
        print(
            f"brain of {len(haystack.docs)} docs, {len(measured.ms[WAYS[0]])} questions "
            f"({time.perf_counter() - started:.0f} s with indexing): {figures}",
            flush=True,
        )
    await index_embedder.aclose()
    await query_embedder.aclose()
    load_after = os.getloadavg()
    _print_latency(args, total.ms)
    print(
        "load average (1/5/15 min) before: " + _load(load_before) + "; after: " + _load(load_after)
    )
    _print_recall(total.recall)


def _load(values: Sequence[float]) -> str:
    return " / ".join(f"{x:.1f}" for x in values)


def _print_latency(args: argparse.Namespace, ms: dict[str, list[float]]) -> None:
    base = statistics.median(ms[WAYS[2]])
    print(f"\n{args.dataset}, slice {args.slice}: {len(ms[WAYS[0]])} questions per way")
    print(f"{'way':<16} {'median ms':>10} {'p90 ms':>8} {'x lexical only':>15}")
    for way in WAYS:
        median = statistics.median(ms[way])
        print(f"{way:<16} {median:>10.1f} {_p90(ms[way]):>8.1f} {median / base:>15.2f}")


def _print_recall(recall: dict[str, list[tuple[str, float]]]) -> None:
    groups = sorted({group for group, _ in recall[WAYS[0]]})
    print(f"\nrecall@10 {'group':<26} {'n':>3} " + " ".join(f"{w:>14}" for w in WAYS))
    for group in ["all", *groups]:
        cells = []
        for way in WAYS:
            values = [v for g, v in recall[way] if group in ("all", g)]
            cells.append(f"{statistics.mean(values):>14.3f}")
        count = sum(1 for g, _ in recall[WAYS[0]] if group in ("all", g))
        print(f"          {group:<26} {count:>3} " + " ".join(cells))


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.latency")
    parser.add_argument("--dataset", choices=("locomo", "longmemeval"), default="locomo")
    parser.add_argument("--slice", choices=SLICES, default="all")
    parser.add_argument("--limit", type=int, default=None, help="at most N brains")
    parser.add_argument("--questions", type=int, default=None, help="at most N per brain")
    parser.add_argument(
        "--one-per-type", action="store_true", help="LongMemEval: the first question of each type"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
