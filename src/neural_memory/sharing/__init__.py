"""Brain sharing: export a whole brain to a versioned JSON snapshot and import it elsewhere.

See ``docs/export-format.md`` for the file format and the limits an import enforces.
"""

from neural_memory.sharing.exporter import BrainExporter
from neural_memory.sharing.importer import BrainImporter, BrainImportResult
from neural_memory.sharing.limits import SNAPSHOT_FORMAT, SNAPSHOT_FORMAT_VERSION
from neural_memory.sharing.snapshot import (
    BrainSnapshot,
    snapshot_from_json,
    snapshot_to_json,
    validate_snapshot,
)

__all__ = [
    "SNAPSHOT_FORMAT",
    "SNAPSHOT_FORMAT_VERSION",
    "BrainExporter",
    "BrainImportResult",
    "BrainImporter",
    "BrainSnapshot",
    "snapshot_from_json",
    "snapshot_to_json",
    "validate_snapshot",
]
