"""The ablation systems: their weights, sleeping between sessions, dedup, the summary table."""

from __future__ import annotations

import dataclasses
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from benchmarks.quality import run as bench
from benchmarks.quality.datasets import (
    LOCOMO_FILE,
    LONGMEMEVAL_FILE,
    LocomoConversation,
    LocomoQuestion,
    LocomoTurn,
)
from benchmarks.quality.evaluate import QuestionRecord, SystemRun, evaluate, subsample
from benchmarks.quality.nm_retriever import NeuralMemoryRetriever, sessions_in_order
from benchmarks.quality.retrievers import Doc, SystemUnavailableError
from benchmarks.quality.summary import format_summary, pypi_question_ids, summary_rows
from benchmarks.quality.systems import (
    ABLATION_LADDER,
    ALIASES,
    GRAPH_SIGNALS,
    NM_SYSTEMS,
    EngineFactory,
    SystemOptions,
    nm_spec,
    open_system,
)
from tqdm import tqdm

from neural_memory.engine.embeddings import load_default_embedder
from neural_memory.engine.retrieval import FusionWeights

MODIFIERS = {"lexical", "activation_gamma", "superseded_penalty", "conductivity"}
"""FusionWeights fields that are no signal of their own (everything else is one)."""


def _on(weights: FusionWeights) -> set[str]:
    signals = {f.name for f in dataclasses.fields(FusionWeights)} - MODIFIERS
    return {name for name in signals if getattr(weights, name) > 0}


def test_ladder_adds_one_part_per_step() -> None:
    defaults = FusionWeights()
    assert NM_SYSTEMS["nm_lexical"].weights.lexical == defaults.lexical
    assert _on(NM_SYSTEMS["nm_lexical"].weights) == set()  # a new signal must join the ladder
    assert _on(NM_SYSTEMS["nm_embed"].weights) == {"semantic"}
    assert _on(NM_SYSTEMS["nm_graph"].weights) == {"semantic", *GRAPH_SIGNALS}
    assert _on(NM_SYSTEMS["nm_graph"].weights) == _on(defaults) - {"time"}
    assert NM_SYSTEMS["nm_time"].weights == defaults
    assert NM_SYSTEMS["nm_full"].weights == defaults
    for name in ("nm_embed", "nm_graph", "nm_time"):  # the steps keep the default strengths
        for signal in _on(NM_SYSTEMS[name].weights):
            assert getattr(NM_SYSTEMS[name].weights, signal) == getattr(defaults, signal)
    assert not NM_SYSTEMS["nm_lexical"].embeddings
    assert all(NM_SYSTEMS[s].embeddings for s in ABLATION_LADDER[1:])
    assert [s for s in NM_SYSTEMS if NM_SYSTEMS[s].sleep] == ["nm_sleep"]
    assert NM_SYSTEMS["nm_sleep"].weights == defaults


def test_aliases() -> None:
    assert ALIASES["neural_memory_emb"] == "nm_full"
    assert nm_spec("neural_memory_emb") == NM_SYSTEMS["nm_full"]
    legacy = nm_spec("neural_memory")
    assert legacy is not None and legacy.weights == FusionWeights() and not legacy.embeddings
    assert nm_spec("bm25") is None


async def test_factory_builds_retrievers_with_the_systems_weights() -> None:
    factory = await open_system("nm_lexical", SystemOptions())
    assert isinstance(factory, EngineFactory)
    retriever = await factory.make("locomo", "conv")
    assert isinstance(retriever, NeuralMemoryRetriever)
    assert retriever.weights == NM_SYSTEMS["nm_lexical"].weights
    assert retriever.embedder is None and not retriever.sleep
    assert factory.stats()["weights"]["activation"] == 0


async def test_embedding_systems_are_skipped_without_embeddings() -> None:
    if load_default_embedder() is not None:
        factory = await open_system("nm_sleep", SystemOptions())
        try:
            retriever = await factory.make("locomo", "conv")
        finally:
            await factory.aclose()
        assert isinstance(retriever, NeuralMemoryRetriever)
        assert retriever.embedder is not None and retriever.sleep
        return
    with pytest.raises(SystemUnavailableError, match="embeddings"):
        await open_system("nm_embed", SystemOptions())


T0 = datetime(2023, 5, 8, 13, 0, tzinfo=UTC)


def _sessions() -> list[Doc]:
    later = T0 + timedelta(days=20)
    return [
        Doc("D2:1", "We moved the office to Lisbon.", "Ann", later, None, "S2"),
        Doc("D1:1", "I adopted a puppy named Max.", "Ann", T0, None, "S1"),
        Doc("D1:2", "Max loves the beach near the house.", "Bob", T0, None, "S1"),
        Doc("D2:2", "The Lisbon office has a rooftop garden.", "Bob", later, None, "S2"),
    ]


