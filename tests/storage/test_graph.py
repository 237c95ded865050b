"""Neurons, synapses and fibers through the convenience methods of Storage."""

from __future__ import annotations

import pytest

from neural_memory.core import Direction, Fiber, Neuron, NeuronType, SynapseType
from neural_memory.errors import AlreadyExistsError, NotFoundError, ValidationError
from neural_memory.storage import Storage
from tests.storage.helpers import at, fiber, neuron, synapse

# -- neurons -------------------------------------------------------------------------------


async def test_neuron_round_trip_keeps_every_field(storage: Storage) -> None:
    n = Neuron(
        id="n-1",
        type=NeuronType.ENTITY,
        content="Alice Ünïcode",
        metadata={"source": "chat", "score": 0.5, "nested": {"list": [1, "two"]}},
        created_at=at(1),
        activation=0.42,
        access_count=7,
        last_accessed=at(2),
    )
    await storage.add_neuron(n)
    stored = await storage.get_neuron("n-1")
    assert stored == n
    assert stored.created_at.tzinfo is not None
    assert await storage.get_neuron("n-missing") is None


async def test_add_neurons_and_get_the_existing_ones(storage: Storage) -> None:
    ns = [neuron(f"w{i}", minute=i) for i in range(5)]
    await storage.add_neurons(ns)
    found = await storage.get_neurons([ns[0].id, ns[3].id, "n-missing"])
    assert found == {ns[0].id: ns[0], ns[3].id: ns[3]}
    assert await storage.get_neurons([]) == {}
    with pytest.raises(AlreadyExistsError):
        await storage.add_neurons([neuron("fresh"), ns[1]])
    assert await storage.find_neurons(content="fresh") == []


async def test_find_neurons_by_type_and_content(storage: Storage) -> None:
    alice = neuron("Alice", NeuronType.ENTITY, minute=1)
    alice_concept = neuron("alice", NeuronType.CONCEPT, minute=2)
    bob = neuron("Bob", NeuronType.ENTITY, minute=3)
    await storage.add_neurons([alice, alice_concept, bob])
    assert await storage.find_neurons() == [alice, alice_concept, bob]
    assert await storage.find_neurons(type=NeuronType.ENTITY) == [alice, bob]
    assert await storage.find_neurons(content="ALICE") == [alice, alice_concept]
    assert await storage.find_neurons(NeuronType.CONCEPT, "Alice") == [alice_concept]
    assert await storage.find_neurons(type=NeuronType.TIME) == []
    assert await storage.find_neurons(type=NeuronType.ENTITY, limit=1) == [alice]
    assert await storage.find_neurons(limit=0) == []
    assert await storage.find_neurons(type="entity") == [alice, bob]


async def test_find_neurons_validates_arguments(storage: Storage) -> None:
    with pytest.raises(ValidationError):
        await storage.find_neurons(type="planet")
    with pytest.raises(ValidationError):
        await storage.find_neurons(limit=-1)


async def test_update_neuron(storage: Storage) -> None:
    n = neuron("x")
    await storage.add_neuron(n)
    changed = n.with_activation(0.1).with_metadata(k="v")
    await storage.update_neuron(changed)
    assert await storage.get_neuron(n.id) == changed
    with pytest.raises(NotFoundError):
        await storage.update_neuron(neuron("missing"))


async def test_delete_neuron_takes_its_synapses_and_is_refused_while_bound(
    storage: Storage,
) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    await storage.add_neurons([a, b, c])
    await storage.add_synapses([synapse(a, b), synapse(c, a)])
    assert await storage.delete_neuron(a.id) is True
    assert await storage.get_neuron(a.id) is None
    assert await storage.get_synapses_for_neurons([a.id, b.id, c.id]) == []
    assert await storage.delete_neuron(a.id) is False
    await storage.add_fiber(fiber(b, c))
    with pytest.raises(ValidationError):
        await storage.delete_neuron(b.id)
    assert await storage.get_neuron(b.id) == b


# -- synapses ------------------------------------------------------------------------------


