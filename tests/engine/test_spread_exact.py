"""``activation.spread`` returns exactly what the engine's first ``spread`` returned.

The oracle is the frozen copy in ``activation_oracles``. Session 13 rewrote the hop loop for
speed; it must give the same floats, bit for bit, and the same dict insertion order:
``_strongest`` keeps ties in insertion order, and recall reads the activation dicts in order.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from neural_memory.engine.activation import SpreadParams, SpreadResult, spread
from tests.engine import activation_oracles as old
from tests.engine.test_activation_core import memory_graphs

tied = st.sampled_from([0.0, 0.125, 0.25, 0.5, 1.0])
"""Few distinct values: activations tie often, which is where order shows."""


@st.composite
def tied_graphs(draw: st.DrawFn) -> dict[str, object]:
    """A random memory graph whose activations and weights tie often, with small frontiers."""
    n_neurons = draw(st.integers(1, 16))
    n_fibers = draw(st.integers(1, 14))
    neuron = st.integers(0, n_neurons - 1)
    fiber_neurons = [
        tuple(draw(st.lists(neuron, min_size=0, max_size=7, unique=True))) for _ in range(n_fibers)
    ]
    return {
        "seed_fibers": draw(st.dictionaries(st.integers(0, n_fibers - 1), tied, max_size=6)),
        "anchor_neurons": draw(st.dictionaries(neuron, tied, max_size=4)),
        "fiber_neurons": fiber_neurons,
        "neuron_fibers": [
            [f for f, members in enumerate(fiber_neurons) if n in members] for n in range(n_neurons)
        ],
        "adjacency": [draw(st.dictionaries(neuron, tied, max_size=5)) for _ in range(n_neurons)],
        "quiet_neurons": draw(st.frozensets(neuron, max_size=3)),
        "params": SpreadParams(
            hops=draw(st.integers(1, 5)),
            hop_decay=draw(st.sampled_from([0.5, 0.3, 1.0])),
            min_activation=draw(st.sampled_from([0.0, 0.01, 0.1])),
            max_fanout=draw(st.integers(1, 10)),
            frontier_size=draw(st.integers(1, 6)),
            trail=draw(st.booleans()),
        ),
    }


def _same(new: SpreadResult, was: SpreadResult) -> None:
    """Equal values, bit for bit, in the same insertion order."""
    assert list(new.fiber_activation.items()) == list(was.fiber_activation.items())
    assert list(new.neuron_activation.items()) == list(was.neuron_activation.items())
    assert list(new.neuron_hops.items()) == list(was.neuron_hops.items())


@settings(max_examples=300, deadline=None)
@given(memory_graphs())
def test_spread_gives_the_reference_floats_in_the_reference_order(graph: dict[str, object]) -> None:
    _same(spread(**graph), old.spread(**graph))  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(tied_graphs())
def test_spread_keeps_the_reference_order_of_ties(graph: dict[str, object]) -> None:
    _same(spread(**graph), old.spread(**graph))  # type: ignore[arg-type]
