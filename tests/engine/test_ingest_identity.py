"""Bulk ingest stores exactly what the reference encoder stored (ids, types, links, metadata).

The reference dump was written by the encoder before ingest was made fast
(``tests/engine/ingest_corpus.py`` says how to write it again): a speed-up that changes a
single extracted neuron, link or fiber id fails here, on every backend.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

from neural_memory.storage import Storage
from tests.engine.ingest_corpus import GOLDEN, encode_corpus


def _golden() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(gzip.decompress(GOLDEN.read_bytes()))
    return loaded


async def test_encoding_the_corpus_stores_what_the_reference_encoder_stored(
    storage: Storage,
) -> None:
    expected = _golden()
    found = json.loads(json.dumps(await encode_corpus(storage), sort_keys=True))
    assert found["results"] == expected["results"]
    for section in ("fibers", "neurons", "synapses"):
        mine, theirs = found["stored"][section], expected["stored"][section]
        assert sorted(mine) == sorted(theirs), section
        differing = [key for key in theirs if mine[key] != theirs[key]]
        assert not differing, (section, mine[differing[0]], theirs[differing[0]])
