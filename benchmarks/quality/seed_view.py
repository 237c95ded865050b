"""The seed-API user's view against the harness's: ``python -m benchmarks.quality.seed_view``.

``[--slice tune|heldout|all] [--limit N]``: for each LongMemEval question, two brains of its
haystack without embeddings: one as the harness writes it (each turn with its session date
as ``timestamp`` and its role as ``metadata["speaker"]``), asked with ``asker="user"``; one
as a user of the seed API writes it (``"[2023-05-20 02:21] user: text"``, nothing else),
asked with a plain ``query()``. It prints, per question, whether both brains hold the same
memories (fiber ids) and return the same top 10, and the count of questions where they
differ.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Sequence

from benchmarks.quality.datasets import SLICES, default_data_dir, dev_slice, load_longmemeval
from benchmarks.quality.evaluate import lme_turn_docs
from benchmarks.quality.retrievers import Doc, plain_text
from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import DepthLevel, ReflexPipeline
from neural_memory.storage import InMemoryStorage


async def _brain(docs: Sequence[Doc], plain: bool) -> tuple[InMemoryStorage, Brain, list[str]]:
    brain = Brain.create("seed-view")
    storage = InMemoryStorage()
    await storage.initialize()
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config, embedder=None)
    memories = [
        MemoryInput(text=plain_text(d))
        if plain
        else MemoryInput(text=d.text, timestamp=d.timestamp, metadata={"speaker": d.speaker})
        for d in docs
    ]
    results = await encoder.encode_many(memories)
    return storage, brain, [r.fiber.id for r in results]


async def main(args: argparse.Namespace) -> None:
    """Compare the two views question by question."""
    questions = dev_slice(load_longmemeval(default_data_dir(), strict=True), args.slice)
    differ = 0
    for question in questions[: args.limit]:
        docs = [d for d in lme_turn_docs(question) if d.text.strip()]
        tops = []
        fibers = []
        for plain in (False, True):
            storage, brain, ids = await _brain(docs, plain)
            pipeline = ReflexPipeline(storage, brain.config, embedder=None, reinforce=False)
            result = await pipeline.query(
                question.question,
                depth=DepthLevel.CONTEXT,
                reference_time=question.question_date,
                max_fibers=10,
                asker=None if plain else "user",
            )
            tops.append([f.fiber_id for f in result.fibers])
            fibers.append(ids)
            await storage.close()
        same = fibers[0] == fibers[1] and tops[0] == tops[1]
        differ += not same
        verdict = "same memories, same top 10" if same else "DIFFERENT"
        print(f"{question.question_id} [{question.question_type}]: {verdict}", flush=True)
    print(f"{differ} question(s) differ")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.seed_view")
    parser.add_argument("--slice", choices=SLICES, default="all")
    parser.add_argument("--limit", type=int, default=None, help="at most N questions")
    return parser.parse_args(argv)


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
