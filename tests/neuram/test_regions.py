"""Each region's documented property, on an injected clock (no test sleeps)."""

from __future__ import annotations

import pytest

from neuram import (
    Amygdala,
    BasalGanglia,
    Engram,
    MemoryType,
    PrefrontalCortex,
    SensoryCortex,
    Thalamus,
    compute_retention,
    time_until_forgotten,
)
from tests.neuram.conftest import FakeClock, OpenBrain

# -- SensoryCortex ---------------------------------------------------------------------------


def test_sensory_input_expires_after_three_seconds_unless_attended(clock: FakeClock) -> None:
    cortex = SensoryCortex(clock=clock)
    ignored = cortex.register("a car horn outside")
    attended = cortex.register("someone says my name")
    clock.advance(2.9)
    assert [t.content for t in cortex.buffer()] == ["a car horn outside", "someone says my name"]
    assert cortex.attend(attended.trace_id) == attended  # attention passes it on...
    clock.advance(0.1)
    assert cortex.buffer() == []  # ...and what nobody attended to is gone at 3 s
    assert cortex.attend(ignored.trace_id) is None


async def test_filtered_input_lingers_three_seconds_and_repetition_gets_it_through(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain()
    faint = "the printer on floor three is low on toner"
    assert await brain.perceive(faint, salience=0.15) is None
    assert [t.content for t in brain.sensory_cortex.buffer()] == [faint]
    clock.advance(3.0)
    assert brain.sensory_cortex.buffer() == []
    assert await brain.perceive(faint, salience=0.15) is None  # the first copy expired
    clock.advance(1.0)
    engram = await brain.perceive(faint, salience=0.15)  # repeated within 3 s: it gets through
    assert engram is not None and engram in brain.working_memory
    assert brain.sensory_cortex.buffer() == [brain.sensory_cortex.buffer()[0]]


# -- Thalamus --------------------------------------------------------------------------------


def test_thalamus_passes_informative_salient_input_only() -> None:
    thalamus = Thalamus()
    assert not thalamus.admit("ok thanks", 1.0)  # says nothing
    assert not thalamus.admit("the printer is low on toner", 0.1)
    assert thalamus.admit("the printer is low on toner", 0.5)
    assert thalamus.relevance("toner", 0.5) < thalamus.relevance("printer toner low", 0.5)


async def test_thalamus_keeps_noise_out_of_working_memory(open_brain: OpenBrain) -> None:
    brain = await open_brain()
    assert await brain.perceive("ok") is None
    assert await brain.perceive("hmm, yeah") is None
    assert await brain.perceive("The build server restarts nightly", salience=0.05) is None
    kept = await brain.perceive("The build server restarts nightly at 2am")
    assert brain.working_memory == [kept]
    assert len(brain.hippocampus) == 1


# -- Amygdala --------------------------------------------------------------------------------


async def test_salience_boosts_stability_at_encoding(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain()
    calm = await brain.perceive("Parking moved to level two", salience=0.2)
    vivid = await brain.perceive("The server room flooded overnight", salience=0.9)
    assert calm is not None and vivid is not None
    assert vivid.stability == pytest.approx(calm.stability * 1.9 / 1.2)
    assert time_until_forgotten(vivid, now=clock()) > time_until_forgotten(calm, now=clock())


def test_amygdala_appraises_emotional_cues() -> None:
    amygdala = Amygdala()
    assert amygdala.appraise("The meeting is at noon") == 0.5
    assert amygdala.appraise("URGENT: never deploy on Friday!") == pytest.approx(0.8)
    assert amygdala.appraise("The meeting is at noon", salience=0.3) == 0.3
    assert amygdala.appraise("The meeting is at noon", reward=1.0) == pytest.approx(0.7)


# -- PrefrontalCortex -------------------------------------------------------------------------


async def test_working_memory_holds_seven_and_evicts_the_least_recently_used(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain()
    engrams = []
    for n in range(7):
        engrams.append(await brain.perceive(f"Fact {n}: the {n}th shelf holds volume {n}"))
        clock.advance(1)
    await brain.recall("0th shelf", top_k=1)  # rehearses item 0: now most recently used
    await brain.perceive("A new fact about the archive basement")
    await brain.perceive("Another fact about the archive attic")
    held = brain.working_memory
    assert len(held) == 7
    assert engrams[0] in held and engrams[1] not in held and engrams[2] not in held
    # evicted from working memory is not forgotten: the hippocampus still has it
    assert (await brain.recall("2th shelf volume 2"))[0][0] is engrams[2]


def test_working_memory_decays_without_rehearsal(clock: FakeClock) -> None:
    wm = PrefrontalCortex(clock=clock)
    first, second = Engram("alpha beta gamma"), Engram("delta epsilon zeta")
    wm.hold(first)
    clock.advance(60)
    wm.hold(second)
    assert wm.activation(first.engram_id) == pytest.approx(0.135, abs=0.001)
    clock.advance(40)
    assert wm.items() == [second]  # the first decayed below threshold
    assert wm.rehearse(second.engram_id)
    clock.advance(80)
    assert wm.items() == [second]
    assert wm.prune() == 1
    with pytest.raises(ValueError):
        PrefrontalCortex(capacity=12)


async def test_sleep_reports_working_memory_that_decayed(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain()
    for n in range(3):
        await brain.perceive(f"Reminder {n}: water the office plants")
    clock.advance(120)
    assert brain.working_memory == []
    stats = await brain.sleep()
    assert stats == {"consolidated": 3, "pruned_wm": 3, "pruned_ltm": 0}


# -- BasalGanglia ----------------------------------------------------------------------------


async def test_reward_modulates_habit_strength(open_brain: OpenBrain, clock: FakeClock) -> None:
    brain = await open_brain()
    liked = await brain.perceive(
        "User likes bullet-point summaries", memory_type=MemoryType.HABITUAL, reward=0.9
    )
    shrugged = await brain.perceive(
        "User reads the changelog first", memory_type=MemoryType.HABITUAL, reward=0.1
    )
    assert liked is not None and shrugged is not None
    assert liked.stability > shrugged.stability
    assert BasalGanglia.habit_strength(liked, clock()) > BasalGanglia.habit_strength(
        shrugged, clock()
    )
    for _ in range(3):
        await brain.sleep()
        clock.advance(hours=1)
    # the reward is applied once: sleeps change neither the type nor the salience
    stored = {e.content: e for e in await brain.basal_ganglia.engrams()}
    assert {e.memory_type for e in stored.values()} == {MemoryType.HABITUAL}
    assert stored[liked.content].salience == liked.salience
    assert stored[liked.content].stability == pytest.approx(liked.stability)
    clock.advance(hours=12)  # 15 h unused: the rewarded habit outlives the other one
    await brain.sleep()
    remaining = [e.content for e in await brain.basal_ganglia.engrams()]
    assert remaining == ["User likes bullet-point summaries"]


async def test_reward_keeps_the_memory_type(open_brain: OpenBrain) -> None:
    brain = await open_brain()
    fact = await brain.perceive(
        "The staging database is Postgres 16", memory_type=MemoryType.SEMANTIC, reward=0.8
    )
    assert fact is not None and fact.memory_type is MemoryType.SEMANTIC
    await brain.sleep()
    assert [e.memory_type for e in await brain.neocortex.engrams()] == [MemoryType.SEMANTIC]
    assert await brain.basal_ganglia.engrams() == []


# -- Cerebellum ------------------------------------------------------------------------------


async def test_consolidated_skills_are_very_hard_to_forget(
    open_brain: OpenBrain, clock: FakeClock
) -> None:
    brain = await open_brain()
    skill = await brain.perceive(
        "To rotate the logs: run logrotate -f on the host", memory_type=MemoryType.PROCEDURAL
    )
    fact = await brain.perceive("The log host is called harbor", memory_type=MemoryType.SEMANTIC)
    assert skill is not None and fact is not None
    await brain.sleep()
    assert skill.region == "cerebellum" and skill.stability == pytest.approx(fact.stability * 25)
    clock.advance(days=5)
    stats = await brain.sleep()
    assert stats["pruned_ltm"] == 1
    assert [e.content for e in await brain.cerebellum.engrams()] == [skill.content]
    assert await brain.neocortex.engrams() == []
    assert compute_retention(skill, clock()) > 0.2


# -- Hippocampus -> long-term: spaced recall ---------------------------------------------------


async def test_spaced_recall_extends_retention(open_brain: OpenBrain, clock: FakeClock) -> None:
    brain = await open_brain()
    rehearsed = await brain.perceive("Kenji's birthday is on March 3rd")
    neglected = await brain.perceive("Olga's birthday is on July 9th")
    assert rehearsed is not None and neglected is not None
    await brain.sleep()
    for gap in (1, 2, 3):
        clock.advance(hours=gap)
        found = await brain.recall("When is Kenji's birthday?", top_k=1)
        assert found[0][0].engram_id == rehearsed.engram_id
    clock.advance(hours=6)
    stored = await brain.neocortex.get(rehearsed.engram_id)
    other = await brain.neocortex.get(neglected.engram_id)
    assert stored is not None and other is not None
    assert stored.access_count == 3  # strengthening was written to the stored engram
    assert stored.stability > other.stability
    assert compute_retention(stored, clock()) > 0.2 > compute_retention(other, clock())
    assert (
        time_until_forgotten(stored, now=clock()) > 0.0 == time_until_forgotten(other, now=clock())
    )
    await brain.sleep()
    assert [e.content for e in await brain.neocortex.engrams()] == [rehearsed.content]
