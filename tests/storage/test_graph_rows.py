"""get_graph_rows: the graph as recall indexes load it, the same from every backend."""

from __future__ import annotations

from neural_memory.core import Direction, NeuronType
from neural_memory.storage import Storage, WriteBatch
from tests.storage.helpers import neuron, synapse


async def test_graph_rows_list_every_neuron_and_synapse(storage: Storage) -> None:
    a, b = neuron("alice", NeuronType.ENTITY), neuron("tuesday", NeuronType.TIME)
    one_way = synapse(a, b, weight=0.25)
    both = synapse(b, a, direction=Direction.BIDIRECTIONAL, weight=0.75)
    await storage.write(WriteBatch(insert_neurons=(a, b), insert_synapses=(one_way, both)))
    rows = await storage.get_graph_rows()
    assert sorted(rows.neurons) == sorted([(a.id, NeuronType.ENTITY), (b.id, NeuronType.TIME)])
    assert sorted(rows.synapses) == sorted(
        [(one_way.id, a.id, b.id, 0.25, False), (both.id, b.id, a.id, 0.75, True)]
    )


async def test_graph_rows_of_an_empty_brain_are_empty(storage: Storage) -> None:
    rows = await storage.get_graph_rows()
    assert rows.neurons == [] and rows.synapses == []
