"""A first-person query without a named asker is the brain owner's question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.engine.retrieval.ranking import owner_row
from neural_memory.storage import InMemoryStorage


@pytest.mark.parametrize(
    ("speakers", "role_row", "owner"),
    [
        ([3, 4, 3, 4, -1], 4, 4),  # the user role speaks: it owns the brain
        ([3, 3, 3, 3, 5, -1], None, 3),  # one person said most memories
        ([3, 3, 5, 5, 5], None, None),  # a conversation among equals has no owner
        ([-1, -1], None, None),  # nobody speaks
        ([3, 5, 5, 3, 3], 9, None),  # the role is a word but never speaks; no clear lead
    ],
)
def test_owner_row(speakers: list[int], role_row: int | None, owner: int | None) -> None:
    assert owner_row(np.array(speakers, dtype=np.int32), role_row) == owner


async def test_a_plain_first_person_query_ranks_like_the_user_asking() -> None:
    storage = InMemoryStorage()
    await storage.initialize()
    brain = Brain.create("chat")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    start = datetime(2023, 5, 1, tzinfo=UTC)
    turns = [
        ("user", "I bought a road bike for my commute"),
        ("assistant", "I recommend a road bike with wide tyres for a commute"),
        ("user", "I also went to a pottery class on Sunday"),
        ("assistant", "A pottery class is a great way to relax, I think"),
    ]
    await MemoryEncoder(storage, brain.config).encode_many(
        [
            MemoryInput(text=text, timestamp=start + timedelta(hours=n), metadata={"speaker": who})
            for n, (who, text) in enumerate(turns)
        ]
    )
    pipeline = ReflexPipeline(storage, brain.config, reinforce=False)
    now = start + timedelta(days=1)
    plain = await pipeline.query("what bike did I buy?", reference_time=now, max_fibers=4)
    named = await pipeline.query(
        "what bike did I buy?", reference_time=now, max_fibers=4, asker="user"
    )
    assert [f.fiber_id for f in plain.fibers] == [f.fiber_id for f in named.fibers]
    assert plain.fibers[0].content == "I bought a road bike for my commute"
    await storage.close()
