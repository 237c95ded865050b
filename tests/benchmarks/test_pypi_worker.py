"""The PyPI side-by-side plumbing, without the network.

A fake worker (a tiny keyword matcher speaking the same JSON-lines protocol) checks the
client: answers, time limits (a miss, then a restarted worker with the brain indexed
again), crashes and shutdown. The real worker script is then driven under this project's
own ``neural_memory``, which implements the same documented quick-start API.
"""

from __future__ import annotations

import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest
from benchmarks.quality.datasets import LocomoConversation, LocomoQuestion, LocomoTurn
from benchmarks.quality.evaluate import SystemRun, evaluate_locomo
from benchmarks.quality.pypi_neural_memory import (
    WORKER_SCRIPT,
    PypiSettings,
    PypiWorker,
    _pinned,
    venv_python,
    wire_doc,
    worker_environment,
)
from benchmarks.quality.report import latency_stats
from benchmarks.quality.retrievers import Doc, RetrieverError
from benchmarks.quality.systems import PypiFactory, SystemOptions
from tqdm import tqdm

T0 = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
DOCS = [
    Doc("D1:1", "I adopted a puppy named Max", "Caroline", T0),
    Doc("D1:2", "Painting sunsets is my hobby", "Melanie", T0),
    Doc("D1:3", "Max the puppy chewed my shoes", "Caroline", T0),
]

FAKE_WORKER = textwrap.dedent(
    """
    import json, sys, time

    def send(message):
        sys.stdout.write(json.dumps(message) + "\\n")
        sys.stdout.flush()

    send({"ok": True, "event": "ready", "version": "9.9.9-fake"})
    docs = []
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "open":
            docs = []
            send({"ok": True})
        elif op == "index":
            docs = request["docs"]
            send({"ok": True, "indexed": len(docs), "seconds": 0.0})
        elif op == "query":
            words = set(request["query"].lower().split())
            if "slow" in words:
                time.sleep(30)
            if "crash" in words:
                sys.stderr.write("fake worker: boom\\n")
                sys.exit(3)
            scored = [(len(words & set(d["text"].lower().split())), d["id"]) for d in docs]
            ids = [i for score, i in sorted(scored, key=lambda s: -s[0]) if score > 0]
            context = "\\n".join(d["text"] for d in docs if d["id"] in ids)
            send({"ok": True, "ids": ids, "context": context, "latency_ms": 7.5})
        elif op == "quit":
            send({"ok": True, "event": "bye"})
            break
        else:
            send({"ok": False, "error": "unknown op"})
    """
)


