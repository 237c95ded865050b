"""BrainImporter: write a snapshot into a storage as a new brain, all or nothing."""

from __future__ import annotations

from dataclasses import dataclass, replace

from neural_memory.core._validation import require_text
from neural_memory.errors import AlreadyExistsError, ValidationError
from neural_memory.sharing.limits import MAX_ID_LENGTH
from neural_memory.sharing.snapshot import BrainSnapshot, snapshot_from_json, validate_snapshot
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch

__all__ = ["BrainImportResult", "BrainImporter"]


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
        self, storage: Storage, snapshot: BrainSnapshot | str, new_brain_id: str
    ) -> BrainImportResult:
        """Create brain ``new_brain_id`` holding everything in ``snapshot``.

        ``snapshot`` may be a BrainSnapshot or its JSON text. It is validated in full
        before anything is written (SnapshotFormatError). The brain record and all its
        entities are written in one transaction (``Storage.create_brain``): either the
        complete brain appears or nothing does, so a failed or killed import leaves no
        brain, and of two imports racing for one new id exactly one succeeds while the
        other gets AlreadyExistsError. An existing ``new_brain_id`` is refused
        (AlreadyExistsError) and left untouched. The storage's selected brain is unchanged.
        """
        if isinstance(snapshot, str):
            snapshot = snapshot_from_json(snapshot)
        else:
            validate_snapshot(snapshot)
        brain_id = require_text(new_brain_id, "new_brain_id")
        if len(brain_id) > MAX_ID_LENGTH:
            raise ValidationError(f"new_brain_id is longer than {MAX_ID_LENGTH} characters")
        if await storage.get_brain(brain_id) is not None:
            raise AlreadyExistsError(f"brain {brain_id!r} already exists; choose another id")
        batch = WriteBatch(
            insert_neurons=snapshot.neurons,
            insert_synapses=snapshot.synapses,
            insert_fibers=snapshot.fibers,
            put_typed_memories=snapshot.typed_memories,
            put_projects=snapshot.projects,
        )
        await storage.create_brain(replace(snapshot.brain, id=brain_id), batch)
        return BrainImportResult(
            brain_id=brain_id,
            neurons=len(snapshot.neurons),
            synapses=len(snapshot.synapses),
            fibers=len(snapshot.fibers),
            typed_memories=len(snapshot.typed_memories),
            projects=len(snapshot.projects),
        )
