"""Run systems over the data sets and record per-question measures.

Protocols (``../shared/data/README.md``):

* **LoCoMo**: one memory per dialog turn, each conversation its own brain; the top k
  turns are scored with partial-credit recall@k. Questions are asked as of the
  conversation's last session date, by nobody in particular (``asker=None``).
* **LongMemEval_S**: each question searched only against its own haystack, as of its
  ``question_date``, asked by the user (``asker="user"``: the question speaks for the
  user). *Turn level*: one memory per turn (user and assistant), relevant items are user
  turns with ``has_answer``. *Session level*: one memory per session made of its user
  turns (the setting that reproduces the README's BM25 figures); the ranking "max over
  turn memories" (sessions ordered by their best turn) is recorded beside it.

A system whose index or query fails or times out (:class:`RetrieverError`) scores 0 on the
questions concerned; each such record carries ``failure`` and the report counts them.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tqdm import tqdm

from benchmarks.quality import metrics as m
from benchmarks.quality.datasets import LmeQuestion, LmeSession, LocomoConversation
from benchmarks.quality.nm_retriever import NeuralMemoryRetriever
from benchmarks.quality.retrievers import (
    ContextRetriever,
    Doc,
    Retriever,
    RetrieverError,
    SystemUnavailableError,
    evidence_in_context,
    plain_text,
)
from benchmarks.quality.systems import (
    PYPI_SYSTEM,
    SYSTEMS,
    SystemFactory,
    SystemOptions,
    nm_spec,
    open_system,
)

__all__ = [
    "CONTEXT_TOKENS",
    "KS",
    "SYSTEMS",
    "QuestionRecord",
    "SystemOptions",
    "SystemRun",
    "evaluate",
    "question_ids",
    "subsample",
]

KS = (5, 10)
CONTEXT_TOKENS = 1000
LME_ASKER = "user"


@dataclass(frozen=True, slots=True)
class QuestionRecord:
    """Measures of one system on one question (``failure``: why it scored 0, if it did)."""

    system: str
    question_id: str
    group: str
    measures: dict[str, float]
    latency_ms: float
    failure: str | None = None


@dataclass(slots=True)
class SystemRun:
    """Everything one system produced on one data set."""

    system: str
    records: list[QuestionRecord] = field(default_factory=list)
    index_seconds: float = 0.0
    indexed_docs: int = 0
    skipped: str | None = None
    same_as: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _nm_doc(doc: Doc, options: SystemOptions) -> Doc:
    if options.nm_encoding == "plain":
        return dataclasses.replace(doc, text=plain_text(doc))
    if not options.nm_speaker_prefix:
        return doc
    return dataclasses.replace(doc, text=f"{doc.speaker}: {doc.text}")


async def _index(
    retriever: Retriever, docs: Sequence[Doc], run: SystemRun, options: SystemOptions
) -> None:
    # Blank turns (one LongMemEval turn) and sessions without user text (11 sessions)
    # hold no evidence; no system gets them (the engine refuses empty memories).
    docs = [doc for doc in docs if doc.text.strip()]
    if isinstance(retriever, NeuralMemoryRetriever):
        docs = [_nm_doc(doc, options) for doc in docs]
    started = time.perf_counter()
    try:
        await retriever.index(docs)
    finally:
        run.index_seconds += time.perf_counter() - started
        run.indexed_docs += len(docs)


async def _search(
    retriever: Retriever,
    query: str,
    k: int,
    reference_time: datetime | None,
    asker: str | None,
) -> tuple[list[str], str | None, float]:
    """Ranked ids, the 1,000-token context when the system builds one, latency (ms).

    The latency is the system's own query time when it reports one (a system in another
    process), else the wall time of the call.
    """
    started = time.perf_counter()
    if isinstance(retriever, ContextRetriever):
        out = await retriever.search_with_context(
            query,
            k=k,
            reference_time=reference_time,
            max_tokens=CONTEXT_TOKENS,
            asker=asker,
        )
        elapsed = (time.perf_counter() - started) * 1000.0
        latency = out.latency_ms if out.latency_ms is not None else elapsed
        return out.ids, out.context, latency
    ids = await retriever.search(query, k=k, reference_time=reference_time, asker=asker)
    return ids, None, (time.perf_counter() - started) * 1000.0


def _failure_latency(exc: RetrieverError, timeout_s: float | None) -> float:
    return timeout_s * 1000.0 if exc.kind == "timeout" and timeout_s is not None else 0.0


def locomo_docs(conversation: LocomoConversation) -> list[Doc]:
    """One doc per dialog turn, with its speaker, session and session date."""
    return [
        Doc(t.dia_id, t.text, t.speaker, t.timestamp, t.session_date, f"S{t.session}")
        for t in conversation.turns
    ]


def question_ids(data: Sequence[LocomoConversation | LmeQuestion]) -> list[str]:
    """Ids of every question, in run order (LoCoMo: ``"<conversation>#<number>"``)."""
    out: list[str] = []
    for item in data:
        if isinstance(item, LocomoConversation):
            out.extend(f"{item.sample_id}#{n}" for n in range(len(item.questions)))
        else:
            out.append(item.question_id)
    return out


def subsample(ids: Sequence[str], n: int | None) -> list[str]:
    """``n`` ids spread evenly over ``ids`` (first and last included); all when ``n`` is None."""
    if n is None or n >= len(ids):
        return list(ids)
    if n <= 0:
        return []
    if n == 1:
        return [ids[0]]
    step = (len(ids) - 1) / (n - 1)
    return [ids[round(i * step)] for i in range(n)]


@dataclass(slots=True)
class _Outcome:
    ids: list[str]
    context: str | None
    latency_ms: float
    failure: str | None = None


async def _ask(
    retriever: Retriever,
    query: str,
    k: int,
    reference_time: datetime | None,
    asker: str | None,
    options: SystemOptions,
) -> _Outcome:
    """Ask one question; a failed or timed-out query is a miss."""
    try:
        ids, context, latency = await _search(retriever, query, k, reference_time, asker)
    except RetrieverError as exc:
        return _Outcome([], "", _failure_latency(exc, options.pypi.query_timeout), exc.kind)
    return _Outcome(ids, context, latency)


async def evaluate_locomo(
    factory: SystemFactory,
    run: SystemRun,
    conversations: Sequence[LocomoConversation],
    options: SystemOptions,
    progress: tqdm,
    only: Collection[str] | None = None,
) -> None:
    """Run one system over LoCoMo conversations (each its own brain)."""
    for conversation in conversations:
        numbered = [
            (f"{conversation.sample_id}#{n}", q) for n, q in enumerate(conversation.questions)
        ]
        if only is not None:
            numbered = [(qid, q) for qid, q in numbered if qid in only]
        if not numbered:
            continue
        docs = locomo_docs(conversation)
        text_by_id = {doc.id: doc.text for doc in docs}
        retriever = await factory.make("locomo", conversation.sample_id)
        index_failure: RetrieverError | None = None
        try:
            try:
                await _index(retriever, docs, run, options)
            except RetrieverError as exc:
                index_failure = exc
            now = conversation.last_timestamp
            for question_id, question in numbered:
                if index_failure is not None:
                    out = _Outcome([], "", 0.0, f"index {index_failure.kind}")
                else:
                    out = await _ask(retriever, question.question, max(KS), now, None, options)
                measures = {f"recall@{k}": m.recall_at_k(out.ids, question.evidence, k) for k in KS}
                if out.context is not None:
                    evidence = [text_by_id[e] for e in question.evidence]
                    measures["context_recall"] = evidence_in_context(evidence, out.context)
                run.records.append(
                    QuestionRecord(
                        system=run.system,
                        question_id=question_id,
                        group=f"{question.category}:{question.category_name}",
                        measures=measures,
                        latency_ms=out.latency_ms,
                        failure=out.failure,
                    )
                )
                progress.update(1)
        finally:
            await retriever.close()


def lme_turn_docs(question: LmeQuestion) -> list[Doc]:
    """One doc per haystack turn (user and assistant), dated by its session."""
    return [
        Doc(t.turn_id, t.content, t.role, t.timestamp, None, t.session_id)
        for t in question.iter_turns()
    ]


def lme_session_doc(session: LmeSession) -> Doc:
    """One doc per haystack session: its user turns, joined by newlines."""
    text = "\n".join(t.content for t in session.turns if t.role == "user")
    return Doc(
        session.session_id,
        text,
        "user",
        session.timestamp,
        session.date_text,
        session.session_id,
    )


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


async def _lme_brain(
    factory: SystemFactory,
    brain_name: str,
    docs: Sequence[Doc],
    question: LmeQuestion,
    k: int,
    run: SystemRun,
    options: SystemOptions,
) -> _Outcome:
    """Index ``docs`` in a fresh brain and ask the question; failures score nothing."""
    retriever = await factory.make("longmemeval", brain_name)
    try:
        try:
            await _index(retriever, docs, run, options)
        except RetrieverError as exc:
            return _Outcome([], "", 0.0, f"index {exc.kind}")
        asker = LME_ASKER if options.lme_asker else None
        return await _ask(retriever, question.question, k, question.question_date, asker, options)
    finally:
        await retriever.close()


async def _lme_question(
    factory: SystemFactory, question: LmeQuestion, run: SystemRun, options: SystemOptions
) -> QuestionRecord:
    docs = lme_turn_docs(question)
    session_of = {t.turn_id: t.session_id for t in question.iter_turns()}
    text_by_id = {doc.id: doc.text for doc in docs}
    pool = max(options.lme_turn_pool, *KS)
    turns = await _lme_brain(factory, question.question_id, docs, question, pool, run, options)
    sessions = await _lme_brain(
        factory,
        f"{question.question_id}-s",
        [lme_session_doc(s) for s in question.sessions],
        question,
        max(KS),
        run,
        options,
    )
    by_turns = m.dedupe_ranking(session_of[t] for t in turns.ids if t in session_of)
    measures = _ranking_measures(
        "session_", sessions.ids, question.relevant_session_ids, detail=True
    )
    measures.update(
        _ranking_measures("session_by_turn_", by_turns, question.relevant_session_ids, detail=False)
    )
    measures.update(_ranking_measures("turn_", turns.ids, question.relevant_turn_ids, detail=True))
    if turns.context is not None:
        evidence = [text_by_id[t] for t in sorted(question.relevant_turn_ids)]
        measures["context_recall"] = evidence_in_context(evidence, turns.context)
    failures = [
        f"{what} {outcome.failure}"
        for what, outcome in (("turn", turns), ("session", sessions))
        if outcome.failure
    ]
    return QuestionRecord(
        system=run.system,
        question_id=question.question_id,
        group=question.question_type,
        measures=measures,
        latency_ms=turns.latency_ms,
        failure="; ".join(failures) or None,
    )


async def evaluate_longmemeval(
    factory: SystemFactory,
    run: SystemRun,
    questions: Sequence[LmeQuestion],
    options: SystemOptions,
    progress: tqdm,
    only: Collection[str] | None = None,
) -> None:
    """Run one system over LongMemEval questions (each haystack its own brain)."""
    for question in questions:
        if only is not None and question.question_id not in only:
            continue
        run.records.append(await _lme_question(factory, question, run, options))
        progress.update(1)


def _run_key(system: str) -> object:
    """Systems with the same key produce the same results; only the first one is run."""
    spec = nm_spec(system)
    return ("engine", spec.weights, spec.embeddings, spec.sleep) if spec else system


def question_budget(system: str, all_ids: Sequence[str], options: SystemOptions) -> list[str]:
    """The questions ``system`` runs (all, but the PyPI package only ``--pypi-limit``)."""
    return subsample(all_ids, options.pypi.limit) if system == PYPI_SYSTEM else list(all_ids)


async def evaluate(
    dataset: str,
    systems: Sequence[str],
    data: Sequence[LocomoConversation | LmeQuestion],
    options: SystemOptions,
    progress: tqdm,
) -> list[SystemRun]:
    """Run every system on one data set; unavailable systems are recorded as skipped.

    A system configured exactly like one already run (``nm_full`` after ``nm_time``) is not
    run again: its records are copied and ``same_as`` names the run they come from.
    """
    conversations = [c for c in data if isinstance(c, LocomoConversation)]
    questions = [q for q in data if isinstance(q, LmeQuestion)]
    all_ids = question_ids(data)
    runs: list[SystemRun] = []
    done: dict[object, SystemRun] = {}
    for system in systems:
        progress.set_postfix_str(f"{dataset}/{system}")
        wanted = question_budget(system, all_ids, options)
        before = progress.n
        previous = done.get(_run_key(system))
        if previous is not None:
            runs.append(_copy_run(system, previous))
            progress.update(len(wanted))
            continue
        run = SystemRun(system)
        only = None if len(wanted) == len(all_ids) else frozenset(wanted)
        try:
            factory = await open_system(system, options)
        except SystemUnavailableError as exc:
            runs.append(SystemRun(system, skipped=str(exc)))
            tqdm.write(f"[{dataset}] {system}: {exc}")
            progress.update(len(wanted) - (progress.n - before))
            continue
        try:
            if dataset == "locomo":
                await evaluate_locomo(factory, run, conversations, options, progress, only)
            else:
                await evaluate_longmemeval(factory, run, questions, options, progress, only)
        finally:
            await factory.aclose()
            run.extra = factory.stats()
        runs.append(run)
        done[_run_key(system)] = run
    return runs


def _copy_run(system: str, source: SystemRun) -> SystemRun:
    records = [dataclasses.replace(r, system=system) for r in source.records]
    return SystemRun(
        system,
        records=records,
        index_seconds=source.index_seconds,
        indexed_docs=source.indexed_docs,
        skipped=source.skipped,
        same_as=source.system,
        extra=dict(source.extra),
    )
