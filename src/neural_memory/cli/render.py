"""How the CLI shows results: rich tables for people, JSON for programs."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_memory.core.events import BrainStats
from neural_memory.core.fiber import Fiber
from neural_memory.core.fiber_metadata import SPEAKER
from neural_memory.engine._default_embedder import default_embedder, load_model, model_pending
from neural_memory.engine.retrieval import Explanation, RetrievalResult, ScoredFiber

if TYPE_CHECKING:  # types only: the demo does not import these modules
    from neural_memory.engine.lifecycle import DecayReport
    from neural_memory.engine.memories import MemoryView

__all__ = [
    "SHORT_LENGTH",
    "answer_table",
    "database_size",
    "decay_table",
    "error_line",
    "memory_document",
    "memory_list_table",
    "memory_table",
    "path_text",
    "result_document",
    "result_json",
    "shorten",
    "stats_table",
    "summary_line",
    "why_table",
]

SHORT_LENGTH = 300
"""Characters of a memory shown before it is shortened (``--full`` shows it whole)."""


def _date(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else ""


def shorten(text: str, *, full: bool = False, limit: int = SHORT_LENGTH) -> str:
    """``text``, or its first ``limit`` characters and a note saying how long it is."""
    if full or len(text) <= limit:
        return text
    return f"{text[:limit].rstrip()}… [{len(text):,} characters; --full shows all]"


def _speaker(fiber: ScoredFiber | Fiber) -> str:
    return SPEAKER.get(fiber.metadata) or ""


def answer_table(result: RetrievalResult, *, limit: int | None = None, full: bool = False) -> Table:
    """The recalled memories, best first: rank, date, speaker, text, score."""
    table = Table(title=Text(result.query, style="bold"), title_justify="left", expand=False)
    table.add_column("#", justify="right", style="dim")
    table.add_column("date", no_wrap=True)
    table.add_column("speaker", style="cyan", no_wrap=True)
    table.add_column("memory", overflow="fold")
    table.add_column("score", justify="right", no_wrap=True)
    fibers = result.fibers if limit is None else result.fibers[:limit]
    for rank, fiber in enumerate(fibers, start=1):
        table.add_row(
            str(rank),
            _date(fiber.occurred_at),
            Text(_speaker(fiber)),
            Text(shorten(fiber.content, full=full)),
            f"{fiber.score:.3f}",
        )
    return table


def summary_line(result: RetrievalResult, *, shown: int | None = None) -> Text:
    """``confidence 0.88 · 12.3 ms · 10 memories recalled (top 5 shown)``."""
    count = len(result.fibers)
    noun = "memory" if count == 1 else "memories"
    more = f" (top {shown} shown)" if shown is not None and shown < count else ""
    text = Text()
    text.append("confidence ", style="dim")
    text.append(f"{result.confidence:.2f}", style="bold green" if result.confidence >= 0.5 else "")
    text.append(f"  ·  {result.latency_ms:.1f} ms  ·  {count} {noun} recalled{more}", style="dim")
    return text


def path_text(why: Explanation) -> str:
    """An activation path in words: ``Priya -synapse-> Comet``."""
    if not why.path:
        return "no path: matched by its words or meaning only"
    parts = [why.path[0].label]
    for step in why.path[1:]:
        parts.append(f"-{step.via.value}-> {step.label}")
    return " ".join(parts)


def why_table(result: RetrievalResult) -> Table:
    """For each recalled memory: its signal scores and the path that reached it."""
    table = Table(title=Text("why", style="bold"), title_justify="left")
    table.add_column("#", justify="right", style="dim")
    table.add_column("lexical", justify="right")
    table.add_column("activation", justify="right")
    table.add_column("semantic", justify="right")
    table.add_column("query words in it", style="cyan")
    table.add_column("activation path", overflow="fold")
    for rank, fiber in enumerate(result.fibers, start=1):
        why = fiber.why
        table.add_row(
            str(rank),
            f"{fiber.lexical:.2f}",
            f"{fiber.activation:.2f}",
            f"{fiber.semantic:.2f}",
            Text(", ".join(why.anchors) if why else ""),
            Text(path_text(why) if why else ""),
        )
    return table


def _why_document(why: Explanation) -> dict[str, Any]:
    return {
        "query_words_in_memory": list(why.anchors),
        "hops": why.hops,
        "path": [
            {"neuron_id": s.neuron_id, "label": s.label, "via": s.via.value,
             "through_memory": s.through_memory}
            for s in why.path
        ],
    }  # fmt: skip


def result_json(result: RetrievalResult) -> str:
    """A recall result as a JSON document."""
    return json.dumps(result_document(result), ensure_ascii=False, indent=2)


def result_document(result: RetrievalResult) -> dict[str, Any]:
    """A recall result as a JSON-ready mapping."""
    return {
        "query": result.query,
        "confidence": round(result.confidence, 6),
        "latency_ms": round(result.latency_ms, 3),
        "tokens_used": result.tokens_used,
        "context": result.context,
        "memories": [
            {
                "rank": rank,
                "fiber_id": fiber.fiber_id,
                "occurred_at": fiber.occurred_at.isoformat() if fiber.occurred_at else None,
                "speaker": _speaker(fiber) or None,
                "text": fiber.content,
                "score": fiber.score,
                "lexical": fiber.lexical,
                "activation": fiber.activation,
                "semantic": fiber.semantic,
                **({"why": _why_document(fiber.why)} if fiber.why is not None else {}),
            }
            for rank, fiber in enumerate(result.fibers, start=1)
        ],
    }


def database_size(path: str) -> int:
    """Bytes on disk of the database file and its -wal and -shm companions."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        with contextlib.suppress(OSError):
            total += os.path.getsize(path + suffix)
    return total


