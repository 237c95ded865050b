"""Brains damaged by earlier versions: the health pulse finds the damage, repair mends it.

The damage is planted below the storage's checks (the backend's own tables or dicts), as a
version without them would have left it.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace

from neural_memory import Brain
from neural_memory.core import AlertType, Fiber, Neuron, NeuronType
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.health import repair_brain, run_health_pulse, scan_brain
from neural_memory.engine.retrieval.pipeline import ReflexPipeline
from neural_memory.sharing import BrainExporter
from neural_memory.storage import InMemoryStorage, SQLiteStorage, Storage, WriteBatch


async def _plant_nan(storage: Storage, neuron: Neuron) -> Neuron:
    """Store ``neuron`` with NaN metadata through the backend primitive (no limit check)."""
    damaged = replace(neuron, metadata={**neuron.metadata, "score": math.nan})
    await storage._write(storage.brain_id, WriteBatch(update_neurons=(damaged,)))
    return damaged


async def _plant_dangling(storage: Storage, neuron_id: str) -> None:
    """Delete a neuron that fibers still name, behind the backend's integrity check."""
    if isinstance(storage, InMemoryStorage):
        del storage._brains[storage.brain_id].neurons[neuron_id]
        return
    if isinstance(storage, SQLiteStorage):

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute("DELETE FROM neurons WHERE id = ?", (neuron_id,))

        await storage._run(delete)
        return
    from neural_memory.storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    async with storage._connection() as conn:
        await conn.execute("DELETE FROM neurons WHERE id = $1", neuron_id)


async def test_repair_mends_dangling_fibers_and_nan_metadata(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    kept = await encoder.encode("Alice adopted a grey cat named Miso")
    lonely_neuron = Neuron.create(NeuronType.CONCEPT, "lonely")
    lonely = Fiber.create([lonely_neuron.id], anchor_neuron_id=lonely_neuron.id, content="x")
    await storage.write(WriteBatch(insert_neurons=(lonely_neuron,), insert_fibers=(lonely,)))
    grey = next(n for n in kept.neurons_created if n.content.casefold() == "grey")
    miso = next(n for n in kept.neurons_created if n.content == "Miso")
    await _plant_dangling(storage, grey.id)
    await _plant_dangling(storage, lonely_neuron.id)
    await _plant_nan(storage, miso)

    damage = await scan_brain(storage)
    assert {fiber_id for fiber_id, _ in damage.dangling} == {kept.fiber.id, lonely.id}
    assert [record_id for record_id, _ in damage.invalid] == [miso.id]
    pulse = await run_health_pulse(storage, scan_integrity=True)
    assert [a.alert_type for a in pulse.raised] == [AlertType.DAMAGED_RECORDS]

    report = await repair_brain(storage)
    assert report.rewritten_fibers == (kept.fiber.id,)
    assert report.deleted_fibers == (lonely.id,)
    assert report.sanitized == (miso.id,)
    assert report.unrepaired == ()
    assert report.alert is not None and "deleted neurons" in report.alert.message
    alerts = await storage.get_alerts(types=[AlertType.BRAIN_REPAIRED])
    assert [alert.id for alert in alerts] == [report.alert.id]

    assert (await scan_brain(storage)).is_clean
    fiber = await storage.get_fiber(kept.fiber.id)
    assert fiber is not None and grey.id not in fiber.neuron_ids
    assert await storage.get_fiber(lonely.id) is None
    stored_miso = await storage.get_neuron(miso.id)
    assert stored_miso is not None and stored_miso.metadata["score"] is None
    await BrainExporter().export(storage, storage.brain_id)
    result = await ReflexPipeline(storage, Brain.create("x").config).query("Alice cat Miso")
    assert result.fibers[0].fiber_id == kept.fiber.id
    after = await run_health_pulse(storage, scan_integrity=True)
    assert after.resolved_count == 1
    assert (await repair_brain(storage)).alert is None


async def test_a_clean_brain_is_left_alone(storage: Storage) -> None:
    await MemoryEncoder(storage, Brain.create("x").config).encode("Bob flies a red kite")
    report = await repair_brain(storage)
    assert report.damage.is_clean and report.alert is None
    assert await storage.get_alerts() == []
