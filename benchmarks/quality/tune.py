"""Fast weight sweeps on LoCoMo: recall@k under several fusion settings, one index build.

``python -m benchmarks.quality.tune [--limit N] [--embeddings] [--slice tune|heldout]
[--settings "NAME;..."]`` prints, per setting, recall@5/@10 for all categories and per
category. Questions are asked as of the conversation's last session, as the harness asks.
Recall does not reinforce here, so every setting sees the same brain, built once per
conversation: a quick tuning loop.

The measured ablations (every measure on both data sets, latency, sleep between sessions,
the baselines and the PyPI package side by side) are ``python -m benchmarks.quality.run``
with the systems ``nm_lexical,nm_embed,nm_graph,nm_time,nm_sleep``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from benchmarks.quality.datasets import SLICES, default_data_dir, dev_slice, load_locomo
from benchmarks.quality.metrics import recall_at_k
from neural_memory import Brain
from neural_memory.engine.embeddings import Embedder, load_default_embedder
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import DepthLevel, FusionWeights, ReflexPipeline
from neural_memory.storage import InMemoryStorage

SETTINGS: dict[str, dict[str, object]] = {
    "lexical only": {"weights": FusionWeights(activation=0, semantic=0, time=0, entity=0)},
    "+ graph": {"weights": FusionWeights(semantic=0, time=0, entity=0)},
    "+ graph + entity": {"weights": FusionWeights(semantic=0, time=0)},
    "+ graph + entity + time": {"weights": FusionWeights(semantic=0)},
    "full": {"weights": FusionWeights()},
    "full, gamma 1": {"weights": FusionWeights(activation_gamma=1.0)},
    "full, act 0.3": {"weights": FusionWeights(activation=0.3)},
    "full, act 0.8": {"weights": FusionWeights(activation=0.8)},
    "full, entity 0.4": {"weights": FusionWeights(entity=0.4)},
    "full, time 0.6": {"weights": FusionWeights(time=0.6)},
    "full, time 1.0": {"weights": FusionWeights(time=1.0)},
    "full, feedback 0.2": {"weights": FusionWeights(feedback=0.2)},
    "full, feedback 0.4": {"weights": FusionWeights(feedback=0.4)},
    "full, feedback 0.6": {"weights": FusionWeights(feedback=0.6)},
    "full, feedback 0.8": {"weights": FusionWeights(feedback=0.8)},
}


async def evaluate(
    limit: int | None,
    embedder: Embedder | None,
    data_dir: Path,
    which: str = "all",
    names: Sequence[str] = tuple(SETTINGS),
) -> None:
    conversations = dev_slice(load_locomo(data_dir), which)[:limit]
    settings = {name: SETTINGS[name] for name in names}
    scores: dict[str, dict[str, list[float]]] = {n: defaultdict(list) for n in settings}
    latency: dict[str, list[float]] = defaultdict(list)
    for conversation in conversations:
        storage = InMemoryStorage()
        brain = Brain.create(conversation.sample_id)
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=embedder)
        fiber_docs: dict[str, list[str]] = defaultdict(list)
        turns = conversation.turns
        results = await encoder.encode_many(
            [
                MemoryInput(text=t.text, timestamp=t.timestamp,
                            metadata={"speaker": t.speaker, "doc_id": t.dia_id})
                for t in turns
            ]
        )  # fmt: skip
        for turn, result in zip(turns, results, strict=True):
            fiber_docs[result.fiber.id].append(turn.dia_id)
        for name, options in settings.items():
            weights = options["weights"]
            assert isinstance(weights, FusionWeights)
            pipeline = ReflexPipeline(storage, brain.config, embedder=embedder, weights=weights,
                                      reinforce=False, record_events=False)  # fmt: skip
            for question in conversation.questions:
                started = time.perf_counter()
                result = await pipeline.query(
                    question.question,
                    depth=DepthLevel.CONTEXT,
                    max_fibers=10,
                    reference_time=conversation.last_timestamp,
                )
                latency[name].append((time.perf_counter() - started) * 1000)
                ids: list[str] = []
                for fiber in result.fibers:
                    ids.extend(d for d in fiber_docs[fiber.fiber_id] if d not in ids)
                for k in (5, 10):
                    value = recall_at_k(ids, question.evidence, k)
                    scores[name][f"all@{k}"].append(value)
                    scores[name][f"cat{question.category}@{k}"].append(value)
        await storage.close()
    columns = ["all@5", "all@10", *(f"cat{c}@10" for c in (1, 2, 3, 4, 5))]
    print(f"{'setting':28s}" + "".join(f"{c:>9s}" for c in columns) + "  median ms")
    for name, values in scores.items():
        row = "".join(f"{statistics.fmean(values[c]):9.3f}" for c in columns)
        print(f"{name:28s}{row}  {statistics.median(latency[name]):8.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--embeddings", action="store_true")
    parser.add_argument("--data-dir", type=Path, default=default_data_dir())
    parser.add_argument("--slice", choices=SLICES, default="all")
    parser.add_argument(
        "--settings", default=";".join(SETTINGS), help=f"';'-separated, from {'; '.join(SETTINGS)}"
    )
    args = parser.parse_args()
    embedder = load_default_embedder() if args.embeddings else None
    if args.embeddings and embedder is None:
        raise SystemExit("the embeddings extra is not installed")
    names = [name.strip() for name in args.settings.split(";")]
    unknown = [name for name in names if name not in SETTINGS]
    if unknown:
        raise SystemExit(f"unknown settings {unknown}; choose from {', '.join(SETTINGS)}")
    asyncio.run(evaluate(args.limit, embedder, args.data_dir, args.slice, names))


if __name__ == "__main__":
    main()
