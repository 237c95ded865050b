"""Model fields of the reserved fiber metadata keys the interfaces show (``SHOWN_KEYS``).

One table (``core.fiber_metadata``) names the keys, their kinds and meanings; the HTTP API's
and the MCP tools' memory models take their typed fields from here instead of listing them
by hand, so a key shown there is shown, typed and described the same everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field, create_model

from neural_memory.core.fiber_metadata import SHOWN_KEYS, MetadataKey, ValueKind

__all__ = ["given_metadata", "metadata_fields_model", "shown_metadata"]

_TYPES: dict[ValueKind, Any] = {
    ValueKind.TEXT: str,
    ValueKind.ID: str,
    ValueKind.COUNT: int,
    ValueKind.FLAG: bool,
    ValueKind.TIME: str,
    ValueKind.IDS: list[str],
}
"""A key's kind -> the type of its JSON value."""


def metadata_fields_model(
    name: str,
    *,
    base: type[BaseModel] = BaseModel,
    types: Mapping[ValueKind, Any] | None = None,
    note: str = "",
    required: bool = False,
    keys: Sequence[MetadataKey[Any]] = SHOWN_KEYS,
) -> type[BaseModel]:
    """A model (subclass of ``base``) with one field per key of ``keys``, None when absent.

    Each field has the type of its key's kind (``types`` overrides some, e.g. a constrained
    text type for requests) or None, and is described by the key's meaning followed by
    ``note``. It defaults to None, unless ``required`` (answers: always present, maybe
    null). Models subclass it to add their own fields.
    """
    chosen = {**_TYPES, **(types or {})}
    fields: dict[str, Any] = {
        key.name: (
            chosen[key.kind] | None,
            Field(description=f"{key.meaning}{note}")
            if required
            else Field(default=None, description=f"{key.meaning}{note}"),
        )
        for key in keys
    }
    model: type[BaseModel] = create_model(name, __base__=base, **fields)
    return model


def shown_metadata(
    metadata: Mapping[str, Any], keys: Sequence[MetadataKey[Any]] = SHOWN_KEYS
) -> dict[str, Any]:
    """The values of ``keys`` in ``metadata`` (None when absent or of another kind)."""
    return {key.name: key.get(metadata) for key in keys}


def given_metadata(
    request: BaseModel, keys: Sequence[MetadataKey[Any]] = SHOWN_KEYS
) -> dict[str, Any]:
    """The metadata a request of :func:`metadata_fields_model` gives: its fields not None."""
    given = {key.name: getattr(request, key.name, None) for key in keys}
    return {name: value for name, value in given.items() if value is not None}
