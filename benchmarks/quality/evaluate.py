"""Run systems over the data sets and record per-question measures.

Protocols (``../shared/data/README.md``):

* **LoCoMo**: one memory per dialog turn, each conversation its own brain; the top k
  turns are scored with partial-credit recall@k. Questions are asked as of the
  conversation's last session date.
* **LongMemEval_S**: each question searched only against its own haystack, as of its
  ``question_date``. *Turn level*: one memory per turn (user and assistant), relevant
  items are user turns with ``has_answer``. *Session level*: one memory per session made
  of its user turns (the setting that reproduces the README's BM25 figures); the ranking
  "max over turn memories" (sessions ordered by their best turn) is recorded beside it.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from tqdm import tqdm

from benchmarks.quality import metrics as m
from benchmarks.quality.baselines import (
    BM25Retriever,
    EmbeddingRetriever,
    load_embedding_model,
    locomo_document_text,
    plain_document_text,
)
from benchmarks.quality.datasets import LmeQuestion, LmeSession, LocomoConversation
from benchmarks.quality.nm_retriever import NeuralMemoryRetriever
from benchmarks.quality.retrievers import (
    ContextRetriever,
    Doc,
    Retriever,
    SystemUnavailableError,
    evidence_in_context,
)
from neural_memory.engine.embeddings import Embedder, load_default_embedder

KS = (5, 10)
CONTEXT_TOKENS = 1000
SYSTEMS = ("bm25", "embedding", "neural_memory", "neural_memory_emb")


@dataclass(frozen=True, slots=True)
class SystemOptions:
    """Knobs for building systems (mostly for ``neural_memory``)."""

    nm_storage: str = "memory"
    nm_depth: str = "CONTEXT"
    nm_speaker_prefix: bool = False
    nm_context_fibers: int = 100
    sqlite_dir: Path | None = None
    lme_turn_pool: int = 50


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """Measures of one system on one question."""

    system: str
    question_id: str
    group: str
    measures: dict[str, float]
    latency_ms: float


@dataclass(slots=True)
class SystemRun:
    """Everything one system produced on one data set."""

    system: str
    records: list[QuestionRecord] = field(default_factory=list)
    index_seconds: float = 0.0
    indexed_docs: int = 0
    skipped: str | None = None


def make_retriever(
    system: str, *, dataset: str, options: SystemOptions, brain_name: str
) -> Retriever:
    """Build a fresh retriever (one brain) for ``system`` on ``dataset``."""
    text_of: Callable[[Doc], str] = (
        locomo_document_text if dataset == "locomo" else plain_document_text
    )
    if system == "bm25":
        return BM25Retriever(document_text=text_of)
    if system == "embedding":
        return EmbeddingRetriever(document_text=text_of)
    if system in ("neural_memory", "neural_memory_emb"):
        return NeuralMemoryRetriever(
            name=system,
            depth=options.nm_depth,
            storage_kind=options.nm_storage,
            sqlite_dir=options.sqlite_dir,
            brain_name=brain_name,
            context_fibers=options.nm_context_fibers,
            embedder=shared_embedder() if system == "neural_memory_emb" else None,
        )
    raise ValueError(f"unknown system {system!r}; choose from {SYSTEMS}")


def prepare_system(system: str) -> None:
    """Load what a system needs once per run (outside the timed indexing).

    Raises :class:`SystemUnavailableError` when the system cannot run here.
    """
    if system == "embedding":
        load_embedding_model()
    elif system == "neural_memory_emb":
        shared_embedder()


@functools.cache
def shared_embedder() -> Embedder:
    """The offline MiniLM embedder, loaded once per run and shared by every brain."""
    embedder = load_default_embedder()
    if embedder is None:
        raise SystemUnavailableError(
            "neural_memory_emb skipped: sentence-transformers or the offline model is missing"
        )
    return embedder


def _nm_doc(doc: Doc, options: SystemOptions) -> Doc:
    if not options.nm_speaker_prefix:
        return doc
    return Doc(doc.id, f"{doc.speaker}: {doc.text}", doc.speaker, doc.timestamp, doc.date_text)


async def _index(
    retriever: Retriever, docs: Sequence[Doc], run: SystemRun, options: SystemOptions
) -> None:
    # Blank turns (one LongMemEval turn) and sessions without user text (11 sessions)
    # hold no evidence; no system gets them (the engine refuses empty memories).
    docs = [doc for doc in docs if doc.text.strip()]
    if isinstance(retriever, NeuralMemoryRetriever):
        docs = [_nm_doc(doc, options) for doc in docs]
    started = time.perf_counter()
    await retriever.index(docs)
    run.index_seconds += time.perf_counter() - started
    run.indexed_docs += len(docs)


async def _search(
    retriever: Retriever, query: str, k: int, reference_time: datetime | None
) -> tuple[list[str], str | None, float]:
    """Ranked ids, the 1,000-token context when the system builds one, latency (ms)."""
    started = time.perf_counter()
    if isinstance(retriever, ContextRetriever):
        out = await retriever.search_with_context(
            query, k=k, reference_time=reference_time, max_tokens=CONTEXT_TOKENS
        )
        ids, context = out.ids, out.context
    else:
        ids, context = await retriever.search(query, k=k, reference_time=reference_time), None
    return ids, context, (time.perf_counter() - started) * 1000.0


def locomo_docs(conversation: LocomoConversation) -> list[Doc]:
    """One doc per dialog turn, with its speaker and session date."""
    return [
        Doc(t.dia_id, t.text, t.speaker, t.timestamp, t.session_date) for t in conversation.turns
    ]


async def evaluate_locomo(
    system: str,
    conversations: Sequence[LocomoConversation],
    options: SystemOptions,
    progress: tqdm,
) -> SystemRun:
    """Run one system over LoCoMo conversations (each its own brain)."""
    run = SystemRun(system)
    for conversation in conversations:
        docs = locomo_docs(conversation)
        text_by_id = {doc.id: doc.text for doc in docs}
        retriever = make_retriever(
            system, dataset="locomo", options=options, brain_name=conversation.sample_id
        )
        try:
            await _index(retriever, docs, run, options)
            now = conversation.last_timestamp
            for number, question in enumerate(conversation.questions):
                ids, context, latency = await _search(retriever, question.question, max(KS), now)
                measures = {f"recall@{k}": m.recall_at_k(ids, question.evidence, k) for k in KS}
                if context is not None:
                    evidence = [text_by_id[e] for e in question.evidence]
                    measures["context_recall"] = evidence_in_context(evidence, context)
                run.records.append(
                    QuestionRecord(
                        system=system,
                        question_id=f"{conversation.sample_id}#{number}",
                        group=f"{question.category}:{question.category_name}",
                        measures=measures,
                        latency_ms=latency,
                    )
                )
                progress.update(1)
        finally:
            await retriever.close()
    return run


def lme_turn_docs(question: LmeQuestion) -> list[Doc]:
    """One doc per haystack turn (user and assistant), dated by its session."""
    return [Doc(t.turn_id, t.content, t.role, t.timestamp, None) for t in question.iter_turns()]


def lme_session_doc(session: LmeSession) -> Doc:
    """One doc per haystack session: its user turns, joined by newlines."""
    text = "\n".join(t.content for t in session.turns if t.role == "user")
    return Doc(session.session_id, text, "user", session.timestamp, session.date_text)


def _ranking_measures(
    prefix: str, ranking: Sequence[str], relevant: frozenset[str], *, detail: bool
) -> dict[str, float]:
    out: dict[str, float] = {}
    for k in KS:
        out[f"{prefix}recall_all@{k}"] = m.recall_all_at_k(ranking, relevant, k)
        if detail:
            out[f"{prefix}recall_any@{k}"] = m.recall_any_at_k(ranking, relevant, k)
    if detail:
        out[f"{prefix}ndcg@10"] = m.ndcg_at_k(ranking, relevant, 10)
    return out


async def _lme_question(
    system: str, question: LmeQuestion, run: SystemRun, options: SystemOptions
) -> QuestionRecord:
    docs = lme_turn_docs(question)
    session_of = {t.turn_id: t.session_id for t in question.iter_turns()}
    text_by_id = {doc.id: doc.text for doc in docs}
    now = question.question_date
    retriever = make_retriever(
        system, dataset="longmemeval", options=options, brain_name=question.question_id
    )
    try:
        await _index(retriever, docs, run, options)
        pool = max(options.lme_turn_pool, *KS)
        turn_ids, context, turn_latency = await _search(retriever, question.question, pool, now)
    finally:
        await retriever.close()
    session_retriever = make_retriever(
        system, dataset="longmemeval", options=options, brain_name=f"{question.question_id}-s"
    )
    try:
        await _index(
            session_retriever, [lme_session_doc(s) for s in question.sessions], run, options
        )
        session_ids, _, _ = await _search(session_retriever, question.question, max(KS), now)
    finally:
        await session_retriever.close()
    by_turns = m.dedupe_ranking(session_of[t] for t in turn_ids if t in session_of)
    measures = _ranking_measures(
        "session_", session_ids, question.relevant_session_ids, detail=True
    )
    measures.update(
        _ranking_measures("session_by_turn_", by_turns, question.relevant_session_ids, detail=False)
    )
    measures.update(_ranking_measures("turn_", turn_ids, question.relevant_turn_ids, detail=True))
    if context is not None:
        evidence = [text_by_id[t] for t in sorted(question.relevant_turn_ids)]
        measures["context_recall"] = evidence_in_context(evidence, context)
    return QuestionRecord(
        system=system,
        question_id=question.question_id,
        group=question.question_type,
        measures=measures,
        latency_ms=turn_latency,
    )


async def evaluate_longmemeval(
    system: str,
    questions: Sequence[LmeQuestion],
    options: SystemOptions,
    progress: tqdm,
) -> SystemRun:
    """Run one system over LongMemEval questions (each haystack its own brain)."""
    run = SystemRun(system)
    for question in questions:
        run.records.append(await _lme_question(system, question, run, options))
        progress.update(1)
    return run


async def evaluate(
    dataset: str,
    systems: Sequence[str],
    data: Sequence[LocomoConversation | LmeQuestion],
    options: SystemOptions,
    progress: tqdm,
) -> list[SystemRun]:
    """Run every system on one data set; unavailable systems are recorded as skipped."""
    conversations = [c for c in data if isinstance(c, LocomoConversation)]
    questions = [q for q in data if isinstance(q, LmeQuestion)]
    per_system = sum(len(c.questions) for c in conversations) + len(questions)
    runs: list[SystemRun] = []
    for system in systems:
        progress.set_postfix_str(f"{dataset}/{system}")
        before = progress.n
        try:
            prepare_system(system)
            if dataset == "locomo":
                runs.append(await evaluate_locomo(system, conversations, options, progress))
            else:
                runs.append(await evaluate_longmemeval(system, questions, options, progress))
        except SystemUnavailableError as exc:
            runs.append(SystemRun(system, skipped=str(exc)))
            tqdm.write(f"[{dataset}] {system}: {exc}")
            progress.update(per_system - (progress.n - before))
    return runs
