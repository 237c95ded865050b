"""BrainImporter: write a snapshot into a storage as a new brain, all or nothing."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from neural_memory.core._validation import require_text
from neural_memory.engine._bulk_gc import collector_paused
from neural_memory.errors import AlreadyExistsError, ValidationError
from neural_memory.sharing.limits import MAX_ID_LENGTH
from neural_memory.sharing.snapshot import BrainSnapshot, checked_snapshot, snapshot_from_json
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["BrainImportResult", "BrainImporter", "ImportProgress"]

ImportProgress = Callable[[str, int, int], None]
"""``(stage, done, total)``: an import's progress, in records, for a progress bar.

The stages are ``"checking"`` (the snapshot against the format and the limits) and
``"writing"`` (the one transaction that creates the brain). Each is reported when it starts
(``done`` 0) and when it ends (``done == total``).
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class BrainImportResult:
    """What an import created: the new brain's id and how many entities of each kind."""

    brain_id: str
    neurons: int
    synapses: int
    fibers: int
    typed_memories: int
    projects: int


class BrainImporter:
    """Import snapshots (or their JSON) as new brains."""

    def from_json(self, text: str) -> BrainSnapshot:
        """Parse and validate snapshot JSON text."""
        return snapshot_from_json(text)

    async def import_brain(
        self,
        storage: Storage,
        snapshot: BrainSnapshot | str,
        new_brain_id: str,
        *,
        name: str | None = None,
        progress: ImportProgress | None = None,
    ) -> BrainImportResult:
        """Create brain ``new_brain_id`` holding everything in ``snapshot``.

        ``snapshot`` may be a BrainSnapshot or its JSON text. It is validated in full
        before anything is written (SnapshotFormatError); a snapshot that
        :meth:`from_json` returned is not checked twice. ``name`` renames the new brain
        (default: the snapshot's name); ``progress`` is called as each stage starts and
        ends (:data:`ImportProgress`). The brain record and all its
        entities are written in one transaction (``Storage.create_brain``): either the
        complete brain appears or nothing does, so a failed or killed import leaves no
        brain, and of two imports racing for one new id exactly one succeeds while the
        other gets AlreadyExistsError. An existing ``new_brain_id`` is refused
        (AlreadyExistsError) and left untouched. The storage's selected brain is unchanged.
        """
        with collector_paused():  # bulk: tens of thousands of records live until written
            return await self._import(storage, snapshot, new_brain_id, name, progress or _quiet)

    async def _import(
        self,
        storage: Storage,
        snapshot: BrainSnapshot | str,
        new_brain_id: str,
        name: str | None,
        report: ImportProgress,
    ) -> BrainImportResult:
        if isinstance(snapshot, str):
            snapshot = snapshot_from_json(snapshot)
        total = _records(snapshot) if isinstance(snapshot, BrainSnapshot) else 0
        report("checking", 0, total)
        checked_snapshot(snapshot)
        report("checking", total, total)
        brain_id = require_text(new_brain_id, "new_brain_id")
        if len(brain_id) > MAX_ID_LENGTH:
            raise ValidationError(f"new_brain_id is longer than {MAX_ID_LENGTH} characters")
        if await storage.get_brain(brain_id) is not None:
            raise AlreadyExistsError(f"brain {brain_id!r} already exists; choose another id")
        brain = replace(snapshot.brain, id=brain_id)
        if name is not None:
            brain = replace(brain, name=name)  # the Brain record checks the name
        batch = WriteBatch(
            insert_neurons=snapshot.neurons,
            insert_synapses=snapshot.synapses,
            insert_fibers=snapshot.fibers,
            put_typed_memories=snapshot.typed_memories,
            put_projects=snapshot.projects,
        )
        report("writing", 0, total)
        await storage.create_brain(brain, batch)
        report("writing", total, total)
        return BrainImportResult(
            brain_id=brain_id,
            neurons=len(snapshot.neurons),
            synapses=len(snapshot.synapses),
            fibers=len(snapshot.fibers),
            typed_memories=len(snapshot.typed_memories),
            projects=len(snapshot.projects),
        )


def _records(snapshot: BrainSnapshot) -> int:
    sections = (snapshot.neurons, snapshot.synapses, snapshot.fibers)
    extra = (snapshot.typed_memories, snapshot.projects)
    return sum(len(items) for items in (*sections, *extra) if isinstance(items, tuple))


def _quiet(stage: str, done: int, total: int) -> None:
    """The progress callback of an import nobody watches."""
