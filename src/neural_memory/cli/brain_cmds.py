"""``nmem brain ...`` and the whole-brain commands: stats, health, consolidate, decay."""

from __future__ import annotations

import dataclasses
import os
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from neural_memory.cli import render
from neural_memory.cli.base import (
    BrainOption,
    DbOption,
    JsonOption,
    app,
    emit,
    err_console,
    in_brain,
    in_database,
    reported,
    settings,
)
from neural_memory.cli.config import Settings, read_config, write_config
from neural_memory.cli.session import BrainSession, brain_named
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats
from neural_memory.engine.consolidation import ConsolidationReport
from neural_memory.engine.consolidation import consolidate as run_consolidation
from neural_memory.engine.health import HealthReport, run_health_pulse
from neural_memory.errors import AlreadyExistsError, BrainNotFoundError, ValidationError
from neural_memory.storage.sqlite import SQLiteStorage

__all__ = ["brain_app"]

brain_app = typer.Typer(
    help="List, create, choose, rename and delete brains.", no_args_is_help=True
)
app.add_typer(brain_app, name="brain")


def _brain_document(brain: Brain, counts: dict[str, int], current: str) -> dict[str, Any]:
    return {
        "id": brain.id,
        "name": brain.name,
        "memories": counts.get(brain.id, 0),
        "created_at": brain.created_at.isoformat(),
        "current": brain.name == current,
    }


