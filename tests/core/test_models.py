"""The immutable data model: seed samples, validation and copy-on-change."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from neural_memory import (
    Brain,
    BrainConfig,
    ConfigError,
    Direction,
    Fiber,
    Neuron,
    NeuronType,
    Synapse,
    SynapseType,
    ValidationError,
)
from neural_memory.core import MemoryType, Priority, Project, TypedMemory


def test_brain_seed_sample() -> None:
    brain = Brain.create("my-brain")
    config = BrainConfig(
        decay_rate=0.1,
        reinforcement_delta=0.05,
        activation_threshold=0.2,
        max_spread_hops=4,
        max_context_tokens=1500,
    )
    brain = Brain.create("my-brain", config=config)
    assert brain.name == "my-brain"
    assert brain.id
    assert brain.config == config
    assert Brain.create("my-brain").id != brain.id


def test_brain_config_defaults_are_the_documented_ones() -> None:
    assert BrainConfig() == BrainConfig(
        decay_rate=0.1,
        reinforcement_delta=0.05,
        activation_threshold=0.2,
        max_spread_hops=4,
        max_context_tokens=1500,
    )


@pytest.mark.parametrize(
    "changes",
    [
        {"decay_rate": 1.5},
        {"activation_threshold": -0.1},
        {"max_spread_hops": 0},
        {"max_context_tokens": "many"},
        {"reinforcement_delta": True},
    ],
)
def test_brain_config_rejects_out_of_range_values(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        BrainConfig(**changes)  # type: ignore[arg-type]


def test_brain_config_is_keyword_only_and_frozen() -> None:
    with pytest.raises(TypeError):
        BrainConfig(0.1)  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        BrainConfig().decay_rate = 0.5  # type: ignore[misc]
    assert BrainConfig().with_changes(max_spread_hops=6).max_spread_hops == 6


def test_neuron_seed_sample_and_all_types() -> None:
    neuron = Neuron(
        id="neuron-123", type=NeuronType.ENTITY, content="Alice", metadata={"role": "developer"}
    )
    assert neuron.metadata["role"] == "developer"
    with pytest.raises(TypeError):
        neuron.metadata["role"] = "manager"  # type: ignore[index]
    assert {t.name for t in NeuronType} == {
        "TIME",
        "SPATIAL",
        "ENTITY",
        "ACTION",
        "STATE",
        "CONCEPT",
        "SENSORY",
        "INTENT",
    }


def test_neuron_rejects_empty_content_and_unknown_type() -> None:
    with pytest.raises(ValidationError):
        Neuron(id="n", type=NeuronType.ENTITY, content="  ")
    with pytest.raises(ValidationError):
        Neuron(id="n", type="planet", content="Mars")  # type: ignore[arg-type]


def test_same_normalised_content_gives_the_same_neuron_id() -> None:
    first = Neuron.create(NeuronType.ENTITY, "Alice  Smith")
    second = Neuron.create(NeuronType.ENTITY, "alice smith")
    assert first.id == second.id
    assert first.id != Neuron.create(NeuronType.CONCEPT, "alice smith").id


def test_synapse_seed_sample_and_types() -> None:
    synapse = Synapse(
        id="synapse-456",
        source_id="neuron-a",
        target_id="neuron-b",
        type=SynapseType.CAUSED_BY,
        weight=0.8,
        direction=Direction.UNIDIRECTIONAL,
    )
    assert synapse.weight == 0.8
    assert len(SynapseType) == 14
    stronger = synapse.reinforce(0.5)
    assert stronger.weight == 1.0 and stronger.reinforced_count == 1
    assert synapse.weight == 0.8


def test_synapse_refuses_self_loops_and_bad_weights() -> None:
    with pytest.raises(ValidationError):
        Synapse.create("a", "a", SynapseType.RELATED_TO)
    with pytest.raises(ValidationError):
        Synapse.create("a", "b", SynapseType.RELATED_TO, weight=2.0)


def test_fiber_seed_sample() -> None:
    fiber = Fiber.create(
        neuron_ids={"n1", "n2", "n3"},
        synapse_ids={"s1", "s2"},
        anchor_neuron_id="n1",
        pathway=["n1", "n2", "n3"],
    )
    assert fiber.conductivity == 1.0
    assert fiber.pathway == ("n1", "n2", "n3")
    assert fiber.pathway_length == 3
    assert fiber.last_conducted is None
    now = datetime(2024, 1, 2, tzinfo=UTC)
    fiber = fiber.with_conductivity(0.8)
    fiber = fiber.conduct(reinforce=True)
    assert fiber.conductivity == pytest.approx(0.82)
    fiber = fiber.conduct(conducted_at=now)
    assert fiber.last_conducted == now
    assert fiber.access_count == 2
    fiber = fiber.with_salience(0.9)
    fiber = fiber.add_tags("important", "reviewed")
    assert fiber.salience == 0.9
    assert fiber.tags == {"important", "reviewed"}
    assert fiber.pathway_position("n2") == 1
    assert fiber.is_in_pathway("n2") is True
    assert fiber.pathway_position("zz") is None


def test_fiber_conduct_is_a_checked_copy() -> None:
    fiber = Fiber.create(["n1", "n2"], content="x", metadata={"k": "v"}, tags={"t"})
    naive = datetime(2024, 1, 2, 3, 4)  # taken as UTC
    conducted = fiber.conduct(conducted_at=naive)
    expected = dataclasses.replace(
        fiber,
        conductivity=1.0,
        last_conducted=naive.replace(tzinfo=UTC),
        access_count=1,
    )
    assert conducted == expected
    assert fiber.access_count == 0 and fiber.last_conducted is None  # the original is kept
    with pytest.raises(dataclasses.FrozenInstanceError):
        conducted.access_count = 5  # type: ignore[misc]
    with pytest.raises(ValidationError):
        fiber.conduct(conducted_at="2024-01-02")  # type: ignore[arg-type]


def test_fiber_validates_its_pathway_and_anchor() -> None:
    with pytest.raises(ValidationError):
        Fiber.create(neuron_ids={"n1"}, anchor_neuron_id="n9")
    with pytest.raises(ValidationError):
        Fiber.create(neuron_ids={"n1"}, pathway=["n1", "n2"])
    with pytest.raises(ValidationError):
        Fiber.create(neuron_ids=set())


def test_naive_datetimes_are_taken_as_utc() -> None:
    fiber = Fiber.create(neuron_ids={"n1"}, occurred_at=datetime(2023, 5, 7, 12, 0))
    assert fiber.occurred_at == datetime(2023, 5, 7, 12, 0, tzinfo=UTC)


def test_typed_memory_expiry_and_priority() -> None:
    created = datetime(2024, 1, 1, tzinfo=UTC)
    memory = TypedMemory.create(
        fiber_id="fiber-123",
        memory_type=MemoryType.DECISION,
        priority=Priority.HIGH,
        source="user_input",
        expires_in_days=30,
        tags={"project", "auth"},
        created_at=created,
    )
    assert memory.expires_at == created + timedelta(days=30)
    assert not memory.is_expired(created + timedelta(days=29))
    assert memory.is_expired(created + timedelta(days=30))
    assert len(MemoryType) == 10
    with pytest.raises(ValidationError):
        TypedMemory.create(fiber_id="f", memory_type=MemoryType.FACT, priority=11)


def test_project_duration() -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    project = Project.create(
        name="Q1 Sprint",
        description="First quarter sprint",
        duration_days=14,
        tags={"sprint", "q1"},
        created_at=start,
    )
    assert project.is_active(start + timedelta(days=13))
    assert not project.is_active(start + timedelta(days=14))
