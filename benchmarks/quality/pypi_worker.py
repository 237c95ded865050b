"""Worker run *inside* the PyPI ``neural-memory`` virtual environment (stdlib + that package).

Started by :mod:`benchmarks.quality.pypi_neural_memory` as
``<venv>/bin/python -I pypi_worker.py``; it never imports the project. It speaks JSON lines
over stdin/stdout, one request and one response per line:

* on start it writes ``{"ok": true, "event": "ready", "version": "..."}``;
* ``{"op": "open", "brain": name}`` starts a fresh in-memory brain;
* ``{"op": "index", "docs": [{"id", "text", "speaker", "timestamp"}]}`` encodes one
  memory per doc (``timestamp`` is ISO 8601), answering ``{"ok", "indexed", "seconds"}``;
* ``{"op": "query", "query", "reference_time", "max_tokens"}`` answers ``{"ok", "ids",
  "context", "latency_ms"}``: the doc ids of the recalled memories, best first, the context
  the system built, and the time of the ``ReflexPipeline.query`` call alone;
* ``{"op": "quit"}`` ends the worker.

Only the calls of the package's documented quick start are used (``Brain.create``,
``InMemoryStorage``, ``MemoryEncoder.encode`` with a timestamp and metadata,
``ReflexPipeline.query`` with ``reference_time`` and ``max_tokens``), so any package with
that API can be driven. Datetimes are passed as naive UTC, as the PyPI package expects.
An error ends the worker; the caller records the request as failed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import neural_memory
from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import InMemoryStorage


def naive_utc(text: str | None) -> datetime | None:
    """ISO 8601 text as a naive UTC datetime (``None`` stays ``None``)."""
    if not text:
        return None
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


class Session:
    """One brain at a time: storage, encoder and pipeline."""

    def __init__(self) -> None:
        self.storage: Any = None
        self.encoder: Any = None
        self.pipeline: Any = None

    async def open(self, name: str) -> dict[str, Any]:
        """Start a fresh in-memory brain."""
        await self.close()
        storage = InMemoryStorage()
        brain = Brain.create(name)
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        self.storage = storage
        self.encoder = MemoryEncoder(storage, brain.config)
        self.pipeline = ReflexPipeline(storage, brain.config)
        return {"ok": True}

    async def index(self, docs: list[dict[str, Any]]) -> dict[str, Any]:
        """Encode one memory per doc, with its date, speaker and id."""
        started = time.perf_counter()
        for doc in docs:
            await self.encoder.encode(
                doc["text"],
                timestamp=naive_utc(doc.get("timestamp")),
                metadata={"speaker": doc.get("speaker"), "doc_id": doc["id"]},
            )
        return {"ok": True, "indexed": len(docs), "seconds": time.perf_counter() - started}

    async def query(self, text: str, reference_time: str | None, max_tokens: int) -> dict[str, Any]:
        """Recall; map every recalled fiber back to the doc it was encoded from."""
        started = time.perf_counter()
        result = await self.pipeline.query(
            text, max_tokens=max_tokens, reference_time=naive_utc(reference_time)
        )
        latency_ms = (time.perf_counter() - started) * 1000.0
        ids: list[str] = []
        for fiber_id in list(result.fibers_matched):
            fiber = await self.storage.get_fiber(fiber_id)
            doc_id = (fiber.metadata or {}).get("doc_id") if fiber is not None else None
            if isinstance(doc_id, str) and doc_id not in ids:
                ids.append(doc_id)
        return {"ok": True, "ids": ids, "context": result.context, "latency_ms": latency_ms}

    async def close(self) -> None:
        """Let the pipeline finish its background writes, then drop the brain."""
        flush = getattr(self.pipeline, "flush_background_tasks", None)
        if flush is not None:
            await flush()
        if self.storage is not None and hasattr(self.storage, "close"):
            await self.storage.close()
        self.storage = self.encoder = self.pipeline = None


async def handle(session: Session, request: dict[str, Any]) -> dict[str, Any] | None:
    """Answer one request; ``None`` means quit."""
    op = request.get("op")
    if op == "open":
        return await session.open(str(request.get("brain", "bench")))
    if op == "index":
        return await session.index(list(request["docs"]))
    if op == "query":
        return await session.query(
            str(request["query"]),
            request.get("reference_time"),
            int(request.get("max_tokens", 1000)),
        )
    if op == "quit":
        await session.close()
        return None
    return {"ok": False, "error": f"unknown op {op!r}"}


# The protocol channel; anything the package prints goes to stderr instead (see serve()).
_CHANNEL = sys.stdout


def _send(message: dict[str, Any]) -> None:
    _CHANNEL.write(json.dumps(message) + "\n")
    _CHANNEL.flush()


async def serve() -> None:
    """Read requests from stdin until ``quit`` or end of input."""
    sys.stdout = sys.stderr  # keep stray prints of the package off the protocol channel
    session = Session()
    _send({"ok": True, "event": "ready", "version": getattr(neural_memory, "__version__", "?")})
    loop = asyncio.get_running_loop()
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if not line:
            await session.close()
            return
        if not line.strip():
            continue
        response = await handle(session, json.loads(line))
        if response is None:
            _send({"ok": True, "event": "bye"})
            return
        _send(response)


if __name__ == "__main__":
    asyncio.run(serve())
