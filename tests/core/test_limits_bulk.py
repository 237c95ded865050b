"""Bulk writes are checked as strictly as single records: one bad record among many is named."""

from __future__ import annotations

import itertools
import math

import pytest

from neural_memory.core import Fiber, Neuron, NeuronType, Synapse, SynapseType
from neural_memory.errors import LimitExceededError, ValidationError
from neural_memory.storage import WriteBatch
from neural_memory.storage._limits import check_batch
from tests.storage.test_hostile_input import REFUSED_NEURONS


def _good_neurons(count: int) -> list[Neuron]:
    return [
        Neuron.create(NeuronType.CONCEPT, f"word {i}", metadata={"key": f"word:{i}", "n": i})
        for i in range(count)
    ]


@pytest.mark.parametrize("case", sorted(REFUSED_NEURONS))
def test_a_hostile_neuron_among_many_good_ones_is_refused_by_its_index(case: str) -> None:
    make, error, match = REFUSED_NEURONS[case]
    neurons = _good_neurons(300)
    neurons.insert(137, make())
    with pytest.raises(error, match=match) as raised:
        check_batch(WriteBatch(ensure_neurons=tuple(neurons)))
    assert "ensure_neurons[137]" in str(raised.value)


def test_many_good_records_pass() -> None:
    neurons = _good_neurons(50)
    synapses = [
        Synapse.create(a.id, b.id, SynapseType.RELATED_TO) for a, b in itertools.pairwise(neurons)
    ]
    fibers = [
        Fiber.create([n.id], content="Zoë — café", tags={"t"}, metadata={"speaker": "Zoë"})
        for n in neurons
    ]
    check_batch(
        WriteBatch(
            ensure_neurons=tuple(neurons),
            ensure_synapses=tuple(synapses),
            insert_fibers=tuple(fibers),
            synapse_deltas=tuple((s.id, 0.05) for s in synapses),
        )
    )


def test_a_member_id_too_long_or_a_huge_integer_in_a_bulk_write_is_refused() -> None:
    neurons = _good_neurons(20)
    fibers = [Fiber.create([n.id], content="ok") for n in neurons]
    bad = Fiber.create([neurons[0].id, "n" * 300], content="too long a member")
    with pytest.raises(LimitExceededError, match=r"insert_fibers\[20\]\.neuron_ids"):
        check_batch(WriteBatch(insert_fibers=(*fibers, bad)))
    huge = Fiber.create([neurons[0].id], content="x", metadata={"n": 10**5000})
    with pytest.raises(ValidationError, match=r"insert_fibers\[20\]\.metadata"):
        check_batch(WriteBatch(insert_fibers=(*fibers, huge)))


def test_a_non_finite_delta_among_many_is_refused_by_its_index() -> None:
    deltas = [(f"s-{i}", 0.05) for i in range(100)]
    deltas[42] = ("s-42", math.inf)
    with pytest.raises(ValidationError, match=r"synapse_deltas\[42\]"):
        check_batch(WriteBatch(synapse_deltas=tuple(deltas)))
