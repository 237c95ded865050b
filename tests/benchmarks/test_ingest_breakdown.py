"""The ingest breakdown benchmark, end to end on a few memories."""

from __future__ import annotations

import asyncio

import pytest
from benchmarks.ingest_breakdown import run


def test_every_step_is_timed_per_memory(capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(run(60, 20, seed=7))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "60 memories, batches of 20, embeddings off: CPU per memory"
    figures = {line[:20].strip(): float(line[20:].split()[0]) for line in lines[1:]}
    assert list(figures) == [
        "time expressions",
        "extraction",
        "limits",
        "sqlite write",
        "sqlite commit",
        "rows replayed",
        "replayed commits",
        "collector (sqlite)",
        "encode_many memory",
        "encode_many sqlite",
    ]
    assert all(value > 0 for label, value in figures.items() if label != "collector (sqlite)")
    assert figures["sqlite write"] > figures["sqlite commit"]
    assert figures["rows replayed"] > figures["replayed commits"]
