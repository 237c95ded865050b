"""How the CLI shows results: rich tables for people, JSON for programs."""

from __future__ import annotations

import contextlib
import json
import os
from datetime import datetime
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_memory.core.events import BrainStats
from neural_memory.engine.lifecycle import DecayReport
from neural_memory.engine.retrieval import RetrievalResult, ScoredFiber

__all__ = [
    "answer_table",
    "database_size",
    "decay_table",
    "error_line",
    "result_json",
    "stats_table",
    "summary_line",
]


def _date(moment: datetime | None) -> str:
    return moment.date().isoformat() if moment is not None else ""


def _speaker(fiber: ScoredFiber) -> str:
    speaker = fiber.metadata.get("speaker")
    return speaker if isinstance(speaker, str) else ""


def answer_table(result: RetrievalResult, *, limit: int | None = None) -> Table:
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
            Text(fiber.content),
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


def result_json(result: RetrievalResult) -> str:
    """A recall result as a JSON document."""
    document: dict[str, Any] = {
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
            }
            for rank, fiber in enumerate(result.fibers, start=1)
        ],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


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


def error_line(console: Console, message: str) -> None:
    """Print ``error: message`` in red on one line (never wrapped, markup not interpreted)."""
    flat = " ".join(message.split())
    console.print(Text("error: ", style="bold red") + Text(flat, style="red"), soft_wrap=True)