def _mib(size: int) -> str:
    return f"{size / 1_048_576:.2f} MiB" if size >= 1_048_576 else f"{size / 1024:.1f} KiB"


def stats_table(name: str, brain_id: str, path: str, stats: BrainStats) -> Table:
    """The brain's counts, as a two-column table."""
    table = Table(title=Text(f"brain {name!r}", style="bold"), title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    oldest = stats.oldest_unused_fiber_at
    for what, value in (
        ("brain id", brain_id),
        ("database", f"{path} ({_mib(database_size(path))})"),
        ("memories (fibers)", f"{stats.fiber_count:,}"),
        ("neurons", f"{stats.neuron_count:,}"),
        ("synapses", f"{stats.synapse_count:,}"),
        ("synapses per neuron", f"{stats.synapses_per_neuron:.2f}"),
        ("orphan neurons", f"{stats.orphan_neuron_count:,}"),
        ("typed memories", f"{stats.typed_memory_count:,}"),
        ("expired typed memories", f"{stats.expired_memory_count:,}"),
        ("least recently used memory", oldest.isoformat(timespec="seconds") if oldest else "-"),
        ("change sequence", f"{stats.change_seq:,}"),
    ):
        table.add_row(what, Text(value))
    return table


def decay_table(report: DecayReport) -> Table:
    """What a decay pass changed (or would change in a dry run)."""
    verb = "would be" if report.dry_run else "were"
    title = "decay (dry run: nothing written)" if report.dry_run else "decay applied"
    table = Table(title=Text(title, style="bold"), title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for what, value in (
        (f"neurons that {verb} weakened", report.neurons_decayed),
        (f"synapses that {verb} weakened", report.synapses_decayed),
        (f"memories that {verb} weakened", report.fibers_decayed),
        (f"neurons that {verb} pruned", report.neurons_pruned),
        (f"synapses that {verb} pruned", report.synapses_pruned),
    ):
        table.add_row(what, f"{value:,}")
    table.caption = f"{report.duration_ms:.1f} ms"
    return table


async def model_ready(console: Console) -> None:
    """Load the default embedding model, if any and not loaded yet, with a spinner meanwhile."""
    embedder = default_embedder()
    if model_pending(embedder):
        with console.status("Loading the embedding model…"):
            await load_model(embedder)


def error_line(console: Console, message: str) -> None:
    """Print ``error: message`` in red on one line (never wrapped, markup not interpreted)."""
    flat = " ".join(message.split())
    console.print(Text("error: ", style="bold red") + Text(flat, style="red"), soft_wrap=True)


def memory_document(view: MemoryView) -> dict[str, Any]:
    """One memory as a JSON-ready mapping."""
    fiber, typed = view.fiber, view.typed
    return {
        "id": fiber.id,
        "text": fiber.content,
        "occurred_at": fiber.occurred_at.isoformat() if fiber.occurred_at else None,
        "created_at": fiber.created_at.isoformat(),
        "speaker": _speaker(fiber) or None,
        "type": typed.memory_type.value if typed else None,
        "priority": int(typed.priority) if typed else None,
        "tags": sorted(fiber.tags | (typed.tags if typed else frozenset())),
        "project": view.project,
        "expires_at": typed.expires_at.isoformat() if typed and typed.expires_at else None,
        "superseded_by": fiber.superseded_by,
        "versions": [v.id for v in view.versions] or [fiber.id],
    }


def memory_list_table(views: list[MemoryView], *, full: bool = False) -> Table:
    """Memories, one per row: date, type, speaker, text, id."""
    table = Table(title_justify="left", expand=True)
    table.add_column("date", no_wrap=True)
    table.add_column("type", style="magenta", no_wrap=True)
    table.add_column("speaker", style="cyan", no_wrap=True)
    table.add_column("memory", overflow="fold", ratio=1)
    table.add_column("id", style="dim", no_wrap=True)
    for view in views:
        table.add_row(
            _date(view.fiber.occurred_at or view.fiber.created_at),
            view.typed.memory_type.value if view.typed else "",
            Text(_speaker(view.fiber)),
            Text(shorten(view.fiber.content, full=full)),
            view.fiber.id,
        )
    return table


def memory_table(view: MemoryView, *, full: bool = False) -> Table:
    """One memory in detail, field by field, with its versions."""
    document = memory_document(view)
    table = Table(title=Text(f"memory {view.fiber.id}", style="bold"), title_justify="left")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in document.items():
        if key in {"id", "versions"} or value in (None, []):
            continue
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        table.add_row(key, Text(shorten(shown, full=full) if key == "text" else shown))
    if len(view.versions) > 1:
        for number, version in enumerate(view.versions, start=1):
            mark = " (this one)" if version.id == view.fiber.id else ""
            table.add_row(
                f"version {number}{mark}",
                Text(f"{version.id}: {shorten(version.content, full=full)}"),
            )
    return table
