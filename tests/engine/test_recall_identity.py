"""Recall answers exactly what the reference pipeline answered (order, scores, context, why).

The reference answers were written by the pipeline before recall was made cheaper
(``tests/engine/recall_corpus.py`` says how to write them again): a speed-up that changes a
single score, rank, context line, confidence or activation path fails here.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from neural_memory import Brain
from tests.backends import BACKENDS
from tests.engine.recall_corpus import GOLDEN, golden_key, run_corpus


def _golden(key: str) -> list[dict[str, Any]]:
    loaded: dict[str, list[dict[str, Any]]] = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    return loaded[key]


@pytest.mark.parametrize("embedded", [False, True], ids=["lexical", "embedded"])
@pytest.mark.parametrize("backend", ["memory", "sqlite"])
async def test_recall_answers_what_the_reference_pipeline_answered(
    backend: str, embedded: bool, tmp_path: Path
) -> None:
    expected = _golden(golden_key(backend, embedded))
    async with BACKENDS[backend](tmp_path) as storage:
        brain = Brain.create("recall-identity")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        found = json.loads(json.dumps(await run_corpus(storage, embedded=embedded)))
    assert len(found) == len(expected)
    for number, (mine, theirs) in enumerate(zip(found, expected, strict=True)):
        assert mine == theirs, (number, mine["query"])
