"""A varied corpus and a canonical dump of what encoding it stores (the ingest identity test).

``python -m tests.engine.ingest_corpus`` (run with ``PYTHONPATH`` set to the code to take as
the reference) encodes :func:`corpus` into an InMemoryStorage in the batches of
:data:`BATCHES` and writes the dump to ``tests/engine/data/ingest_golden.json.gz``. The
test encodes the same corpus with the current code, into every backend, and expects the very
same dump: making ingest faster must not change what is extracted and stored.
"""

from __future__ import annotations

import gzip
import json
import sys
from collections.abc import Sequence
from concurrent.futures import Executor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks.speed_data import make_memories

from neural_memory.codec.encode import encode_record
from neural_memory.engine.encoder import EncodingResult, MemoryInput
from neural_memory.storage import Storage

GOLDEN = Path(__file__).parent / "data" / "ingest_golden.json.gz"

BATCHES = (1, 7, 40, 150, 3, 200, 60)
"""Batch sizes the corpus is encoded in (the last one repeats until the corpus ends)."""

_AT = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)

_TEXTS = (
    "I went hiking with Carol yesterday because the weather was great.",
    "Yesterday I met Dan Brown at the Lisbon office before the launch.",
    "[2023-05-08 13:56] Caroline: I went to a LGBTQ support group yesterday and it was powerful.",
    "[8 May 2023] Melanie: We painted a sunrise together last Saturday!",
    "May 20, 2023 at 3:15 pm: the deploy of the payments service failed twice.",
    "The wifi password is hunter2",
    "The wifi password is correct-horse-battery",
    "The wifi password is hunter2",
    "My sister's name is Olga",
    "Alice's favourite colour is green",
    "Alice's favourite colour is blue",
    "Two weeks ago we moved to New York City, and next month we visit San Francisco.",
    "On 7 May 2023 the contract was signed; in June 2022 it was drafted; 2021 was quiet.",
    "We flew out on 2023-04-01 and came back 2023/04/15 after three days ago nothing.",
    "Last week, this month, next year, the past weekend and a couple of days ago.",
    "I'm planning to learn Spanish since I want to travel through Madrid during the summer.",
    "She saw a heron and heard the owl while we were kayaking on Lake Tahoe.",
    "Remember to fix the login page; it blocks users and prevents signups.",
    "Kubernetes is a kind of container orchestrator, so it enables autoscaling.",
    "The build is broken after the merge, so Ben is feeling stressed.",
    "Tonight tomorrow today: tuesday, WEDNESDAY and on Friday evening we cook.",
    "order #12345 shipped, invoice 99887766 paid, code 42 ignored, room 7b booked.",
    "Müller und Zoë trafen sich in Zürich — café crème, naïve résumé, 東京 で 会議.",
    "Emoji test 🎉 party at José's place with Åsa and Ørjan 🚀 on Sunday!!!",
    "   Leading spaces, trailing tabs\t and\nnew lines\n\nin one memory.   ",
    "ALL CAPS SHOUTING ABOUT THE NASA LAUNCH AND THE FBI REPORT IN DC",
    "don't won't can't shouldn't it's we're they've I'd you'll o'clock rock-n-roll",
    "Mar 3 we hiked, on the 4th of July we watched fireworks, Dec 25th was Christmas.",
    "What did Carol do to the billing service? She rolled it back on Monday.",
    " ".join(f"Word{i} topic{i % 7} Name{i % 11} visited Place{i % 5}" for i in range(60)),
    "a",
    "1999",
    "The meeting is at 10:30 in Room B, then lunch at 12:00 with the Berlin team.",
    "Thanks to Priya, the migration led to fewer outages, and during Q3 uptime rose.",
    "Carol Smith, Dan Brown, Emma Stone, Farid Khan, Grace Hopper and Hiro Tanaka met.",
)


