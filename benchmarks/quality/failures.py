"""Why LoCoMo questions miss: failure classes per category, engine beside BM25.

``python -m benchmarks.quality.failures --slice tune [--embeddings]`` indexes every
conversation of the slice in the engine (full weights, with or without MiniLM) and in BM25,
asks each question for its top 50 turns, and prints per category how many questions are
fully found in the top 10, partly found, found only in ranks 11-50 ("near miss") or not in
the top 50, beside features of the misses that say which method could reach them:

* ``no shared word``: the evidence turns share no content word (lower-cased, stop words
  removed, a crude plural/-ing/-ed strip) with the question - only meaning can match them;
* ``relative date``: an evidence turn dates its event relative to the session ("last
  Saturday", "two weeks ago", "yesterday"), so the answer needs the session date;
* ``>1 session``: the evidence is spread over more than one session (aggregation).

No figure here is tuned on; it only classifies what the harness measures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from benchmarks.quality.baselines import BM25Retriever, locomo_document_text, tokenize
from benchmarks.quality.datasets import (
    SLICES,
    LocomoConversation,
    LocomoQuestion,
    dev_slice,
    load_locomo,
)
from benchmarks.quality.evaluate import locomo_docs
from benchmarks.quality.nm_retriever import NeuralMemoryRetriever
from benchmarks.quality.retrievers import Retriever
from benchmarks.quality.systems import load_embedder

DEPTH = 50
RELATIVE_DATE = re.compile(
    r"\b(yesterday|today|tonight|tomorrow|last (?:night|week|weekend|month|year|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday)|this (?:week|weekend|"
    r"month|year|morning|past)|next (?:week|month|year)|(?:a|one|two|three|few|couple of)"
    r" (?:days?|weeks?|months?|years?) ago|recently|the other day)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """Where one system put one question's evidence."""

    category: str
    evidence: int
    in_top10: int
    in_top50: int
    """Evidence turns in the top 50; -1 when only the top 10 is known (a harness report)."""
    no_shared_word: bool
    relative_date: bool
    sessions: int
    ranked: tuple[str, ...] = ()
    """The top :data:`DEPTH` turn ids, best first."""
    wanted: tuple[str, ...] = ()
    """The evidence turn ids."""

    @property
    def verdict(self) -> str:
        """``hit`` / ``partial`` / ``near miss`` / ``deep miss``."""
        if self.in_top10 == self.evidence:
            return "hit"
        if self.in_top10 > 0:
            return "partial"
        if self.in_top50 < 0:
            return "miss"
        return "near miss" if self.in_top50 > 0 else "deep miss"


