"""Encoding: text becomes a fiber through shared, typed neurons; bad input is refused."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neural_memory import Brain, NeuronType, ValidationError
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.errors import BrainNotFoundError, StorageClosedError
from neural_memory.storage import InMemoryStorage, Storage


async def test_encode_creates_a_fiber_with_typed_neurons(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    when = datetime(2023, 5, 8, 14, 0, tzinfo=UTC)
    result = await encoder.encode(
        "Caroline met Jane Doe in Paris yesterday", timestamp=when, metadata={"speaker": "Mel"}
    )
    types = {n.content: n.type for n in result.neurons_created}
    assert types["Caroline"] is NeuronType.ENTITY
    assert types["Jane Doe"] is NeuronType.ENTITY
    assert types["Paris"] is NeuronType.SPATIAL
    assert types["2023-05-07"] is NeuronType.TIME  # "yesterday", resolved against the memory
    assert types["2023-05-08"] is NeuronType.TIME  # the memory's own day
    assert result.fiber.occurred_at == when
    assert result.fiber.content.startswith("Caroline met")
    stored = await storage.get_fiber(result.fiber.id)
    assert stored == result.fiber
    assert len(result.synapses_created) >= len(result.neurons_created) - 1


async def test_the_same_thing_mentioned_twice_is_one_neuron(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    first = await encoder.encode("Dan fixed the login crash")
    second = await encoder.encode("Dan joined the mobile team")
    dan = {n.id for n in first.neurons_created if n.content.casefold() == "dan"}
    assert dan and dan <= set(second.neurons_linked)
    assert dan <= first.fiber.neuron_ids & second.fiber.neuron_ids
    neurons = await storage.find_neurons(content="dan")
    assert len(neurons) == 1


async def test_texts_without_words_are_kept_apart_unless_identical(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    texts = ["!!!", "???", "\N{GRINNING FACE}", "\N{CRYING FACE}"]
    results = [await encoder.encode(t, metadata={"speaker": "Ann"}) for t in texts]
    assert [r.fiber.content for r in results] == texts
    assert not any(r.merged for r in results)
    again = await encoder.encode("  !!! ", metadata={"speaker": "Ann"})
    assert again.merged and again.fiber.id == results[0].fiber.id


async def test_repeated_links_are_reinforced_not_duplicated(storage: Storage) -> None:
    config = Brain.create("x").config
    encoder = MemoryEncoder(storage, config)
    first = await encoder.encode("Alice reviews pull requests")
    second = await encoder.encode("Alice reviews pull requests carefully")
    assert second.synapses_reinforced
    reused = await storage.get_synapses_by_id(second.synapses_reinforced)
    originals = {s.id: s.weight for s in first.synapses_created}
    for synapse_id, synapse in reused.items():
        assert synapse.weight == pytest.approx(originals[synapse_id] + config.reinforcement_delta)


async def test_encode_many_is_all_or_nothing(storage: Storage) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    with pytest.raises(ValidationError):
        await encoder.encode_many([MemoryInput(text="fine"), MemoryInput(text="   ")])
    assert await storage.find_fibers() == []
    results = await encoder.encode_many(["one memory", "another memory"])
    assert len(await storage.find_fibers()) == 2
    assert results[0].fiber.id != results[1].fiber.id


@pytest.mark.parametrize("bad", ["", "   ", None, 42, b"bytes"])
async def test_bad_text_is_a_validation_error(storage: Storage, bad: object) -> None:
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    with pytest.raises(ValidationError):
        await encoder.encode(bad)  # type: ignore[arg-type]
    assert await storage.find_fibers() == []


async def test_unknown_brain_and_closed_storage_are_clear_errors() -> None:
    storage = InMemoryStorage()
    storage.set_brain("no-such-brain")
    encoder = MemoryEncoder(storage, Brain.create("x").config)
    with pytest.raises(BrainNotFoundError):
        await encoder.encode("hello there")
    await storage.close()
    with pytest.raises(StorageClosedError):
        await encoder.encode("hello there")


async def test_a_bulk_call_creates_shared_parts_once_and_reinforces_stored_links(
    storage: Storage,
) -> None:
    config = Brain.create("x").config
    encoder = MemoryEncoder(storage, config)
    day = [datetime(2024, 3, d, 9, 0, tzinfo=UTC) for d in (1, 2, 3)]
    first = await encoder.encode("Alice reviews pull requests", timestamp=day[0])
    stored_links = {s.id for s in first.synapses_created}
    a, b = await encoder.encode_many(
        [
            MemoryInput(text="Alice reviews pull requests about tomatoes", timestamp=day[1]),
            MemoryInput(text="Alice reviews pull requests about tomatoes again", timestamp=day[2]),
        ]
    )
    tomato = [n for n in a.neurons_created if n.content.startswith("tomato")]
    assert tomato and tomato[0].created_at == day[1]  # made at its first mention
    assert tomato[0].id in b.neurons_linked and tomato[0].id not in {
        n.id for n in b.neurons_created
    }
    reused = stored_links & set(a.synapses_reinforced)
    assert reused and reused <= set(b.synapses_reinforced)
    assert not reused & {s.id for s in (*a.synapses_created, *b.synapses_created)}
    for synapse in (await storage.get_synapses_by_id(reused)).values():
        assert synapse.created_at == day[0]
        assert synapse.weight == pytest.approx(0.5 + config.reinforcement_delta)  # once a batch
    new_links = {s.id for s in a.synapses_created} & set(b.synapses_reinforced)
    assert new_links
    for synapse in (await storage.get_synapses_by_id(new_links)).values():
        assert synapse.weight == pytest.approx(0.5 + config.reinforcement_delta)  # used twice
