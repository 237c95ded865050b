"""A fixed brain and query run, and a canonical dump of what recall answered (recall identity).

``python -m tests.engine.recall_corpus`` (run with ``PYTHONPATH`` set to the code to take as
the reference) encodes :func:`memories` into each embedded backend, runs :func:`queries` in
order (reinforcement and recall events on, so each recall's write-back shapes the next) with
and without a toy embedder, and writes every answer to
``tests/engine/data/recall_golden.json.gz``. The test runs the same with the current code and
expects the very same answers: making recall cheaper must not change a score, an order, a
context or a confidence.
"""

from __future__ import annotations

import dataclasses
import enum
import gzip
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from benchmarks.speed_data import make_memories, make_queries

from neural_memory.engine.encoder import MemoryInput
from neural_memory.engine.retrieval import DepthLevel, RetrievalResult
from neural_memory.storage import Storage

GOLDEN = Path(__file__).parent / "data" / "recall_golden.json.gz"

REFERENCE_TIME = datetime(2025, 1, 2, 12, 0, tzinfo=UTC)

_HAND_WRITTEN = (
    "I went hiking with Carol yesterday because the weather was great.",
    "Yesterday I met Dan Brown at the Lisbon office before the launch.",
    "The deploy of the payments service failed twice because the database was full.",
    "Why did the deploy fail? Ask Carol, she rolled it back on Monday.",
    "My sister's name is Olga and she lives in Berlin.",
    "The wifi password is hunter2",
    "Remember to fix the login page; it blocks users and prevents signups.",
)


class ToyEmbedder:
    """A tiny deterministic embedder (letter counts), enough to exercise the semantic signal."""

    @property
    def dimension(self) -> int:
        """Vector size."""
        return 6

    @property
    def name(self) -> str:
        """Model name stored beside the vectors."""
        return "toy-6"

    async def embed(self, texts: Sequence[str]) -> npt.NDArray[np.float32]:
        """One unit vector per text."""
        rows = np.array(
            [[len(t) % 17 + 1, *(t.count(ch) + 1 for ch in "aeiou")] for t in texts],
            dtype=np.float64,
        )
        unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
        return unit.astype(np.float32)


def memories() -> list[MemoryInput]:
    """Hand-written memories, then synthetic chat lines of several speakers."""
    start = REFERENCE_TIME - timedelta(days=400)
    items = [
        MemoryInput(text=text, timestamp=REFERENCE_TIME - timedelta(days=1, hours=i))
        for i, text in enumerate(_HAND_WRITTEN)
    ]
    for i, memory in enumerate(make_memories(900, seed=5)):
        items.append(
            MemoryInput(
                text=memory.text,
                timestamp=start + timedelta(hours=11 * i),
                metadata={"speaker": memory.speaker},
                conversation=memory.speaker if i % 3 else None,
            )
        )
    return items


def queries() -> list[dict[str, Any]]:
    """Keyword arguments of ``ReflexPipeline.query`` for each recall, in order."""
    asked: list[dict[str, Any]] = [
        {"query": q.text} for q in make_queries(60, seed=5, hub_share=0.25)
    ]
    asked += [
        {"query": "What did I do yesterday?"},
        {"query": "Why did the deploy fail?", "explain": True},
        {"query": "Who did Carol go hiking with?", "asker": "Carol", "explain": True},
        {"query": "What is my sister's name?", "max_fibers": 3},
        {"query": "What happened last week?", "depth": DepthLevel.INSTANT},
        {"query": "Tell me about the payments deploy", "depth": DepthLevel.HABIT},
        {"query": "What did Dan Brown do in Lisbon?", "max_tokens": 40},
        {"query": "wifi password", "depth": DepthLevel.DEEP, "max_fibers": 25},
    ]
    return asked


def plain(value: Any) -> Any:
    """``value`` as JSON-able data (dataclasses, enums, datetimes and sets included)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, frozenset | set):
        return sorted(plain(v) for v in value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    return value


def answer(result: RetrievalResult) -> dict[str, Any]:
    """What a recall answered, without its wall time."""
    found: dict[str, Any] = plain(result)
    found.pop("latency_ms")
    return found


async def run_corpus(storage: Storage, *, embedded: bool) -> list[dict[str, Any]]:
    """Encode :func:`memories` into ``storage``'s brain and answer :func:`queries` in order."""
    from neural_memory.core.brain import BrainConfig
    from neural_memory.engine.encoder import MemoryEncoder
    from neural_memory.engine.retrieval import ReflexPipeline

    config = BrainConfig()
    embedder = ToyEmbedder() if embedded else None
    encoder = MemoryEncoder(storage, config, embedder=embedder)
    items = memories()
    for start in range(0, len(items), 200):
        await encoder.encode_many(items[start : start + 200])
    pipeline = ReflexPipeline(storage, config, embedder=embedder)
    answers = []
    for kwargs in queries():
        text = kwargs.pop("query")
        result = await pipeline.query(text, reference_time=REFERENCE_TIME, **kwargs)
        answers.append(answer(result))
    return answers


async def _write_golden() -> None:
    from pathlib import Path as _Path
    from tempfile import TemporaryDirectory

    from neural_memory.core.brain import Brain
    from tests.backends import BACKENDS

    golden: dict[str, Any] = {}
    with TemporaryDirectory() as tmp:
        for backend in ("memory", "sqlite"):
            for embedded in (False, True):
                folder = _Path(tmp) / f"{backend}-{embedded}"
                folder.mkdir()
                async with BACKENDS[backend](folder) as storage:
                    brain = Brain.create("recall-golden")
                    await storage.save_brain(brain)
                    storage.set_brain(brain.id)
                    golden[golden_key(backend, embedded)] = await run_corpus(
                        storage, embedded=embedded
                    )
    text = json.dumps(golden, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    GOLDEN.write_bytes(gzip.compress(text.encode(), mtime=0))
    print(f"wrote {GOLDEN} ({len(golden)} runs)", file=sys.stderr)


def golden_key(backend: str, embedded: bool) -> str:
    """The golden file's entry for one backend, with or without the toy embedder."""
    return f"{backend}-{'embedded' if embedded else 'lexical'}"


if __name__ == "__main__":
    import asyncio

    asyncio.run(_write_golden())
