"""The seed's Quick start, verbatim, against a real redis-server; and its outcomes in detail."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from neural_memory.storage import RedisStorage
from neuram import MemoryType
from tests.neuram.conftest import FakeClock, OpenBrain
from tests.neuram.seed import SAMPLES, SEED, sample_body

SEED_URL = "redis://localhost:6379"


def run_quick_start(url: str, workdir: Path) -> str:
    """Run the verbatim sample as its own process against ``url``.

    The sample hard-codes ``redis://localhost:6379``; the test's redis-server listens on a
    free port, so a copy in ``workdir`` gets that one string replaced by the fixture's URL
    (no environment variable, nothing else changed). ``-X dev`` and ResourceWarnings as
    errors make a leaked Redis client or thread fail the run.
    """
    text = (SAMPLES / "quick_start.py").read_text()
    assert text.count(SEED_URL) == 1
    script = workdir / "quick_start.py"
    script.write_text(text.replace(SEED_URL, url))
    completed = subprocess.run(
        [sys.executable, "-X", "dev", "-W", "error::ResourceWarning", str(script)],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


async def test_quick_start_runs_verbatim_against_redis(
    default_redis_brain: str, tmp_path: Path
) -> None:
    output = run_quick_start(default_redis_brain, tmp_path).splitlines()
    recalled = [line for line in output if "  [" in line]
    assert recalled, output
    assert recalled[0].endswith("[semantic]  Paris is the capital of France")
    scores = [float(line.split()[0]) for line in recalled]
    assert scores == sorted(scores, reverse=True)
    held = next(line for line in output if line.startswith("Working memory: "))
    assert held == "Working memory: 4 / 7 slots"
    stats = ast.literal_eval(output[-1])
    assert set(stats) == {"consolidated", "pruned_wm", "pruned_ltm"}
    assert stats["consolidated"] == 4
    # The consolidated engrams are in Redis, in the default namespace and brain.
    storage = RedisStorage(default_redis_brain)
    try:
        brain = next(b for b in await storage.list_brains() if b.name == "neuram")
        storage.set_brain(brain.id)
        contents = {fiber.content for fiber in await storage.find_fibers(tags=["neuram"])}
    finally:
        await storage.close()
    assert "Paris is the capital of France" in contents
    assert len(contents) == stats["consolidated"]
    assert not (tmp_path / "neuram.db").exists()  # with redis_url, nothing goes to SQLite


@pytest.mark.skipif(not SEED.exists(), reason="the seed document is not beside the repo")
def test_quick_start_sample_is_verbatim() -> None:
    assert sample_body(SAMPLES / "quick_start.py") in SEED.read_text()


async def test_quick_start_outcomes_in_detail(
    open_brain: OpenBrain, redis_url: str, redis_namespace: str, clock: FakeClock
) -> None:
    brain = await open_brain(redis_url=redis_url, namespace=redis_namespace)
    await brain.perceive("Paris is the capital of France", memory_type=MemoryType.SEMANTIC)
    await brain.perceive(
        "I had a great meeting with Alice today", memory_type=MemoryType.EPISODIC, salience=0.8
    )
    skill = await brain.perceive(
        "To debug Python: add breakpoint(), run, inspect locals", memory_type=MemoryType.PROCEDURAL
    )
    await brain.perceive(
        "User always prefers concise answers", memory_type=MemoryType.HABITUAL, reward=0.9
    )
    results = await brain.recall("capital city Europe")
    assert results[0][0].content == "Paris is the capital of France"
    assert len(brain.working_memory) == 4
    for extra in range(10):
        await brain.perceive(f"Note number {extra} about the quarterly budget review")
    assert len(brain.working_memory) == 7

    stats = await brain.sleep()
    assert stats["consolidated"] == 14
    assert {e.region for e in await brain.cerebellum.engrams()} == {"cerebellum"}
    assert [e.content for e in await brain.basal_ganglia.engrams()] == [
        "User always prefers concise answers"
    ]
    assert len(await brain.neocortex.engrams()) == 12

    # forget removes an engram everywhere: working memory, hippocampal index, Redis
    assert skill is not None and skill.engram_id not in brain.prefrontal_cortex
    best = await brain.recall("how do I debug Python?", top_k=1)
    assert best[0][0].engram_id == skill.engram_id
    assert skill.engram_id in brain.prefrontal_cortex  # recall brought it back to mind
    fresh = await brain.perceive("To debug Rust: add dbg!, run, read stderr")
    assert fresh is not None
    assert fresh.engram_id in brain.prefrontal_cortex and fresh.engram_id in brain.hippocampus

    assert await brain.forget(skill.engram_id)
    assert await brain.forget(fresh.engram_id)
    for engram_id in (skill.engram_id, fresh.engram_id):
        assert engram_id not in brain.prefrontal_cortex
        assert engram_id not in brain.hippocampus
    assert await brain.sleep() == {"consolidated": 0, "pruned_wm": 0, "pruned_ltm": 0}
    storage = RedisStorage(redis_url, namespace=redis_namespace)
    try:
        brain_id = next(b.id for b in await storage.list_brains() if b.name == "neuram")
        storage.set_brain(brain_id)
        gone = await storage.get_fibers([skill.engram_id, fresh.engram_id])
        assert gone == {}
        assert len(await storage.find_fibers(tags=["neuram"])) == 13
    finally:
        await storage.close()
    recalled = [e.content for e, _ in await brain.recall("how to debug Python or Rust")]
    assert skill.content not in recalled and fresh.content not in recalled
    assert not await brain.forget(skill.engram_id)
