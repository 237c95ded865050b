"""Bulk ingest stores exactly what the reference encoder stored (ids, types, links, metadata).

The reference dump was written by the encoder before ingest was made fast
(``tests/engine/ingest_corpus.py`` says how to write it again): a speed-up that changes a
single extracted neuron, link or fiber id fails here, on every backend.
"""

from __future__ import annotations

import gzip
import json
import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

from neural_memory.core.text import document_terms
from neural_memory.engine._encode_plan import extract_all, moment_of, read, speaker_of
from neural_memory.storage import Storage
from tests.engine.ingest_corpus import GOLDEN, corpus, encode_corpus


def _golden() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    return loaded


def _same_as_golden(encoded: dict[str, Any]) -> None:
    expected = _golden()
    found = json.loads(json.dumps(encoded, sort_keys=True))
    assert found["results"] == expected["results"]
    for section in ("fibers", "neurons", "synapses"):
        mine, theirs = found["stored"][section], expected["stored"][section]
        assert sorted(mine) == sorted(theirs), section
        differing = [key for key in theirs if mine[key] != theirs[key]]
        assert not differing, (section, mine[differing[0]], theirs[differing[0]])


async def test_encoding_the_corpus_stores_what_the_reference_encoder_stored(
    storage: Storage,
) -> None:
    _same_as_golden(await encode_corpus(storage))


async def test_encode_batches_stores_what_encode_many_stores(storage: Storage) -> None:
    _same_as_golden(await encode_corpus(storage, pipelined=True))


async def test_encode_batches_with_a_planner_process_stores_the_same(
    storage: Storage,
) -> None:
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as planner:
        _same_as_golden(await encode_corpus(storage, pipelined=True, planner=planner))


def test_what_a_planner_process_sends_reads_back_as_it_was() -> None:
    texts = [(item.text, moment_of(item), speaker_of(item)) for item in corpus()]
    sent = pickle.loads(pickle.dumps(extract_all(texts)))
    assert [parts for parts, _ in sent] == [read(*text) for text in texts]
    assert all(type(link) is tuple for (_, links, _), _ in sent for link in links)
    assert [terms for _, terms in sent] == [
        tuple(document_terms(text, speaker)) for text, _, speaker in texts
    ]
