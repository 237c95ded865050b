"""An engram survives the trip through a fiber of the engine, every field of it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neural_memory.core.fiber import Fiber
from neuram import Engram, MemoryType
from neuram._codec import engram_from_fiber, engram_metadata, engram_tags, fiber_with


def _fiber_of(engram: Engram) -> Fiber:
    return Fiber.create(
        ["n-1", "n-2"],
        pathway=["n-1", "n-2"],
        content=engram.content,
        salience=engram.salience,
        tags=engram_tags(engram),
        metadata=engram_metadata(engram, "model-x"),
        fiber_id=engram.engram_id,
    )


def test_every_field_round_trips() -> None:
    vector = np.array([0.6, 0.8, 0.0], dtype=np.float32)
    engram = Engram(
        "Use pnpm, not npm, in the web repo",
        MemoryType.PROCEDURAL,
        salience=0.7,
        embedding=vector,
        synaptic_strength=0.9,
        stability=12.5,
        access_count=3,
        associations=[("f-other", 0.4)],
        fragments=["n-1", "n-2"],
        created_at=1_700_000_000.0,
        last_access=1_700_003_600.0,
        reward=-0.5,
        region="cerebellum",
        consolidated=True,
    )
    restored = engram_from_fiber(_fiber_of(engram))
    assert restored is not None
    for field in dataclasses.fields(Engram):
        mine, theirs = getattr(engram, field.name), getattr(restored, field.name)
        if field.name == "embedding":
            assert np.allclose(mine, theirs, atol=1e-3)
        else:
            assert mine == theirs, field.name
    assert engram_tags(engram) == {"neuram", "neuram:cerebellum", "neuram:procedural"}


def test_updating_keeps_the_stored_embedding_and_foreign_metadata() -> None:
    engram = Engram("The cafeteria closes at 3pm", embedding=[1.0, 0.0], consolidated=True)
    fiber = _fiber_of(engram).with_metadata(mentions=2)
    lean = engram_from_fiber(fiber, with_embedding=False)
    assert lean is not None and lean.vector is None
    lean.stability = 9.0
    updated = fiber_with(fiber, lean, "model-x")
    again = engram_from_fiber(updated)
    assert again is not None and again.stability == 9.0
    assert again.vector is not None and again.vector.tolist() == pytest.approx([1.0, 0.0])
    assert updated.metadata["mentions"] == 2


def test_fibers_neuram_did_not_write_are_ignored() -> None:
    assert engram_from_fiber(Fiber.create(["n-1"], content="not ours")) is None
