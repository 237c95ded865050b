"""The one JSON representation of the core records (internal; not part of the public API).

Every place that turns a core record into JSON or back uses this package: brain export and
import (:mod:`neural_memory.sharing`, layout in ``docs/export-format.md``), the storage RPC
protocol between :class:`~neural_memory.storage.SharedStorage` and the HTTP server, and the
record values of the Redis backend. It sits beside :mod:`neural_memory.core` at the bottom of
the layers and imports only ``neural_memory.core`` and ``neural_memory.errors``.

- :func:`encode_record` / :func:`decode_record`: a record as an object with every field
  (timestamps ISO 8601 with offset, enums as values, sets as sorted lists). Decoding is strict
  and raises :class:`~neural_memory.errors.SnapshotFormatError` naming the bad path.
- :data:`SCHEMAS` (with :data:`FIELD_NAMES`, :data:`TIME_FIELDS`, :data:`NESTED_RECORDS`):
  the field table both directions are driven by, for trusted fast decoders to reuse.
"""

from neural_memory.codec.decode import (
    decode_change,
    decode_record,
    decode_records,
    decode_time,
    require_fields,
)
from neural_memory.codec.encode import encode_change, encode_record, encode_time
from neural_memory.codec.schema import (
    FIELD_NAMES,
    MAX_FIBER_MEMBERS,
    MAX_TAGS,
    NESTED_RECORDS,
    SCHEMAS,
    TIME_FIELDS,
    FieldSpec,
    Shape,
)

__all__ = [
    "FIELD_NAMES",
    "MAX_FIBER_MEMBERS",
    "MAX_TAGS",
    "NESTED_RECORDS",
    "SCHEMAS",
    "TIME_FIELDS",
    "FieldSpec",
    "Shape",
    "decode_change",
    "decode_record",
    "decode_records",
    "decode_time",
    "encode_change",
    "encode_record",
    "encode_time",
    "require_fields",
]