def _stem(token: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if token.endswith(suffix) and len(token) > len(suffix) + 2:
            return token[: -len(suffix)]
    return token


def _words(text: str) -> set[str]:
    return {_stem(t) for t in tokenize(text)}


async def _outcomes(retriever: Retriever, conversation: LocomoConversation) -> list[Outcome]:
    docs = locomo_docs(conversation)
    await retriever.index(docs)
    text = {doc.id: doc.text for doc in docs}
    session = {doc.id: doc.session for doc in docs}
    found: list[Outcome] = []
    try:
        for question in conversation.questions:
            if not question.evidence:
                continue
            ids = await retriever.search(
                question.question, k=DEPTH, reference_time=conversation.last_timestamp
            )
            evidence = set(question.evidence)
            found.append(
                _outcome(
                    question,
                    text,
                    session,
                    in_top10=len(evidence & set(ids[:10])),
                    in_top50=len(evidence & set(ids)),
                    ranked=tuple(ids),
                )
            )
    finally:
        await retriever.close()
    return found


def outcomes_from_report(which: str, report: Path, system: str) -> list[Outcome]:
    """Outcomes of ``system`` from a harness report (``run --report``): top 10 only."""
    records = json.loads(report.read_text(encoding="utf-8"))["datasets"]["locomo"]["systems"]
    recall = {q["id"]: q["recall@10"] for q in records[system]["questions"]}
    found: list[Outcome] = []
    for conversation in dev_slice(load_locomo(), which):
        text = {turn.dia_id: turn.text for turn in conversation.turns}
        session = {turn.dia_id: turn.session for turn in conversation.turns}
        for number, question in enumerate(conversation.questions):
            key = f"{conversation.sample_id}#{number}"
            if key not in recall:
                continue
            in_top10 = round(recall[key] * len(set(question.evidence)))
            found.append(_outcome(question, text, session, in_top10=in_top10, in_top50=-1))
    return found


def _outcome(
    question: LocomoQuestion,
    text: Mapping[str, str],
    session: Mapping[str, object],
    *,
    in_top10: int,
    in_top50: int,
    ranked: tuple[str, ...] | None = None,
) -> Outcome:
    """What one question's evidence looks like, how much of it was found, and (when
    ``ranked`` is given) the ranking beside the evidence wanted."""
    evidence = set(question.evidence)
    asked = _words(question.question)
    return Outcome(
        category=question.category_name,
        evidence=len(evidence),
        in_top10=in_top10,
        in_top50=in_top50,
        no_shared_word=not any(asked & _words(text[e]) for e in evidence),
        relative_date=any(RELATIVE_DATE.search(text[e]) for e in evidence),
        sessions=len({session[e] for e in evidence}),
        ranked=ranked or (),
        wanted=tuple(sorted(evidence)) if ranked is not None else (),
    )


def session_capped(ranked: Sequence[str], cap: int) -> list[str]:
    """``ranked`` with at most ``cap`` turns per session ahead of the rest (order kept).

    LoCoMo turn ids name their session (``D3:7`` is turn 7 of session 3).
    """
    taken: Counter[str] = Counter()
    first: list[str] = []
    rest: list[str] = []
    for turn in ranked:
        session = turn.split(":", 1)[0]
        (first if taken[session] < cap else rest).append(turn)
        taken[session] += 1
    return first + rest


def format_session_caps(outcomes: Sequence[Outcome], caps: Sequence[int]) -> str:
    """R@10 per category when each session may hold at most ``cap`` of the top turns."""
    categories = sorted({o.category for o in outcomes})
    lines = [f"{'cap':>5} {'all':>6} " + " ".join(f"{c:>12}" for c in categories)]
    for cap in (0, *caps):
        recall: dict[str, list[float]] = defaultdict(list)
        for o in outcomes:
            ranked = session_capped(o.ranked, cap) if cap else list(o.ranked)
            value = len(set(ranked[:10]) & set(o.wanted)) / len(o.wanted)
            recall[o.category].append(value)
            recall["all"].append(value)
        cells = " ".join(f"{sum(recall[c]) / len(recall[c]):>12.3f}" for c in categories)
        name = str(cap) if cap else "none"
        lines.append(f"{name:>5} {sum(recall['all']) / len(recall['all']):>6.3f} {cells}")
    return "\n".join(lines)


def format_table(title: str, outcomes: Sequence[Outcome]) -> str:
    """Counts of verdicts and miss features per category."""
    by_category: dict[str, list[Outcome]] = defaultdict(list)
    for outcome in outcomes:
        by_category[outcome.category].append(outcome)
    header = (
        f"{'category':<12} {'q':>4} {'hit':>5} {'partial':>7} {'near':>5} {'deep':>5} "
        f"{'miss':>5} | "
        f"misses: {'no shared word':>14} {'relative date':>13} {'>1 session':>10} | "
        f"all q: {'>1 session':>10} {'relative date':>13}"
    )
    lines = [title, header]
    for category in sorted(by_category):
        rows = by_category[category]
        verdicts = Counter(o.verdict for o in rows)
        misses = [o for o in rows if o.verdict != "hit"]
        lines.append(
            f"{category:<12} {len(rows):>4} {verdicts['hit']:>5} {verdicts['partial']:>7} "
            f"{verdicts['near miss']:>5} {verdicts['deep miss']:>5} {verdicts['miss']:>5} | "
            f"{'':8}{sum(o.no_shared_word for o in misses):>14} "
            f"{sum(o.relative_date for o in misses):>13} "
            f"{sum(o.sessions > 1 for o in misses):>10} | "
            f"{'':7}{sum(o.sessions > 1 for o in rows):>10} "
            f"{sum(o.relative_date for o in rows):>13}"
        )
    return "\n".join(lines)


async def run(which: str, embeddings: bool, dump: Path | None) -> None:
    """Classify the failures of the engine and of BM25 on one slice."""
    conversations = dev_slice(load_locomo(), which)
    embedder = await load_embedder() if embeddings else None
    engine: list[Outcome] = []
    bm25: list[Outcome] = []
    for conversation in conversations:
        engine += await _outcomes(NeuralMemoryRetriever(embedder=embedder), conversation)
        bm25 += await _outcomes(BM25Retriever(document_text=locomo_document_text), conversation)
    label = "engine, full weights" + (", MiniLM" if embeddings else ", no embeddings")
    print(format_table(f"LoCoMo {which} slice: {label}", engine))
    print(format_table(f"\nLoCoMo {which} slice: BM25", bm25))
    print("\nEngine R@10 with at most N turns per session in the ranking's head:")
    print(format_session_caps(engine, (2, 3, 4, 5, 6)))
    if dump is not None:
        rows = {"engine": [asdict(o) for o in engine], "bm25": [asdict(o) for o in bm25]}
        dump.write_text(json.dumps(rows), encoding="utf-8")
    print(
        "\n(hit = all evidence in the top 10; partial = some; near = none in the top 10 but "
        "some in 11-50; deep = none in the top 50; 'misses' columns count the non-hits)"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.quality.failures")
    parser.add_argument("--slice", choices=SLICES, default="tune")
    parser.add_argument("--embeddings", action="store_true", help="the engine with MiniLM")
    parser.add_argument("--dump", type=Path, default=None, help="write every outcome as JSON")
    parser.add_argument(
        "--from-report",
        type=Path,
        default=None,
        help="classify a harness report's questions instead (top 10 only; no near/deep)",
    )
    parser.add_argument("--systems", default="bm25,nm_full", help="with --from-report")
    args = parser.parse_args(argv)
    if args.from_report is not None:
        for system in args.systems.split(","):
            rows = outcomes_from_report(args.slice, args.from_report, system)
            print(format_table(f"LoCoMo {args.slice} slice: {system}", rows) + "\n")
        return 0
    asyncio.run(run(args.slice, args.embeddings, args.dump))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