async def test_synapse_round_trip_keeps_every_field(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    await storage.add_neurons([a, b])
    s = synapse(
        a,
        b,
        SynapseType.LEADS_TO,
        weight=0.8,
        direction=Direction.BIDIRECTIONAL,
        metadata={"why": "because"},
        minute=4,
    ).reinforce(0.05, at=at(6))
    await storage.add_synapse(s)
    assert await storage.get_synapse(s.id) == s
    assert await storage.get_synapse("s-missing") is None
    assert await storage.get_synapses_by_id([s.id, "s-missing"]) == {s.id: s}
    assert await storage.get_synapses_by_id([]) == {}


async def test_add_synapse_needs_both_neurons(storage: Storage) -> None:
    a = neuron("a")
    await storage.add_neuron(a)
    with pytest.raises(NotFoundError):
        await storage.add_synapse(synapse(a, neuron("ghost")))
    with pytest.raises(NotFoundError):
        await storage.add_synapse(synapse(neuron("ghost"), a))


async def test_get_synapses_filters_and_orders_oldest_first(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    await storage.add_neurons([a, b, c])
    ab = synapse(a, b, minute=3)
    ac = synapse(a, c, SynapseType.CAUSED_BY, minute=1)
    cb = synapse(c, b, minute=2)
    ba = synapse(b, a, SynapseType.CAUSED_BY, minute=0)
    await storage.add_synapses([ab, ac, cb, ba])
    assert await storage.get_synapses() == [ba, ac, cb, ab]
    assert await storage.get_synapses(source_id=a.id) == [ac, ab]
    assert await storage.get_synapses(target_id=b.id) == [ba, cb, ab][1:]
    assert await storage.get_synapses(source_id=a.id, target_id=c.id) == [ac]
    assert await storage.get_synapses(type=SynapseType.CAUSED_BY) == [ba, ac]
    assert await storage.get_synapses(target_id=a.id, type=SynapseType.RELATED_TO) == []
    assert await storage.get_synapses(source_id=a.id, limit=1) == [ac]
    assert await storage.get_synapses(source_id="n-missing") == []
    with pytest.raises(ValidationError):
        await storage.get_synapses(type="likes")


async def test_same_created_at_orders_by_id(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    await storage.add_neurons([a, b, c])
    tied = [synapse(a, b, minute=1), synapse(a, c, minute=1), synapse(b, c, minute=1)]
    await storage.add_synapses(tied)
    assert await storage.get_synapses() == sorted(tied, key=lambda s: s.id)


async def test_get_synapses_for_neurons_sees_both_directions_once(storage: Storage) -> None:
    a, b, c, d = neuron("a"), neuron("b"), neuron("c"), neuron("d")
    await storage.add_neurons([a, b, c, d])
    ab, ca, bc, cd = synapse(a, b), synapse(c, a), synapse(b, c), synapse(c, d)
    await storage.add_synapses([ab, ca, bc, cd])
    found = await storage.get_synapses_for_neurons([a.id, b.id])
    assert found == sorted([ab, ca, bc], key=lambda s: s.id)
    assert await storage.get_synapses_for_neurons([d.id]) == [cd]
    assert await storage.get_synapses_for_neurons([]) == []
    with pytest.raises(ValidationError):
        await storage.get_synapses_for_neurons(a.id)


async def test_update_and_delete_synapse(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    await storage.add_neurons([a, b])
    s = synapse(a, b)
    await storage.add_synapse(s)
    stronger = s.reinforce(0.3, at=at(8))
    await storage.update_synapse(stronger)
    assert await storage.get_synapse(s.id) == stronger
    with pytest.raises(NotFoundError):
        await storage.update_synapse(synapse(b, a))
    assert await storage.delete_synapse(s.id) is True
    assert await storage.delete_synapse(s.id) is False
    assert await storage.get_synapses(source_id=a.id) == []
    assert set(await storage.get_neurons([a.id, b.id])) == {a.id, b.id}


# -- fibers --------------------------------------------------------------------------------


async def test_fiber_round_trip_keeps_every_field(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    await storage.add_neurons([a, b, c])
    s = synapse(a, b)
    await storage.add_synapse(s)
    await storage.add_fiber(fiber(c, fiber_id="f-2"))
    f = Fiber(
        id="f-1",
        neuron_ids=frozenset({a.id, b.id, c.id}),
        synapse_ids=frozenset({s.id}),
        anchor_neuron_id=b.id,
        pathway=(b.id, a.id, c.id),
        content="Met Alice to discuss API design",
        conductivity=0.7,
        salience=0.9,
        last_conducted=at(3),
        access_count=2,
        tags=frozenset({"work", "api"}),
        metadata={"session": 12, "ok": True, "none": None},
        occurred_at=at(-60),
        created_at=at(1),
        superseded_by="f-2",
    )
    await storage.add_fiber(f)
    assert await storage.get_fiber("f-1") == f
    assert await storage.get_fiber("f-missing") is None
    assert await storage.get_fibers(["f-1", "f-missing"]) == {"f-1": f}
    assert await storage.get_fibers([]) == {}


async def test_add_fiber_needs_its_neurons(storage: Storage) -> None:
    a = neuron("a")
    await storage.add_neuron(a)
    with pytest.raises(NotFoundError):
        await storage.add_fiber(fiber(a, neuron("ghost")))
    assert await storage.find_fibers() == []


async def test_find_fibers_by_neuron_and_tags_oldest_first(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    await storage.add_neurons([a, b, c])
    late = fiber(a, b, minute=5, tags={"work", "api"})
    early = fiber(a, c, minute=1, tags={"work"})
    other = fiber(b, c, minute=3)
    for f in (late, early, other):
        await storage.add_fiber(f)
    assert await storage.find_fibers() == [early, other, late]
    assert await storage.find_fibers(neuron_id=a.id) == [early, late]
    assert await storage.find_fibers(neuron_id=b.id, limit=1) == [other]
    assert await storage.find_fibers(tags=["work"]) == [early, late]
    assert await storage.find_fibers(tags={"work", "api"}) == [late]
    assert await storage.find_fibers(neuron_id=c.id, tags=["api"]) == []
    assert await storage.find_fibers(neuron_id="n-missing") == []
    assert await storage.find_fibers(limit=0) == []
    with pytest.raises(ValidationError):
        await storage.find_fibers(tags="work")


async def test_find_fibers_current_leaves_out_superseded_statements(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    await storage.add_neurons([a, b, c])
    old, new, other = fiber(a, b, minute=1), fiber(a, c, minute=2), fiber(b, c, minute=3)
    for f in (old, new, other):
        await storage.add_fiber(f)
    await storage.update_fiber(old.superseded(new.id))
    assert await storage.find_fibers(neuron_id=a.id, current=True) == [new]
    assert await storage.find_fibers(current=True) == [new, other]
    assert await storage.find_fibers(current=True, limit=1) == [new]
    assert [f.id for f in await storage.find_fibers(neuron_id=a.id)] == [old.id, new.id]
    with pytest.raises(ValidationError):
        await storage.find_fibers(current="yes")  # type: ignore[arg-type]


async def test_update_fiber_moves_its_neuron_membership(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    await storage.add_neurons([a, b, c])
    f = fiber(a, b)
    await storage.add_fiber(f)
    moved = Fiber.create([b.id, c.id], fiber_id=f.id, created_at=f.created_at, content="v2")
    await storage.update_fiber(moved)
    assert await storage.get_fiber(f.id) == moved
    assert await storage.find_fibers(neuron_id=a.id) == []
    assert await storage.find_fibers(neuron_id=c.id) == [moved]
    assert await storage.find_fibers(neuron_id=b.id) == [moved]
    with pytest.raises(NotFoundError):
        await storage.update_fiber(fiber(a))


async def test_delete_fiber_keeps_its_neurons(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    await storage.add_neurons([a, b])
    f = fiber(a, b)
    await storage.add_fiber(f)
    assert await storage.delete_fiber(f.id) is True
    assert await storage.delete_fiber(f.id) is False
    assert await storage.get_fiber(f.id) is None
    assert await storage.find_fibers(neuron_id=a.id) == []
    assert set(await storage.get_neurons([a.id, b.id])) == {a.id, b.id}
    # With the fiber gone the neuron may be deleted.
    assert await storage.delete_neuron(a.id) is True
