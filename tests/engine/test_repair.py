"""Brains damaged by earlier versions: the health pulse finds the damage, repair mends it.

The damage is planted below the storage's checks (the backend's own tables or dicts), as a
version without them would have left it.
"""

from __future__ import annotations

import math
import sqlite3
from dataclasses import replace

from neural_memory import Brain
from neural_memory.core import AlertType, Fiber, MemoryType, Neuron, NeuronType, TypedMemory
from neural_memory.core.limits import MAX_META_VALUE_CHARS
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.health import repair_brain, run_health_pulse, scan_brain
from neural_memory.engine.retrieval.pipeline import ReflexPipeline
from neural_memory.sharing import BrainExporter, BrainImporter
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


async def _plant_deletion(storage: Storage, table: str, entity_id: str) -> None:
    """Delete one fiber or synapse behind the backend's reference checks."""
    if isinstance(storage, InMemoryStorage):
        data = storage._brains[storage.brain_id]
        if table == "fibers":
            removed = data.fibers.pop(entity_id)
            for neuron_id in removed.neuron_ids:
                data.fibers_by_neuron[neuron_id].discard(entity_id)
        else:
            del data.synapses[entity_id]
        return
    if isinstance(storage, SQLiteStorage):

        def delete(conn: sqlite3.Connection) -> None:
            conn.execute(f"DELETE FROM {table} WHERE id = ?", (entity_id,))
            conn.execute("DELETE FROM fiber_neurons WHERE fiber_id = ?", (entity_id,))

        await storage._run(delete)
        return
    from neural_memory.storage.postgres import PostgresStorage

    assert isinstance(storage, PostgresStorage)
    async with storage._connection() as conn:
        await conn.execute(f"DELETE FROM {table} WHERE id = $1", entity_id)
        await conn.execute("DELETE FROM fiber_neurons WHERE fiber_id = $1", entity_id)


async def test_repair_mends_every_dangling_reference_and_bad_meta_values(
    storage: Storage,
) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    old = await encoder.encode("The wifi password is apple")
    new = await encoder.encode("The wifi password is banana")
    kite = await encoder.encode("Bob flies a red kite on Sunday")
    stored_old = await storage.get_fiber(old.fiber.id)
    assert stored_old is not None and stored_old.superseded_by == new.fiber.id
    note = TypedMemory.create(new.fiber.id, MemoryType.FACT)
    await storage.add_typed_memory(note)
    await storage.set_meta("fine", {"n": 1})
    pruned = sorted(kite.fiber.synapse_ids)[0]
    await _plant_deletion(storage, "fibers", new.fiber.id)
    await _plant_deletion(storage, "synapses", pruned)
    await storage._set_meta(storage.brain_id, "nan", {"score": math.nan, "kept": 2})
    await storage._set_meta(storage.brain_id, "huge", "x" * (MAX_META_VALUE_CHARS + 1))

    damage = await scan_brain(storage)
    assert damage.dangling_successors == ((old.fiber.id, new.fiber.id),)
    assert damage.orphan_memories == ((note.id, new.fiber.id),)
    assert damage.stray_synapses == ((kite.fiber.id, (pruned,)),)
    assert [key for key, _ in damage.invalid_meta] == ["huge", "nan"]
    pulse = await run_health_pulse(storage, scan_integrity=True)
    assert pulse.raised[0].metric_value == damage.count == 5

    report = await repair_brain(storage)
    assert report.rewritten_fibers == tuple(sorted({old.fiber.id, kite.fiber.id}))
    assert report.deleted_memories == (note.id,)
    assert report.mended_meta == ("huge", "nan")
    assert report.alert is not None
    for said in (
        "1 fiber(s) superseded by deleted fibers",
        f"deleted 1 typed memory(ies) of deleted fibers ({note.id})",
        "mended 2 meta value(s) (huge, nan)",
    ):
        assert said in report.alert.message
    assert (await scan_brain(storage)).is_clean
    mended_old = await storage.get_fiber(old.fiber.id)
    assert mended_old is not None and mended_old.superseded_by is None
    mended_kite = await storage.get_fiber(kite.fiber.id)
    assert mended_kite is not None and pruned not in mended_kite.synapse_ids
    assert await storage.get_meta("nan") == {"score": None, "kept": 2}
    assert await storage.get_meta("huge") is None
    assert await storage.get_meta("fine") == {"n": 1}
    snapshot = await BrainExporter().export(storage, storage.brain_id)
    await BrainImporter().import_brain(InMemoryStorage(), snapshot, "copy")
