"""Import across real processes: a race for one new id, and an import killed mid-way.

Whatever the timing, a brain is either absent or complete: two imports racing for one id
leave exactly one complete brain (the other gets AlreadyExistsError), and a SIGKILLed
import leaves no brain, or a complete one, never a partial or empty one.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from neural_memory import Brain
from neural_memory.core import Fiber, Neuron, NeuronType
from neural_memory.sharing import BrainExporter, BrainImporter
from neural_memory.storage import InMemoryStorage, Storage, WriteBatch
from tests import _import_workers as workers
from tests.processes import run_together
from tests.redis_server import SESSION_REDIS, delete_namespace, new_namespace


@pytest.fixture(params=["sqlite", "redis"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Where the processes import: ``sqlite:<path>`` or ``redis:<namespace>@<url>``."""
    if request.param == "sqlite":
        yield f"sqlite:{tmp_path / 'brains.db'}"
        return
    server = SESSION_REDIS.get()
    namespace = new_namespace()
    yield f"redis:{namespace}@{server.url}"
    delete_namespace(server.url, namespace)


async def _snapshot_file(directory: Path, tag: str, count: int) -> Path:
    """A snapshot of ``count`` neurons named "<tag> i" and a fiber on every tenth."""
    storage = InMemoryStorage()
    await storage.initialize()
    await storage.save_brain(Brain.create(tag, brain_id=tag))
    storage.set_brain(tag)
    neurons = tuple(Neuron.create(NeuronType.CONCEPT, f"{tag} {i}") for i in range(count))
    fibers = tuple(
        Fiber.create([n.id], anchor_neuron_id=n.id, content=n.content) for n in neurons[::10]
    )
    await storage.write(WriteBatch(insert_neurons=neurons, insert_fibers=fibers))
    path = directory / f"{tag}.json"
    path.write_text((await BrainExporter().export(storage, tag)).to_json(), encoding="utf-8")
    return path


async def _contents(storage: Storage, brain_id: str) -> tuple[set[str], int] | None:
    """The neuron contents and fiber count of ``brain_id``, or None when it does not exist."""
    if await storage.get_brain(brain_id) is None:
        return None
    async with storage.using_brain(brain_id):
        neurons = {n.content for n in await storage.find_neurons()}
        return neurons, len(await storage.find_fibers())


async def test_two_processes_importing_one_new_id_leave_one_complete_brain(
    target: str, tmp_path: Path
) -> None:
    count = 300
    files = {tag: await _snapshot_file(tmp_path, tag, count) for tag in ("alpha", "beta")}
    async with workers.open_storage(target):
        pass  # create the schema before the processes race
    for round_ in range(2):
        brain_id = f"racy-{round_}"
        outcomes = {tag: tmp_path / f"{brain_id}-{tag}.txt" for tag in files}
        codes = run_together(
            workers.import_snapshot,
            [(target, str(files[tag]), brain_id, str(outcomes[tag])) for tag in files],
        )
        assert codes == [0, 0]
        results = {tag: path.read_text(encoding="utf-8") for tag, path in outcomes.items()}
        assert sorted(results.values()) == ["exists", "ok"]
        winner = next(tag for tag, result in results.items() if result == "ok")
        async with workers.open_storage(target) as storage:
            found = await _contents(storage, brain_id)
        assert found == ({f"{winner} {i}" for i in range(count)}, count // 10)


async def test_a_killed_import_leaves_no_brain_or_a_complete_one(
    target: str, tmp_path: Path
) -> None:
    count = 4_000
    snapshot = await _snapshot_file(tmp_path, "big", count)
    async with workers.open_storage(target):
        pass
    ctx = multiprocessing.get_context("spawn")
    for round_, delay in enumerate((0.0, 0.2, 0.6)):
        brain_id = f"killed-{round_}"
        started = tmp_path / f"{brain_id}.started"
        child = ctx.Process(
            target=workers.import_until_killed,
            args=(target, str(snapshot), brain_id, str(started)),
        )
        child.start()
        while not started.exists() and child.is_alive():
            time.sleep(0.01)  # wait for the condition: the import is about to start
        time.sleep(delay)  # kill at a different moment each round
        if child.pid is not None and child.is_alive():
            os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=60)
        async with workers.open_storage(target) as storage:
            found = await _contents(storage, brain_id)
            assert found in (None, ({f"big {i}" for i in range(count)}, count // 10))
            if found is None:  # the retry is not refused
                await BrainImporter().import_brain(storage, snapshot.read_text(), brain_id)
                assert await _contents(storage, brain_id) is not None
