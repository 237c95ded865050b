"""WriteBatch: every field, the documented order, and all-or-nothing failure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from neural_memory.core import (
    ChangeKind,
    MemoryType,
    Project,
    SynapseType,
    TypedMemory,
)
from neural_memory.errors import AlreadyExistsError, NotFoundError, ValidationError
from neural_memory.storage import Storage, WriteBatch
from tests.storage.helpers import at, fiber, neuron, synapse


def _encoder_batch() -> WriteBatch:
    """What the encoder writes for one memory: shared neurons, links, deltas, one fiber."""
    alice, api, design = neuron("alice"), neuron("api"), neuron("design")
    links = (synapse(alice, api), synapse(api, design), synapse(alice, design))
    return WriteBatch(
        ensure_neurons=(alice, api, design),
        ensure_synapses=links,
        synapse_deltas=tuple((s.id, 0.1) for s in links),
        deltas_at=at(5),
        insert_fibers=(fiber(alice, api, design, synapse_ids=[s.id for s in links]),),
    )


async def test_encoder_batch_is_stored_and_logged(storage: Storage) -> None:
    batch = _encoder_batch()
    seq = await storage.write(batch)
    assert seq == 3 + 3 + 1 == await storage.get_change_seq()
    assert set(await storage.get_neurons(n.id for n in batch.ensure_neurons)) == {
        n.id for n in batch.ensure_neurons
    }
    for s in batch.ensure_synapses:  # created by the batch: its deltas do not apply
        assert await storage.get_synapse(s.id) == s
    assert await storage.get_fiber(batch.insert_fibers[0].id) == batch.insert_fibers[0]


async def test_same_batch_again_reinforces_the_links_it_created(storage: Storage) -> None:
    batch = _encoder_batch()
    await storage.write(batch)
    await storage.write(replace(batch, insert_fibers=()))
    for s in batch.ensure_synapses:
        stored = await storage.get_synapse(s.id)
        assert stored is not None
        assert stored.weight == pytest.approx(s.weight + 0.1)
        assert stored.last_activated == at(5)
        assert stored.reinforced_count == s.reinforced_count + 1


async def test_ensure_keeps_what_exists(storage: Storage) -> None:
    n = neuron("alice")
    m = neuron("bob")
    s = synapse(n, m, weight=0.3)
    await storage.write(WriteBatch(insert_neurons=(n, m), insert_synapses=(s,)))
    await storage.write(
        WriteBatch(ensure_neurons=(n.with_activation(0.1),), ensure_synapses=(s.with_weight(0.9),))
    )
    assert await storage.get_neuron(n.id) == n
    assert await storage.get_synapse(s.id) == s


@pytest.mark.parametrize("kind", ["neuron", "synapse", "fiber"])
async def test_insert_of_a_taken_id_fails(storage: Storage, kind: str) -> None:
    a, b = neuron("a"), neuron("b")
    s, f = synapse(a, b), fiber(a, b)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(s,), insert_fibers=(f,)))
    again = {
        "neuron": WriteBatch(insert_neurons=(a,)),
        "synapse": WriteBatch(insert_synapses=(s,)),
        "fiber": WriteBatch(insert_fibers=(f,)),
    }[kind]
    with pytest.raises(AlreadyExistsError):
        await storage.write(again)


@pytest.mark.parametrize("kind", ["neuron", "synapse", "fiber"])
async def test_update_of_a_missing_id_fails(storage: Storage, kind: str) -> None:
    a, b = neuron("a"), neuron("b")
    await storage.add_neurons([a, b])
    missing = {
        "neuron": WriteBatch(update_neurons=(neuron("ghost"),)),
        "synapse": WriteBatch(update_synapses=(synapse(a, b),)),
        "fiber": WriteBatch(update_fibers=(fiber(a, b),)),
    }[kind]
    with pytest.raises(NotFoundError):
        await storage.write(missing)


@pytest.mark.parametrize("field", ["insert_synapses", "ensure_synapses", "update_synapses"])
async def test_synapse_naming_a_missing_neuron_fails(storage: Storage, field: str) -> None:
    a, ghost = neuron("a"), neuron("ghost")
    await storage.add_neuron(a)
    with pytest.raises(NotFoundError):
        await storage.write(WriteBatch(**{field: (synapse(a, ghost),)}))
    assert await storage.get_synapses(source_id=a.id) == []


@pytest.mark.parametrize("field", ["insert_fibers", "update_fibers"])
async def test_fiber_naming_a_missing_neuron_fails(storage: Storage, field: str) -> None:
    a, ghost = neuron("a"), neuron("ghost")
    await storage.add_neuron(a)
    with pytest.raises(NotFoundError):
        await storage.write(WriteBatch(**{field: (fiber(a, ghost),)}))


async def test_updates_replace_stored_values(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    s, f = synapse(a, b), fiber(a, b, tags={"old"})
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(s,), insert_fibers=(f,)))
    a2 = a.accessed(delta=0.1, at=at(9)).with_metadata(note="x")
    s2 = s.reinforce(0.2, at=at(9))
    f2 = f.conduct(conducted_at=at(9)).add_tags("new")
    seq = await storage.write(
        WriteBatch(update_neurons=(a2,), update_synapses=(s2,), update_fibers=(f2,))
    )
    assert seq == 4 + 3
    assert await storage.get_neuron(a.id) == a2
    assert await storage.get_synapse(s.id) == s2
    assert await storage.get_fiber(f.id) == f2


async def test_synapse_deltas_clamp_stamp_and_skip_unknown_ids(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    up, down = synapse(a, b, weight=0.9), synapse(b, c, weight=0.2)
    await storage.write(WriteBatch(insert_neurons=(a, b, c), insert_synapses=(up, down)))
    await storage.write(
        WriteBatch(
            synapse_deltas=((up.id, 0.3), (down.id, -0.5), ("s-unknown", 0.1), (down.id, 0.05)),
            deltas_at=at(30),
        )
    )
    raised, lowered = await storage.get_synapse(up.id), await storage.get_synapse(down.id)
    assert raised is not None and lowered is not None
    assert raised.weight == 1.0
    assert (raised.last_activated, raised.reinforced_count) == (at(30), 1)
    # -0.5 clamps to 0, then +0.05 applies after it (deltas apply in order).
    assert lowered.weight == pytest.approx(0.05)
    assert (lowered.last_activated, lowered.reinforced_count) == (at(30), 1)
    assert await storage.get_synapse("s-unknown") is None


async def test_negative_delta_does_not_count_as_reinforcement(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    s = synapse(a, b, weight=0.5)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(s,)))
    await storage.write(WriteBatch(synapse_deltas=((s.id, -0.2),), deltas_at=at(3)))
    stored = await storage.get_synapse(s.id)
    assert stored is not None
    assert stored.weight == pytest.approx(0.3)
    assert (stored.last_activated, stored.reinforced_count) == (None, 0)


async def test_deletions_apply_after_puts(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    s, f = synapse(a, b), fiber(a, b)
    memory = TypedMemory.create(f.id, MemoryType.FACT)
    project = Project.create("p")
    await storage.write(
        WriteBatch(
            insert_neurons=(a, b),
            insert_synapses=(s,),
            insert_fibers=(f,),
            put_typed_memories=(memory,),
            put_projects=(project,),
            delete_fiber_ids=(f.id,),
            delete_synapse_ids=(s.id,),
            delete_typed_memory_ids=(memory.id,),
            delete_project_ids=(project.id,),
        )
    )
    assert await storage.get_fiber(f.id) is None
    assert await storage.find_fibers(neuron_id=a.id) == []
    assert await storage.get_synapse(s.id) is None
    assert await storage.get_typed_memory(memory.id) is None
    assert await storage.get_project(project.id) is None
    assert set(await storage.get_neurons([a.id, b.id])) == {a.id, b.id}


async def test_deleting_a_neuron_deletes_and_logs_its_synapses(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    ab, ca, bc = synapse(a, b), synapse(c, a, SynapseType.CAUSED_BY), synapse(b, c)
    seq = await storage.write(WriteBatch(insert_neurons=(a, b, c), insert_synapses=(ab, ca, bc)))
    new_seq = await storage.write(WriteBatch(delete_neuron_ids=(a.id,)))
    assert await storage.get_neuron(a.id) is None
    assert await storage.get_synapses_by_id([ab.id, ca.id, bc.id]) == {bc.id: bc}
    changes = await storage.get_changes(seq)
    assert changes is not None
    assert [(c.kind, c.entity_id) for c in changes] == [
        (ChangeKind.NEURON, a.id),
        *((ChangeKind.SYNAPSE, i) for i in sorted([ab.id, ca.id])),
    ]
    assert new_seq == seq + 3


async def test_deleting_missing_ids_is_not_an_error(storage: Storage) -> None:
    seq = await storage.write(
        WriteBatch(
            delete_fiber_ids=("f-x",),
            delete_synapse_ids=("s-x",),
            delete_neuron_ids=("n-x",),
            delete_typed_memory_ids=("tm-x",),
            delete_project_ids=("p-x",),
        )
    )
    assert seq == 3


def _failing_batch(case: str, a_id: str) -> WriteBatch:
    """A batch doing a bit of everything, plus one fault."""
    b, c, ghost = neuron("b"), neuron("c"), neuron("ghost")
    good = WriteBatch(
        ensure_neurons=(b, c),
        insert_synapses=(synapse(b, c),),
        synapse_deltas=((synapse(b, c).id, 0.2),),
        insert_fibers=(fiber(b, c),),
        put_typed_memories=(TypedMemory.create("f-1", MemoryType.TODO),),
        put_projects=(Project.create("p"),),
        delete_neuron_ids=(a_id,),
    )
    if case == "taken neuron":
        return replace(good, insert_neurons=(neuron("a"),))
    if case == "missing endpoint":
        return replace(good, insert_synapses=(synapse(b, ghost),))
    if case == "missing update":
        return replace(good, update_fibers=(fiber(b),))
    return replace(good, insert_fibers=(fiber(b, ghost),))


@pytest.mark.parametrize(
    "case", ["taken neuron", "missing endpoint", "missing update", "fiber on ghost"]
)
async def test_failed_batch_leaves_nothing_behind(storage: Storage, case: str) -> None:
    a = neuron("a")
    await storage.add_neuron(a)
    seq = await storage.get_change_seq()
    before = await storage.get_stats(now=at(0))
    with pytest.raises((AlreadyExistsError, NotFoundError)):
        await storage.write(_failing_batch(case, a.id))
    assert await storage.get_change_seq() == seq
    assert await storage.get_changes(seq) == []
    assert await storage.get_stats(now=at(0)) == before
    assert await storage.find_neurons() == [a]
    assert await storage.find_typed_memories(include_expired=True) == []
    assert await storage.list_projects() == []


async def test_empty_batch_changes_nothing(storage: Storage) -> None:
    await storage.add_neuron(neuron("a"))
    assert await storage.write(WriteBatch()) == 1
    assert await storage.get_change_seq() == 1


async def test_write_refuses_other_objects(storage: Storage) -> None:
    with pytest.raises(ValidationError):
        await storage.write({"insert_neurons": ()})


async def test_insert_and_ensure_in_one_batch(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    # A synapse and fiber may name neurons created earlier in the same batch.
    seq = await storage.write(
        WriteBatch(
            insert_neurons=(a,),
            ensure_neurons=(b,),
            ensure_synapses=(synapse(a, b),),
            insert_fibers=(fiber(a, b),),
        )
    )
    assert seq == 4
    assert {n.id for n in await storage.find_neurons()} == {a.id, b.id}
    assert [f.neuron_ids for f in await storage.find_fibers(neuron_id=a.id)] == [{a.id, b.id}]


async def test_access_deltas_count_in_place_and_skip_unknown_ids(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    f = fiber(a, b)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_fibers=(f,)))
    await storage.write(
        WriteBatch(
            neuron_accesses=((a.id, 0.3), ("n-unknown", 0.1), (a.id, 0.05)),
            fiber_conducts=(f.id, "f-unknown", f.id),
            deltas_at=at(40),
        )
    )
    accessed, conducted = await storage.get_neuron(a.id), await storage.get_fiber(f.id)
    assert accessed is not None and conducted is not None
    # Each delta counts; a backend may sum an id's deltas (equal up to float rounding).
    twice = a.accessed(delta=0.3, at=at(40)).accessed(delta=0.05, at=at(40))
    assert accessed.activation == pytest.approx(twice.activation)
    assert replace(accessed, activation=twice.activation) == twice
    conducted_twice = f.conduct(conducted_at=at(40)).conduct(conducted_at=at(40))
    assert conducted.conductivity == pytest.approx(conducted_twice.conductivity)
    assert replace(conducted, conductivity=conducted_twice.conductivity) == conducted_twice
    assert await storage.get_neuron(b.id) == b
    assert await storage.get_neuron("n-unknown") is None
    assert await storage.get_fiber("f-unknown") is None


async def test_access_deltas_clamp_and_log_the_records(storage: Storage) -> None:
    a = replace(neuron("a"), activation=0.95)
    f = replace(fiber(a), conductivity=0.99)
    await storage.write(WriteBatch(insert_neurons=(a,), insert_fibers=(f,)))
    seq = await storage.get_change_seq()
    await storage.write(
        WriteBatch(neuron_accesses=((a.id, 0.2),), fiber_conducts=(f.id,), deltas_at=at(41))
    )
    accessed, conducted = await storage.get_neuron(a.id), await storage.get_fiber(f.id)
    assert accessed is not None and conducted is not None
    assert (accessed.activation, accessed.access_count) == (1.0, a.access_count + 1)
    assert (conducted.conductivity, conducted.last_conducted) == (1.0, at(41))
    changes = await storage.get_changes(seq)
    assert changes is not None
    assert {(c.kind, c.entity_id) for c in changes} == {
        (ChangeKind.NEURON, a.id),
        (ChangeKind.FIBER, f.id),
    }


async def test_access_deltas_apply_before_the_batch_writes(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    await storage.write(WriteBatch(insert_neurons=(a,)))
    rewritten = a.with_metadata(note="rewritten")
    await storage.write(
        WriteBatch(
            neuron_accesses=((a.id, 0.1), (b.id, 0.1)),
            update_neurons=(rewritten,),
            insert_neurons=(b,),
            deltas_at=at(42),
        )
    )
    assert await storage.get_neuron(a.id) == rewritten  # the batch's own write wins
    assert await storage.get_neuron(b.id) == b  # created by the batch: not accessed


async def test_merged_write_backs_count_every_repeat(storage: Storage) -> None:
    a, b = replace(neuron("a"), activation=0.5), neuron("b")
    s, f = synapse(a, b, weight=0.5), fiber(a, b)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(s,), insert_fibers=(f,)))
    await storage.write(
        WriteBatch(
            neuron_accesses=((a.id, 0.1), (b.id, 0.1), (a.id, 0.1)),
            synapse_deltas=((s.id, 0.1), (s.id, 0.1)),
            fiber_conducts=(f.id, f.id, f.id),
            deltas_at=at(43),
        )
    )
    moved, first = await storage.get_synapse(s.id), await storage.get_neuron(a.id)
    conducted = await storage.get_fiber(f.id)
    assert moved is not None and first is not None and conducted is not None
    assert (moved.weight, moved.reinforced_count) == (pytest.approx(0.7), 2)
    assert (first.activation, first.access_count) == (pytest.approx(0.7), 2)
    assert conducted.access_count == 3 and conducted.last_conducted == at(43)


async def test_a_repeated_conduct_counts_each_time_and_logs_the_fiber_once(
    storage: Storage,
) -> None:
    a, b = neuron("a"), neuron("b")
    f = replace(fiber(a, b), conductivity=0.5)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_fibers=(f,)))
    before = await storage.get_change_seq()
    seq = await storage.write(WriteBatch(fiber_conducts=(f.id, f.id), deltas_at=at(44)))
    conducted = await storage.get_fiber(f.id)
    assert conducted is not None
    twice = f.conduct(conducted_at=at(44)).conduct(conducted_at=at(44))
    assert conducted.access_count == f.access_count + 2 == twice.access_count
    assert conducted.conductivity == pytest.approx(twice.conductivity)
    assert seq == before + 1  # one change-log entry per fiber, however often it conducted
    changes = await storage.get_changes(before)
    assert changes is not None
    assert [(c.kind, c.entity_id) for c in changes] == [(ChangeKind.FIBER, f.id)]