def corpus() -> list[MemoryInput]:
    """The memories encoded, in order: hand-written edge cases and synthetic chat lines."""
    items = [
        MemoryInput(text=text, timestamp=_AT + timedelta(hours=i)) for i, text in enumerate(_TEXTS)
    ]
    items += [
        MemoryInput(
            text=text,
            timestamp=_AT + timedelta(days=i % 9),
            metadata={"speaker": "Mel"} if i % 3 else None,
            tags=frozenset({"t1", "t2"}) if i % 4 == 0 else frozenset(),
            salience=0.25 + (i % 3) / 4,
            conversation=f"c{i % 3}" if i % 2 else None,
        )
        for i, text in enumerate(_TEXTS)
    ]
    items.append(MemoryInput(text="Follow-up on the wifi", timestamp=_AT, follows="f-given"))
    for memory in make_memories(300, seed=11):
        items.append(
            MemoryInput(
                text=memory.text,
                timestamp=memory.at,
                metadata={"speaker": memory.speaker},
                conversation=memory.speaker if len(memory.speaker) % 2 else None,
            )
        )
    return items


def batches(items: Sequence[MemoryInput]) -> list[list[MemoryInput]]:
    """``items`` cut into the batch sizes of :data:`BATCHES`."""
    cut: list[list[MemoryInput]] = []
    start, index = 0, 0
    while start < len(items):
        size = BATCHES[min(index, len(BATCHES) - 1)]
        cut.append(list(items[start : start + size]))
        start, index = start + size, index + 1
    return cut


def result_summary(result: EncodingResult) -> list[Any]:
    """What ``encode_many`` returned for one memory (ids only, creation order kept)."""
    return [
        result.fiber.id,
        result.merged,
        [n.id for n in result.neurons_created],
        list(result.neurons_linked),
        [s.id for s in result.synapses_created],
        list(result.synapses_reinforced),
    ]


async def dump(storage: Storage, fiber_ids: Sequence[str]) -> dict[str, Any]:
    """Every stored fiber of ``fiber_ids`` and every neuron and synapse they bind, canonically.

    Left out: what depends on the wall clock (a fiber's ``created_at``, when a synapse was
    last reinforced by a later batch); weights are rounded (backends add in SQL).
    """
    fibers = await storage.get_fibers(fiber_ids)
    neuron_ids = {n for f in fibers.values() for n in f.neuron_ids}
    synapse_ids = {s for f in fibers.values() for s in f.synapse_ids}
    neurons = await storage.get_neurons(neuron_ids)
    synapses = await storage.get_synapses_by_id(synapse_ids)
    return {
        "fibers": {i: _plain(encode_record(f), ("created_at",)) for i, f in sorted(fibers.items())},
        "neurons": {i: _plain(encode_record(n), ()) for i, n in sorted(neurons.items())},
        "synapses": {
            i: _plain(encode_record(s), ("last_activated",)) for i, s in sorted(synapses.items())
        },
    }


def _plain(record: dict[str, Any], clocked: tuple[str, ...]) -> dict[str, Any]:
    plain = {k: v for k, v in record.items() if k not in clocked}
    for key in clocked:
        if key == "last_activated":
            plain["activated"] = record[key] is not None
    if isinstance(plain.get("weight"), float):
        plain["weight"] = round(plain["weight"], 9)
    return plain


async def encode_corpus(
    storage: Storage, *, pipelined: bool = False, planner: Executor | None = None
) -> dict[str, Any]:
    """Encode :func:`corpus` into ``storage``'s current brain; the results and the dump.

    ``pipelined``: with ``encode_batches`` (in ``planner``, if given) instead of one
    ``encode_many`` per batch.
    """
    from neural_memory import Brain
    from neural_memory.engine.encoder import MemoryEncoder

    brain = Brain.create("golden")
    encoder = MemoryEncoder(storage, brain.config, embedder=None, planner=planner)
    results = []
    if pipelined:
        async for found in encoder.encode_batches(batches(corpus())):
            results += [result_summary(r) for r in found]
    else:
        for batch in batches(corpus()):
            results += [result_summary(r) for r in await encoder.encode_many(batch)]
    return {"results": results, "stored": await dump(storage, [r[0] for r in results])}


async def _write_golden() -> None:
    from neural_memory import Brain
    from neural_memory.storage import InMemoryStorage

    async with InMemoryStorage() as storage:
        brain = Brain.create("golden")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        found = await encode_corpus(storage)
    text = json.dumps(found, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    GOLDEN.write_bytes(gzip.compress(text.encode(), mtime=0))
    print(f"wrote {GOLDEN} ({len(found['results'])} memories)", file=sys.stderr)


if __name__ == "__main__":
    import asyncio

    asyncio.run(_write_golden())
