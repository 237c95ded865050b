"""LongMemEval non-hits, looked at: ``python -m benchmarks.quality.lme_failures REPORT``.

For every question of a harness report (``python -m benchmarks.quality.run --dataset
longmemeval --report FILE``) whose engine turn recall_all@10 or session recall_all@5 is below
1, the question is asked again (the engine without embeddings, by the user as the harness
asks, its own brain) and the evidence is shown: the rank of each evidence turn in the top
50 (``-`` beyond), its session date against the question date, whether it shares a content
word with the question, and its first words. The session ranking is not re-run: the report's
figure is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections.abc import Sequence
from pathlib import Path

from benchmarks.quality.datasets import default_data_dir, load_longmemeval
from benchmarks.quality.evaluate import lme_turn_docs
from benchmarks.quality.nm_retriever import NeuralMemoryRetriever

DEPTH = 50
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    "a an the and or but of to in on at for with by from about as is are was were be been "
    "i me my we our you your it its this that these those what which who whom how when where "
    "why do did does have has had can could would should will shall may might not no so if "
    "then than there their they them he she his her just also any some all many much more most "
    "times time ago days weeks months years first last ever".split()
)


def content_words(text: str) -> set[str]:
    """Lower-cased alphanumeric words of ``text`` without stop words."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


def non_hits(report: Path, system: str) -> list[dict[str, object]]:
    """Records of ``system`` in ``report`` that miss a turn or session target."""
    runs = json.loads(report.read_text())["datasets"]["longmemeval"]["systems"]
    return [
        q
        for q in runs[system]["questions"]
        if q["turn_recall_all@10"] < 1 or q["session_recall_all@5"] < 1
    ]


async def show(report: Path, system: str) -> None:
    """Print each non-hit's evidence ranks."""
    records = {str(q["id"]): q for q in non_hits(report, system)}
    questions = [q for q in load_longmemeval(default_data_dir()) if q.question_id in records]
    for question in questions:
        record = records[question.question_id]
        docs = [d for d in lme_turn_docs(question) if d.text.strip()]  # as the harness
        retriever = NeuralMemoryRetriever()
        await retriever.index(docs)
        ranking = await retriever.search(
            question.question, k=DEPTH, reference_time=question.question_date, asker="user"
        )
        await retriever.close()
        wanted = content_words(question.question)
        print(
            f"\n{question.question_id} [{question.question_type}] asked "
            f"{question.question_date:%Y-%m-%d}: {question.question}\n"
            f"  turn R_all@10 {record['turn_recall_all@10']:.0f}, "
            f"session R_all@5 {record['session_recall_all@5']:.0f}"
        )
        by_id = {doc.id: doc for doc in docs}
        for turn_id in sorted(question.relevant_turn_ids):
            doc = by_id[turn_id]
            rank = ranking.index(turn_id) + 1 if turn_id in ranking else "-"
            shared = sorted(wanted & content_words(doc.text))
            print(
                f"  rank {rank!s:>3} {doc.timestamp:%Y-%m-%d} shared {shared or 'none'}: "
                f"{' '.join(doc.text.split())[:110]}"
            )


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the options and show the non-hits."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.lme_failures")
    parser.add_argument("report", type=Path)
    parser.add_argument("--system", default="neural_memory")
    args = parser.parse_args(argv)
    asyncio.run(show(args.report, args.system))


if __name__ == "__main__":
    main()