def test_sessions_in_order_groups_and_sorts() -> None:
    groups = sessions_in_order(_sessions())
    assert [[d.id for d in g] for g in groups] == [["D1:1", "D1:2"], ["D2:1", "D2:2"]]
    undated = [dataclasses.replace(d, session=None) for d in _sessions()]
    assert [len(g) for g in sessions_in_order(undated)] == [2, 2]  # grouped by timestamp


async def test_sleep_between_sessions_keeps_every_turn_findable() -> None:
    retriever = NeuralMemoryRetriever(brain_name="sleepy", sleep=True)
    try:
        await retriever.index(_sessions())
        stats = dict(retriever.sleep_stats)
        ids = await retriever.search(
            "What is the puppy called?", k=3, reference_time=T0 + timedelta(days=60)
        )
    finally:
        await retriever.close()
    assert stats["sleeps"] == 2
    assert stats["docs_lost"] == 0 and stats["memories_lost"] == 0
    assert "D1:1" in ids


def test_subsample_spreads_evenly() -> None:
    ids = [str(i) for i in range(10)]
    assert subsample(ids, None) == ids
    assert subsample(ids, 20) == ids
    assert subsample(ids, 1) == ["0"]
    assert subsample(ids, 3) == ["0", "4", "9"]  # round(4.5) == 4
    assert len(set(subsample(ids, 4))) == 4


async def test_identical_configurations_run_once() -> None:
    if load_default_embedder() is None:
        pytest.skip("needs the embeddings extra (nm_time and nm_full use embeddings)")
    turns = tuple(LocomoTurn(d.id, d.speaker, d.text, 1, d.timestamp, "x") for d in _sessions())
    question = LocomoQuestion("c", "Where is the office?", "Lisbon", ("D2:1",), 4)
    conversation = LocomoConversation("c", "Ann", "Bob", turns, (question,))
    with tqdm(total=3, file=io.StringIO()) as progress:
        runs = await evaluate(
            "locomo",
            ["nm_time", "nm_full", "nm_lexical"],
            [conversation],
            SystemOptions(),
            progress,
        )
    assert [r.same_as for r in runs] == [None, "nm_time", None]
    assert runs[1].records[0].system == "nm_full"
    assert runs[1].records[0].measures == runs[0].records[0].measures
    assert progress.n == 3


def _run(system: str, values: dict[str, float], ids: list[str]) -> SystemRun:
    records = [
        QuestionRecord(system, qid, "1:multi-hop", {"recall@10": values[qid]}, 10.0) for qid in ids
    ]
    return SystemRun(system, records=records)


def test_summary_steps_and_side_by_side() -> None:
    ids = ["c#0", "c#1"]
    runs = {
        "locomo": [
            _run("bm25", {"c#0": 0.0, "c#1": 1.0}, ids),
            _run("nm_lexical", {"c#0": 0.5, "c#1": 0.5}, ids),
            _run("nm_embed", {"c#0": 1.0, "c#1": 0.5}, ids),
            _run("pypi_neural_memory", {"c#0": 0.0}, ["c#0"]),
        ]
    }
    rows = summary_rows(runs)
    by_system = {r["system"]: r for r in rows}
    assert [r["system"] for r in rows][:3] == ["bm25", "nm_lexical", "nm_embed"]
    assert by_system["nm_embed"]["measures"]["LoCoMo R@10"] == 0.75
    assert by_system["nm_embed"]["step"]["LoCoMo R@10"] == pytest.approx(0.25)
    assert "step" not in by_system["nm_lexical"] and "step" not in by_system["bm25"]
    subset = pypi_question_ids(runs)
    assert subset == {"locomo": {"c#0"}}
    side = {r["system"]: r for r in summary_rows(runs, only=subset)}
    assert side["bm25"]["measures"]["LoCoMo R@10"] == 0.0
    assert side["nm_embed"]["measures"]["LoCoMo R@10"] == 1.0
    assert side["bm25"]["datasets"]["locomo"]["questions"] == 1
    text = format_summary("t", rows)
    assert "0.750 (+0.250)" in text and "PyPI neural-memory" in text


def test_cli_options(tmp_path: Path) -> None:
    for name in (LOCOMO_FILE, LONGMEMEVAL_FILE):  # the options only check that the data exist
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    data = ["--data-dir", str(tmp_path)]
    args = bench.parse_args(
        ["--systems", "bm25,neural_memory_emb", "--with-pypi", "--pypi-limit", "all", *data]
    )
    assert args.system_list == ["bm25", "neural_memory_emb", "pypi_neural_memory"]
    assert args.pypi_limit is None
    default = bench.parse_args(data)
    assert default.system_list[:2] == ["bm25", "embedding"]
    assert set(ABLATION_LADDER) <= set(default.system_list)
    assert default.pypi_limit == 20
    with pytest.raises(SystemExit):
        bench.parse_args(["--pypi-limit", "0", *data])
    with pytest.raises(SystemExit):
        bench.parse_args(["--data-dir", str(tmp_path / "missing")])