@pytest.fixture
def fake_command(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_worker.py"
    script.write_text(FAKE_WORKER, encoding="utf-8")
    return [sys.executable, "-I", str(script)]


async def test_fake_worker_answers_and_maps_ids(fake_command: list[str]) -> None:
    worker = PypiWorker(fake_command, query_timeout=10, startup_timeout=30)
    try:
        await worker.start()
        assert worker.stats()["version"] == "9.9.9-fake"
        retriever = worker.retriever("conv")
        await retriever.index(DOCS)
        out = await retriever.search_with_context(
            "puppy max", k=1, reference_time=T0, max_tokens=1000
        )
        assert out.ids == ["D1:1"]  # cut to k
        assert out.latency_ms == 7.5  # the worker's own query time
        assert out.context is not None and "puppy" in out.context
        assert await retriever.search("sunsets", k=5, reference_time=None) == ["D1:2"]
    finally:
        await worker.aclose()
    assert not worker.running


async def test_timeout_is_a_miss_then_the_brain_is_indexed_again(
    fake_command: list[str],
) -> None:
    worker = PypiWorker(fake_command, query_timeout=0.5, startup_timeout=30)
    try:
        await worker.start()
        retriever = worker.retriever("conv")
        await retriever.index(DOCS)
        with pytest.raises(RetrieverError) as caught:
            await retriever.search("slow puppy", k=5, reference_time=None)
        assert caught.value.kind == "timeout"
        assert not worker.running  # killed, not left computing
        ids = await retriever.search("puppy shoes", k=5, reference_time=None)
        assert ids[0] == "D1:3" and set(ids) == {"D1:1", "D1:3"}
        stats = worker.stats()
        assert stats["timeouts"] == 1 and stats["worker_starts"] == 2
        assert stats["reindex_seconds"] > 0
    finally:
        await worker.aclose()


async def test_crash_is_an_error_with_the_workers_message(fake_command: list[str]) -> None:
    worker = PypiWorker(fake_command, query_timeout=10, startup_timeout=30)
    try:
        retriever = worker.retriever("conv")
        await retriever.index(DOCS)  # starts the worker on first use
        with pytest.raises(RetrieverError) as caught:
            await retriever.search("crash", k=5, reference_time=None)
        assert caught.value.kind == "error"
        assert "boom" in str(caught.value)
        assert worker.stats()["errors"] == 1
        assert await retriever.search("sunsets", k=5, reference_time=None) == ["D1:2"]
    finally:
        await worker.aclose()


async def test_worker_that_never_starts(tmp_path: Path) -> None:
    script = tmp_path / "mute.py"
    script.write_text("import sys\nsys.exit(1)\n", encoding="utf-8")
    worker = PypiWorker([sys.executable, "-I", str(script)], startup_timeout=30)
    with pytest.raises(RetrieverError):
        await worker.start()
    await worker.aclose()


def _conversation() -> LocomoConversation:
    turns = tuple(
        LocomoTurn(d.id, d.speaker, d.text, 1, T0, "1:56 pm on 8 May, 2023") for d in DOCS
    )
    questions = tuple(
        LocomoQuestion("c", text, "", evidence, 4)
        for text, evidence in (
            ("a puppy named max", ("D1:1",)),
            ("slow puppy named max", ("D1:1",)),
            ("who paints sunsets", ("D1:2",)),
        )
    )
    return LocomoConversation("c", "Caroline", "Melanie", turns, questions)


async def test_harness_counts_timeouts_as_misses(fake_command: list[str]) -> None:
    settings = PypiSettings(query_timeout=0.5)
    worker = PypiWorker(fake_command, query_timeout=0.5, startup_timeout=30)
    factory = PypiFactory(worker, settings)
    run = SystemRun("pypi_neural_memory")
    try:
        with tqdm(disable=True) as progress:
            await evaluate_locomo(
                factory, run, [_conversation()], SystemOptions(pypi=settings), progress
            )
    finally:
        await factory.aclose()
    by_id = {r.question_id: r for r in run.records}
    assert by_id["c#0"].failure is None and by_id["c#0"].measures["recall@10"] == 1.0
    slow = by_id["c#1"]
    assert slow.failure == "timeout"
    assert slow.measures == {"recall@5": 0.0, "recall@10": 0.0, "context_recall": 0.0}
    assert slow.latency_ms == 500.0  # counted at the limit
    assert by_id["c#2"].measures["recall@5"] == 1.0  # worker restarted, brain re-indexed
    stats = latency_stats(run)
    assert stats["timeouts"] == 1 and stats["errors"] == 0
    assert factory.stats()["worker_starts"] == 2


async def test_real_worker_script_speaks_the_protocol() -> None:
    """The worker drives any package with the documented API; here, this project's own."""
    worker = PypiWorker(
        [sys.executable, "-I", str(WORKER_SCRIPT)], query_timeout=60, startup_timeout=60
    )
    try:
        retriever = worker.retriever("conv")
        await retriever.index(DOCS)
        out = await retriever.search_with_context(
            "What is the name of Caroline's puppy?",
            k=10,
            reference_time=datetime(2023, 6, 1, tzinfo=UTC),
            max_tokens=1000,
        )
    finally:
        await worker.aclose()
    assert out.ids and set(out.ids) <= {d.id for d in DOCS}
    assert out.ids[0] in {"D1:1", "D1:3"}
    assert out.latency_ms is not None and out.latency_ms > 0
    assert out.context and "puppy" in out.context


def test_helpers(tmp_path: Path) -> None:
    assert wire_doc(DOCS[0]) == {
        "id": "D1:1",
        "text": "I adopted a puppy named Max",
        "speaker": "Caroline",
        "timestamp": "2023-05-08T13:56:00+00:00",
    }
    env = worker_environment(tmp_path)
    assert env["HOME"] == str(tmp_path)
    assert env["NEURALMEMORY_DIR"].startswith(str(tmp_path))
    assert not any("KEY" in name or "TOKEN" in name for name in env)
    assert _pinned("neural-memory==4.63.0") == "4.63.0"
    assert _pinned("neural-memory") is None
    assert venv_python(tmp_path).parent.name in {"bin", "Scripts"}
