"""Which neuron and synapse ids a brain holds, asked without reading the records."""

from __future__ import annotations

import pytest

from neural_memory import Brain
from neural_memory.errors import ValidationError
from neural_memory.storage import Storage, WriteBatch
from tests.storage.helpers import neuron, synapse


async def test_existing_ids_are_the_stored_ones_among_those_asked(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    link = synapse(a, b)
    await storage.write(WriteBatch(insert_neurons=(a, b, c), insert_synapses=(link,)))

    assert await storage.existing_neuron_ids([a.id, c.id, "n-missing"]) == {a.id, c.id}
    assert await storage.existing_synapse_ids([link.id, "s-missing"]) == {link.id}
    assert await storage.existing_neuron_ids(iter([b.id, b.id])) == {b.id}
    assert await storage.existing_neuron_ids([]) == set()
    assert await storage.existing_synapse_ids([]) == set()


async def test_neuron_and_synapse_ids_are_asked_apart(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    link = synapse(a, b)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(link,)))

    assert await storage.existing_neuron_ids([link.id]) == set()
    assert await storage.existing_synapse_ids([a.id, b.id]) == set()


async def test_deleted_records_no_longer_exist(storage: Storage) -> None:
    a, b, c = neuron("a"), neuron("b"), neuron("c")
    ab, bc = synapse(a, b), synapse(b, c)
    await storage.write(WriteBatch(insert_neurons=(a, b, c), insert_synapses=(ab, bc)))

    await storage.delete_synapse(bc.id)
    assert await storage.existing_synapse_ids([ab.id, bc.id]) == {ab.id}
    await storage.delete_neuron(a.id)  # takes its synapses with it
    assert await storage.existing_neuron_ids([a.id, b.id, c.id]) == {b.id, c.id}
    assert await storage.existing_synapse_ids([ab.id]) == set()


async def test_existing_ids_see_only_the_current_brain(storage: Storage) -> None:
    a, b = neuron("a"), neuron("b")
    link = synapse(a, b)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(link,)))
    other = Brain.create("other")
    await storage.save_brain(other)

    storage.set_brain(other.id)
    assert await storage.existing_neuron_ids([a.id, b.id]) == set()
    assert await storage.existing_synapse_ids([link.id]) == set()


async def test_a_lone_string_is_refused(storage: Storage) -> None:
    with pytest.raises(ValidationError):
        await storage.existing_neuron_ids("n-1")
    with pytest.raises(ValidationError):
        await storage.existing_synapse_ids("s-1")