async def _counts(storage: SQLiteStorage, brains: list[Brain]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for brain in brains:
        async with storage.using_brain(brain.id):
            counts[brain.id] = (await storage.get_stats()).fiber_count
    return counts


@brain_app.command("list")
def brain_list(db: DbOption = None, brain: BrainOption = None, as_json: JsonOption = False) -> None:
    """Every brain of the database, with how many memories each holds."""
    config = settings(db, brain)

    async def listed(storage: SQLiteStorage) -> list[dict[str, Any]]:
        found = await storage.list_brains()
        counts = await _counts(storage, found)
        return [_brain_document(b, counts, config.brain) for b in found]

    brains = in_database(config, listed) if os.path.exists(config.db) else []

    def human(console: Console) -> None:
        if not brains:
            console.print(Text(f"No brains yet in {config.db}."))
            return
        table = Table(title=Text(config.db, style="bold"), title_justify="left")
        for column in ("", "name", "memories", "created", "id"):
            table.add_column(column)
        for b in brains:
            table.add_row(
                "*" if b["current"] else "",
                Text(b["name"]),
                f"{b['memories']:,}",
                b["created_at"][:10],
                Text(b["id"], style="dim"),
            )
        console.print(table)

    emit({"database": config.db, "brains": brains}, as_json=as_json, human=human)


@brain_app.command("create")
def brain_create(
    name: Annotated[str, typer.Argument(help="The new brain's name (unique).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Create an empty brain."""
    new = in_database(settings(db, None), lambda storage: _create(storage, name), create=True)
    emit(
        {"id": new.id, "name": new.name},
        as_json=as_json,
        human=lambda c: c.print(Text(f"Created brain {new.name!r} ({new.id}).")),
    )


async def _create(storage: SQLiteStorage, name: str) -> Brain:
    if not name.strip():
        raise ValidationError("the brain name must not be empty")
    if await brain_named(storage, name.strip()) is not None:
        raise AlreadyExistsError(f"a brain called {name.strip()!r} already exists")
    brain = Brain.create(name.strip())
    await storage.save_brain(brain)
    return brain


@brain_app.command("use")
def brain_use(
    name: Annotated[str, typer.Argument(help="The brain later commands use by default.")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Make NAME the default brain (written to the config file)."""
    config = settings(db, None)
    in_database(config, lambda storage: _existing(storage, name, config))
    with reported():
        write_config(config.config_file, {**read_config(config.config_file), "brain": name})
    emit(
        {"brain": name, "config_file": str(config.config_file)},
        as_json=as_json,
        human=lambda c: c.print(Text(f"Using brain {name!r} from now on.")),
    )


async def _existing(storage: SQLiteStorage, name: str, config: Settings) -> Brain:
    """The brain of that name or id (BrainNotFoundError when there is none)."""
    brain = await storage.get_brain(name) or await brain_named(storage, name)
    if brain is None:
        raise BrainNotFoundError(f"no brain named {name!r} in {config.db!r}")
    return brain


@brain_app.command("rename")
def brain_rename(
    old: Annotated[str, typer.Argument(help="The brain's name or id.")],
    new: Annotated[str, typer.Argument(help="Its new name (unique).")],
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rename a brain (its memories stay)."""
    config = settings(db, None)

    async def rename(storage: SQLiteStorage) -> Brain:
        brain = await _existing(storage, old, config)
        if not new.strip():
            raise ValidationError("the new name must not be empty")
        if await brain_named(storage, new.strip()) is not None:
            raise AlreadyExistsError(f"a brain called {new.strip()!r} already exists")
        await storage.save_brain(dataclasses.replace(brain, name=new.strip()))
        return brain

    brain = in_database(config, rename)
    with reported():
        values = read_config(config.config_file)
        if values.get("brain") == brain.name:  # keep `nmem brain use` pointing at it
            write_config(config.config_file, {**values, "brain": new.strip()})
    emit(
        {"id": brain.id, "name": new.strip(), "previous_name": brain.name},
        as_json=as_json,
        human=lambda c: c.print(Text(f"Renamed brain {brain.name!r} to {new.strip()!r}.")),
    )


@brain_app.command("delete")
def brain_delete(
    name: Annotated[str, typer.Argument(help="The brain's name or id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Really delete it and its memories.")] = False,
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Delete a brain with all its memories (needs --yes)."""
    config = settings(db, None)
    if not yes:
        with reported():
            raise ValidationError("deleting a brain loses its memories: add --yes to confirm")

    async def delete(storage: SQLiteStorage) -> Brain:
        brain = await _existing(storage, name, config)
        await storage.delete_brain(brain.id)
        return brain

    brain = in_database(config, delete)
    with reported():
        values = read_config(config.config_file)
        if values.get("brain") == brain.name:  # `nmem brain use` chose it: back to the default
            values.pop("brain")
            write_config(config.config_file, values)
    emit(
        {"deleted": brain.id, "name": brain.name},
        as_json=as_json,
        human=lambda c: c.print(Text(f"Deleted brain {brain.name!r}.")),
    )


@app.command()
def stats(db: DbOption = None, brain: BrainOption = None, as_json: JsonOption = False) -> None:
    """Show how many memories, neurons and synapses a brain holds."""
    config = settings(db, brain)

    async def counted(session: BrainSession) -> tuple[str, BrainStats]:
        return session.brain.id, await session.stats()

    brain_id, counts = in_brain(config, counted)
    document = {
        "brain": config.brain,
        "brain_id": brain_id,
        "database": config.db,
        "database_bytes": render.database_size(config.db),
        "memories": counts.fiber_count,
        "neurons": counts.neuron_count,
        "synapses": counts.synapse_count,
        "typed_memories": counts.typed_memory_count,
        "expired_typed_memories": counts.expired_memory_count,
        "orphan_neurons": counts.orphan_neuron_count,
        "change_seq": counts.change_seq,
    }
    emit(
        document,
        as_json=as_json,
        human=lambda c: c.print(render.stats_table(config.brain, brain_id, config.db, counts)),
    )


@app.command()
def health(db: DbOption = None, brain: BrainOption = None, as_json: JsonOption = False) -> None:
    """Check the brain's health; raise alerts for problems and resolve cleared ones."""
    config = settings(db, brain)

    async def checked(session: BrainSession) -> tuple[HealthReport, list[Alert]]:
        report = await run_health_pulse(session.storage)
        return report, await session.storage.get_active_alerts()

    report, alerts = in_brain(config, checked)
    document = {
        "healthy": report.healthy,
        "findings": [f.alert_type.value for f in report.findings],
        "alerts": [
            {"id": a.id, "type": a.alert_type.value, "severity": a.severity.value,
             "message": a.message, "status": a.status.value}
            for a in alerts
        ],
        "resolved": report.resolved_count,
    }  # fmt: skip

    def human(console: Console) -> None:
        verdict = "healthy" if report.healthy else "needs attention"
        console.print(Text(f"Brain {config.brain!r} is {verdict}."))
        for alert in alerts:
            console.print(Text(f"  [{alert.severity.value}] {alert.message}"))

    emit(document, as_json=as_json, human=human)


@app.command()
def consolidate(
    db: DbOption = None, brain: BrainOption = None, as_json: JsonOption = False
) -> None:
    """Consolidate ("sleep"): merge duplicates, update facts, strengthen, prune, decay."""

    async def sleep(session: BrainSession) -> ConsolidationReport:
        with err_console().status("Consolidating…"):
            return await run_consolidation(session.storage, session.brain.config)

    report = in_brain(settings(db, brain), sleep)
    document = {
        "expired": report.expired,
        "duplicates_merged": report.duplicates_merged,
        "facts_superseded": report.facts_superseded,
        "paths_strengthened": report.paths_strengthened,
        "memories_matured": report.memories_matured,
        "concepts_promoted": report.concepts_promoted,
        "orphans_linked": report.orphans_linked,
        "orphans_pruned": report.orphans_pruned,
        "duration_ms": round(report.duration_ms, 3),
    }

    def human(console: Console) -> None:
        table = Table(title=Text("consolidation", style="bold"), title_justify="left")
        table.add_column("what")
        table.add_column("count", justify="right")
        for key, value in document.items():
            table.add_row(key.replace("_", " "), f"{value:,}")
        console.print(table)

    emit(document, as_json=as_json, human=human)


@app.command()
def decay(
    db: DbOption = None,
    brain: BrainOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would change.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Let unused memories fade (Ebbinghaus forgetting) and prune dead links."""
    report = in_brain(settings(db, brain), lambda session: session.decay(dry_run=dry_run))
    document = {
        "dry_run": report.dry_run,
        "neurons_decayed": report.neurons_decayed,
        "synapses_decayed": report.synapses_decayed,
        "fibers_decayed": report.fibers_decayed,
        "neurons_pruned": report.neurons_pruned,
        "synapses_pruned": report.synapses_pruned,
    }
    emit(document, as_json=as_json, human=lambda c: c.print(render.decay_table(report)))
