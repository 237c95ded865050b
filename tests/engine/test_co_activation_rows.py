"""The recall pipeline's ``_co_activations`` returns exactly what it returned before.

``_reference`` is a verbatim copy of ``pipeline._co_activations`` as it was before session 13
made it cheaper (anchors deduplicated once, each memory's anchor set built once).
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from neural_memory.engine.activation import CoActivation, co_activations
from neural_memory.engine.retrieval.pipeline import _co_activations


def _reference(
    index: SimpleNamespace, rows: Sequence[int], anchors: Sequence[int]
) -> list[CoActivation]:
    reached: dict[int, dict[str, None]] = {}
    for row in rows:
        members = index.fibers[row].neuron_rows
        inside = set(members)
        hit = [index.neurons.ids[a] for a in dict.fromkeys(anchors) if a in inside]
        for neuron in members if hit else ():
            reached.setdefault(neuron, {}).update(dict.fromkeys(hit))
    sources = {index.neurons.ids[n]: list(by) for n, by in reached.items()}
    return co_activations(sources, sets=len(set(anchors)))


@st.composite
def recalls(draw: st.DrawFn) -> tuple[SimpleNamespace, list[int], list[int]]:
    """A small index (memories binding neuron rows), recalled rows and the query's anchors."""
    n_neurons = draw(st.integers(1, 10))
    neuron = st.integers(0, n_neurons - 1)
    members = draw(st.lists(st.lists(neuron, max_size=6).map(tuple), min_size=1, max_size=8))
    index = SimpleNamespace(
        fibers=[SimpleNamespace(neuron_rows=m) for m in members],
        neurons=SimpleNamespace(ids=[f"n-{i}" for i in range(n_neurons)]),
    )
    rows = draw(st.lists(st.integers(0, len(members) - 1), max_size=8))
    anchors = draw(st.lists(neuron, max_size=5))
    return index, rows, anchors


@settings(max_examples=300, deadline=None)
@given(recalls())
def test_co_activations_of_recalled_rows_are_unchanged(
    recall: tuple[SimpleNamespace, list[int], list[int]],
) -> None:
    index, rows, anchors = recall
    assert _co_activations(index, rows, anchors) == _reference(index, rows, anchors)  # type: ignore[arg-type]
