"""A long memory is indexed exactly like a short one, with its heavy text work off the loop.

Storing a memory of up to a million characters must not hold a server's event loop (its
health checks and other users' recalls wait meanwhile): its id, its terms and their counts
are computed in worker threads, and the index only appends what was counted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neural_memory import Brain
from neural_memory.core import text
from neural_memory.engine import tokens
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.handle import BrainHandle
from neural_memory.engine.retrieval import ReflexPipeline, _documents
from neural_memory.engine.retrieval.index import BrainIndex, FiberRecord
from neural_memory.engine.retrieval.lexical import LexicalIndex, count_terms
from tests.backends import BACKENDS
from tests.engine.test_passes_off_loop import threads_calling

LONG = " ".join(f"Dana met Eve in Rome on day {i} to plan launch {i % 97}" for i in range(600))


@contextmanager
def _slices_of(size: int) -> Iterator[None]:
    saved = text._TOKENIZE_SLICE
    text._TOKENIZE_SLICE = size
    try:
        yield
    finally:
        text._TOKENIZE_SLICE = saved


@given(st.text(alphabet=st.sampled_from("aZ9 ßİ'\n\t-é"), max_size=80), st.integers(1, 9))
def test_a_text_tokenised_in_slices_gives_the_tokens_of_the_whole(sample: str, size: int) -> None:
    whole = text._TOKEN.findall(sample.casefold())
    with _slices_of(size):
        assert text.tokenize(sample) == whole


def test_terms_of_a_long_memory_are_remembered_within_a_character_budget() -> None:
    long_text = "word " * 1_000
    text.remember_document_terms(long_text, "Mel", ("given",))
    assert text.document_terms(long_text, "Mel") == ["given"]
    assert text.document_terms(long_text, None) == text.terms(long_text)
    for i in range(5):  # each a million characters: only the budget's worth stay
        text.remember_document_terms(f"{i}" + "x" * 999_999, None, ("x",))
    assert text.document_terms(long_text, "Mel") == [*text.terms(long_text), "mel"]
    assert text._LONG_TERMS._chars <= 4_000_000


def test_counted_documents_score_like_documents_extended_in_bulk() -> None:
    documents = ["dana eve rome dana", "", "launch dana", "eve eve eve plan"]
    bulk, counted = LexicalIndex(), LexicalIndex()
    bulk.extend(documents)
    counted.extend(documents[:1])
    counted.extend_counted([count_terms(d.split()) for d in documents[1:3]])
    counted.extend(documents[3:])
    for query in (["dana"], ["eve", "plan"], ["rome", "launch", "absent"]):
        np.testing.assert_array_equal(counted.scores(query), bulk.scores(query))


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_a_long_memory_is_indexed_as_a_rebuilt_index_reads_it(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads = threads_calling(monkeypatch, _documents, "prepare_fibers")
    async with BACKENDS[backend](tmp_path) as storage:
        brain = Brain.create("long")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config, embedder=None)
        await encoder.encode("Dana flew to Rome for the launch")
        live = await BrainHandle.of(storage).synced_index(None)
        await encoder.encode(LONG, metadata={"speaker": "Eve"})
        await encoder.encode("Eve stayed in Rome")
        assert threads and threading.main_thread() not in threads
        rebuilt = BrainIndex(storage, brain.id, None)
        await rebuilt.sync()
        assert live.seq == rebuilt.seq and live.memory_count == rebuilt.memory_count == 3
        for query in (["dana", "rome"], ["launch", "96"], ["eve"]):
            live_scores, rebuilt_scores = live.lexical.scores(query), rebuilt.lexical.scores(query)
            for fiber_id, row in rebuilt.fiber_rows.items():
                expected = rebuilt_scores[row]
                assert live_scores[live.fiber_rows[fiber_id]] == pytest.approx(expected, rel=1e-6)


def _truncated_by_a_full_count(text: str, max_tokens: int) -> str:
    """``truncate_to_tokens`` as it was written before it stopped at the budget (reference)."""
    if tokens.count_tokens(text) <= max_tokens:
        return text
    pieces = tokens._PRETOKEN.findall(text)
    used, end = 0.0, 0
    for index, piece in enumerate(pieces):
        used += tokens._piece_cost(piece)
        if tokens._with_margin(used) > max_tokens:
            break
        end = index + 1
    prefix = "".join(pieces[:end]).rstrip()
    return prefix if prefix.strip() else ""


@given(st.text(max_size=200), st.integers(-2, 80))
def test_truncating_stops_at_the_budget_with_the_same_result(sample: str, budget: int) -> None:
    assert tokens.truncate_to_tokens(sample, budget) == _truncated_by_a_full_count(sample, budget)


def test_a_long_memory_is_truncated_from_its_first_words() -> None:
    truncated = tokens.truncate_to_tokens(LONG * 100, 50)
    assert LONG.startswith(truncated) and 0 < tokens.count_tokens(truncated) <= 50


@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_recalling_a_long_memory_formats_it_off_the_loop(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[threading.Thread] = []
    context_line = FiberRecord.context_line

    def recorded(record: FiberRecord) -> tuple[str, int]:
        if record.line is None:
            threads.append(threading.current_thread())
        return context_line(record)

    monkeypatch.setattr(FiberRecord, "context_line", recorded)
    async with BACKENDS[backend](tmp_path) as storage:
        brain = Brain.create("long")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        await MemoryEncoder(storage, brain.config, embedder=None).encode(LONG)
        pipeline = ReflexPipeline(storage, brain.config, embedder=None)
        result = await pipeline.query("When did Dana meet Eve in Rome?", max_tokens=60)
    assert threads and threading.main_thread() not in threads
    assert result.context.startswith("- [") and "Dana met Eve in Rome" in result.context
    assert 0 < result.tokens_used <= 60
