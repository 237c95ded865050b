"""SharedStorage: a backend that keeps its brains on a NeuralMemory HTTP server.

Needs the ``server`` extra (``pip install neural-memory-brain[server]``, for httpx). Every
backend primitive is one ``POST /v1/storage/<primitive>`` call to a server started with
``neural-memory-server`` (or :func:`neural_memory.server.create_app`); the server applies it
to its own backend, so several processes and machines can share one brain. Errors come back
as the same typed exceptions (``{"error": type}`` bodies); a server that cannot be reached
raises StorageUnavailableError. The engine's indexes stay in this process and catch up
through the change log, so recall does not make one request per neuron.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import os
import ssl
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

from neural_memory.codec import (
    decode_change,
    decode_record,
    decode_records,
    encode_record,
    encode_time,
)
from neural_memory.core._validation import require_text
from neural_memory.core.alert import Alert
from neural_memory.core.brain import Brain
from neural_memory.core.events import BrainStats, BrainVersion, ChangeRecord, RecallEvent
from neural_memory.core.fiber import Fiber
from neural_memory.core.neuron import Neuron
from neural_memory.core.project import Project
from neural_memory.core.synapse import Synapse
from neural_memory.core.typed_memory import TypedMemory
from neural_memory.errors import (
    NeuralMemoryError,
    SnapshotFormatError,
    StorageClosedError,
    StorageError,
    StorageUnavailableError,
    ValidationError,
)
from neural_memory.storage._core import JSONValue
from neural_memory.storage._vectors import vector_from_text
from neural_memory.storage._wire import (
    PROTOCOL_VERSION,
    STORAGE_PREFIX,
    check_response,
    dump_json,
    encode_alert_filter,
    encode_fiber_filter,
    encode_neuron_filter,
    encode_synapse_filter,
    encode_typed_memory_filter,
    encode_write_batch,
    error_from_body,
    optional_time,
)
from neural_memory.storage.base import Storage
from neural_memory.storage.batch import WriteBatch
from neural_memory.storage.filters import (
    AlertFilter,
    FiberFilter,
    NeuronFilter,
    SynapseFilter,
    TypedMemoryFilter,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["SharedStorage"]

_T = TypeVar("_T")
_INSTALL_HINT = "pip install neural-memory-brain[server]"
_HEADERS = {"content-type": "application/json", "accept": "application/json"}


class SharedStorage(Storage):
    """Brains on a remote NeuralMemory server, used through its storage RPC API.

    Args:
        base_url: The server's URL, e.g. ``"http://localhost:8000"`` (a path prefix is kept).
        brain_id: Selects this brain (same as calling ``set_brain``).
        client: An ``httpx.AsyncClient`` to send requests with (connection pooling, auth
            headers, TLS settings); it is not closed by :meth:`close`.
        timeout: Seconds to wait for the server on each request (own client only); also
            the most a request waits in all when the server rate-limits it (HTTP 429: it is
            sent again after the ``Retry-After`` the server names).
        api_key: The server's API key for this brain (sent as ``Authorization: Bearer``);
            when not given, ``NEURAL_MEMORY_API_KEY`` from the environment, if set.
    """

    def __init__(
        self,
        base_url: str,
        brain_id: str | None = None,
        *,
        client: httpx.AsyncClient | None = None,
        timeout: float = 30.0,
        api_key: str | None = None,
    ) -> None:
        super().__init__()
        self._httpx = _httpx_module()
        url = require_text(base_url, "base_url").strip().rstrip("/")
        if not url.startswith(("http://", "https://")):
            raise ValidationError(f"base_url must start with http:// or https://, got {url!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ValidationError(f"timeout must be a positive number, got {timeout!r}")
        self._base_url = url
        self._headers = _request_headers(resolve_api_key(api_key))
        self._timeout = float(timeout)
        self._client: httpx.AsyncClient | None = client
        self._owns_client = client is None
        if brain_id is not None:
            self.set_brain(brain_id)

    @property
    def base_url(self) -> str:
        """The server's URL."""
        return self._base_url

    def __repr__(self) -> str:
        return f"SharedStorage({self._base_url!r})"

    # -- lifecycle -------------------------------------------------------------------------

    async def _open(self) -> None:
        if self._client is None:
            self._client = self._httpx.AsyncClient(timeout=self._timeout, verify=_tls_context())
        try:
            answer = await self._call("GET", "health", None)
            protocol = answer.get("protocol")
            if protocol != PROTOCOL_VERSION:
                raise StorageUnavailableError(
                    f"{self._base_url} speaks storage protocol {protocol!r}, "
                    f"this client needs {PROTOCOL_VERSION}"
                )
        except NeuralMemoryError:  # unreachable, refused key, other protocol
            await self._close()  # initialize() may be retried
            raise

    async def _close(self) -> None:
        if self._owns_client and self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- transport -------------------------------------------------------------------------

    async def _call(self, method: str, name: str, body: dict[str, Any] | None) -> dict[str, Any]:
        """One request to ``/v1/storage/<name>``; the JSON object answered."""
        if self._client is None or self.closed:
            raise StorageClosedError("SharedStorage is closed")
        content = dump_json(body) if body is not None else None
        url = f"{self._base_url}{STORAGE_PREFIX}/{name}"
        response = await self._send(method, url, content)
        waited = 0.0
        while (delay := _retry_delay(response)) is not None and waited + delay <= self._timeout:
            # The server refused the request unprocessed (rate limit): send it again later.
            waited += delay
            await asyncio.sleep(delay)
            response = await self._send(method, url, content)
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if response.status_code >= 400:
            raise error_from_body(response.status_code, payload)
        if not isinstance(payload, dict):
            raise StorageError(f"{url} answered HTTP {response.status_code} without a JSON object")
        return payload

    async def _send(self, method: str, url: str, content: bytes | None) -> httpx.Response:
        """One HTTP request; transport failures as storage errors."""
        assert self._client is not None  # checked by _call
        try:
            return await self._client.request(method, url, content=content, headers=self._headers)
        except self._httpx.TransportError as exc:
            raise StorageUnavailableError(
                f"cannot reach the NeuralMemory server at {self._base_url}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        except self._httpx.HTTPError as exc:
            raise StorageError(f"request to {url} failed: {exc}") from exc

    async def _post(self, name: str, body: dict[str, Any], key: str) -> Any:
        """``payload[key]`` of a POST to the primitive ``name``."""
        payload = await self._call("POST", name, body)
        return _decoded(name, lambda: check_response(name, payload, key))

    async def _records(self, name: str, kind: type[_T], body: dict[str, Any]) -> list[_T]:
        """The ``items`` list of a POST to ``name``, decoded as records of ``kind``."""
        items = await self._post(name, body, "items")
        return _decoded(name, lambda: decode_records(kind, items, "items"))

    async def _record_map(self, name: str, kind: type[_T], body: dict[str, Any]) -> dict[str, _T]:
        """The ``items`` object of a POST to ``name``, decoded as records of ``kind`` by id."""
        items = await self._post(name, body, "items")
        return _decoded(
            name, lambda: {k: decode_record(kind, v, f"items.{k}") for k, v in _dict(items).items()}
        )

    # -- brains ----------------------------------------------------------------------------

    async def _save_brain(self, brain: Brain) -> None:
        await self._post("save_brain", {"brain": encode_record(brain)}, "ok")

    async def _create_brain(self, brain: Brain, contents: WriteBatch) -> int:
        body = {"brain": encode_record(brain), "batch": encode_write_batch(contents)}
        return _int(await self._post("create_brain", body, "seq"))

    async def _get_brain(self, brain_id: str) -> Brain | None:
        found = await self._post("get_brain", {"brain_id": brain_id}, "brain")
        if found is None:
            return None
        return _decoded("get_brain", lambda: decode_record(Brain, found, "brain"))

    async def _get_brain_version(self, brain_id: str) -> BrainVersion | None:
        found = await self._post("get_brain_version", {"brain_id": brain_id}, "version")
        if found is None:
            return None
        version = _dict(found)
        seq, record = _int(version.get("change_seq")), _int(version.get("record"))
        return BrainVersion(seq, record, _int(version.get("generation", 0)))  # 0: older server

    async def _list_brains(self) -> list[Brain]:
        brains = await self._post("list_brains", {}, "brains")
        return _decoded("list_brains", lambda: decode_records(Brain, brains, "brains"))

    async def _delete_brain(self, brain_id: str) -> bool:
        return _bool(await self._post("delete_brain", {"brain_id": brain_id}, "deleted"))

    # -- graph -----------------------------------------------------------------------------

    def _applies_access_deltas(self) -> bool:
        return True  # the server applies them (its storage's way)

    async def _write(self, brain_id: str, batch: WriteBatch) -> int:
        body = {"brain_id": brain_id, "batch": encode_write_batch(batch)}
        return _int(await self._post("write", body, "seq"))

    async def _get_neurons(self, brain_id: str, ids: frozenset[str]) -> dict[str, Neuron]:
        return await self._record_map("get_neurons", Neuron, _ids(brain_id, ids))

    async def _find_neurons(self, brain_id: str, query: NeuronFilter) -> list[Neuron]:
        body = {"brain_id": brain_id, **encode_neuron_filter(query)}
        return await self._records("find_neurons", Neuron, body)

    async def _get_synapses(self, brain_id: str, ids: frozenset[str]) -> dict[str, Synapse]:
        return await self._record_map("get_synapses", Synapse, _ids(brain_id, ids))

    async def _find_synapses(self, brain_id: str, query: SynapseFilter) -> list[Synapse]:
        body = {"brain_id": brain_id, **encode_synapse_filter(query)}
        return await self._records("find_synapses", Synapse, body)

    async def _synapses_touching(self, brain_id: str, neuron_ids: frozenset[str]) -> list[Synapse]:
        return await self._records("synapses_touching", Synapse, _ids(brain_id, neuron_ids))

    async def _get_fibers(self, brain_id: str, ids: frozenset[str]) -> dict[str, Fiber]:
        return await self._record_map("get_fibers", Fiber, _ids(brain_id, ids))

    async def _find_fibers(self, brain_id: str, query: FiberFilter) -> list[Fiber]:
        body = {"brain_id": brain_id, **encode_fiber_filter(query)}
        return await self._records("find_fibers", Fiber, body)

    # -- which ids exist -------------------------------------------------------------------

    async def _existing_neuron_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return await self._id_set("existing_neuron_ids", _ids(brain_id, ids))

    async def _existing_synapse_ids(self, brain_id: str, ids: frozenset[str]) -> set[str]:
        return await self._id_set("existing_synapse_ids", _ids(brain_id, ids))

    async def _id_set(self, name: str, body: dict[str, Any]) -> set[str]:
        """The ``ids`` list of a POST to ``name``, as a set."""
        found = await self._post(name, body, "ids")
        if not isinstance(found, list) or not all(isinstance(i, str) for i in found):
            raise StorageError(f"the server answered {name} with {found!r}")
        return set(found)

    # -- knowledge -------------------------------------------------------------------------

    async def _get_typed_memories(
        self, brain_id: str, ids: frozenset[str]
    ) -> dict[str, TypedMemory]:
        return await self._record_map("get_typed_memories", TypedMemory, _ids(brain_id, ids))

    async def _find_typed_memories(
        self, brain_id: str, query: TypedMemoryFilter
    ) -> list[TypedMemory]:
        body = {"brain_id": brain_id, **encode_typed_memory_filter(query)}
        return await self._records("find_typed_memories", TypedMemory, body)

    async def _get_projects(self, brain_id: str, ids: frozenset[str] | None) -> list[Project]:
        body = {"brain_id": brain_id, "ids": sorted(ids) if ids is not None else None}
        return await self._records("get_projects", Project, body)

    async def _put_alerts(self, brain_id: str, alerts: tuple[Alert, ...]) -> None:
        body = {"brain_id": brain_id, "alerts": [encode_record(a) for a in alerts]}
        await self._post("put_alerts", body, "ok")

    async def _find_alerts(self, brain_id: str, query: AlertFilter) -> list[Alert]:
        body = {"brain_id": brain_id, **encode_alert_filter(query)}
        return await self._records("find_alerts", Alert, body)

    async def _add_recall_event(self, brain_id: str, event: RecallEvent) -> None:
        body = {"brain_id": brain_id, "event": encode_record(event)}
        await self._post("add_recall_event", body, "ok")

    async def _get_recall_events(
        self, brain_id: str, since: datetime | None, limit: int | None
    ) -> list[RecallEvent]:
        body = {"brain_id": brain_id, "since": optional_time(since), "limit": limit}
        return await self._records("get_recall_events", RecallEvent, body)

    async def _get_meta(self, brain_id: str, key: str) -> JSONValue | None:
        return await self._post("get_meta", {"brain_id": brain_id, "key": key}, "value")

    async def _set_meta(self, brain_id: str, key: str, value: JSONValue) -> None:
        await self._post("set_meta", {"brain_id": brain_id, "key": key, "value": value}, "ok")

    async def _meta_keys(self, brain_id: str) -> list[str]:
        keys = await self._post("meta_keys", {"brain_id": brain_id}, "keys")
        if not isinstance(keys, list) or not all(isinstance(key, str) for key in keys):
            raise StorageError(f"the server answered meta_keys with {keys!r}")
        return sorted(keys)

    async def _get_vectors(
        self, brain_id: str, model: str, ids: frozenset[str] | None
    ) -> dict[str, npt.NDArray[np.float32]]:
        body = {"brain_id": brain_id, "model": model, "fiber_ids": sorted(ids) if ids else ids}
        found = _dict(await self._post("get_vectors", body, "vectors"))
        return _decoded(
            "get_vectors", lambda: {str(k): vector_from_text(v) for k, v in found.items()}
        )

    # -- change log, statistics ------------------------------------------------------------

    async def _get_change_seq(self, brain_id: str) -> int:
        return _int(await self._post("get_change_seq", {"brain_id": brain_id}, "seq"))

    async def _get_changes(self, brain_id: str, since: int) -> list[ChangeRecord] | None:
        body = {"brain_id": brain_id, "since": since}
        changes = await self._post("get_changes", body, "changes")
        if changes is None:
            return None
        return _decoded(
            "get_changes",
            lambda: [decode_change(c, f"changes[{i}]") for i, c in enumerate(_list(changes))],
        )

    async def _get_stats(self, brain_id: str, now: datetime) -> BrainStats:
        body = {"brain_id": brain_id, "now": encode_time(now)}
        stats = await self._post("get_stats", body, "stats")
        return _decoded("get_stats", lambda: decode_record(BrainStats, stats, "stats"))


def resolve_api_key(api_key: str | None) -> str | None:
    """The key to send: ``api_key``, else ``NEURAL_MEMORY_API_KEY`` (the client's edge)."""
    if api_key is None:
        api_key = os.environ.get("NEURAL_MEMORY_API_KEY") or None
    if api_key is not None and (
        not isinstance(api_key, str) or not api_key.strip() or not api_key.isprintable()
    ):
        raise ValidationError("api_key must be a non-empty string without control characters")
    return api_key.strip() if api_key is not None else None


def _request_headers(api_key: str | None) -> dict[str, str]:
    if api_key is None:
        return dict(_HEADERS)
    return {**_HEADERS, "authorization": f"Bearer {api_key}"}


def _httpx_module() -> ModuleType:
    try:
        return importlib.import_module("httpx")
    except ImportError as exc:
        raise StorageUnavailableError(f"SharedStorage needs httpx: {_INSTALL_HINT}") from exc


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process (loading the CA bundle takes tens of ms)."""
    import certifi  # noqa: PLC0415 - a dependency of httpx, which is optional

    return ssl.create_default_context(cafile=certifi.where())


def _decoded(name: str, decode: Callable[[], _T]) -> _T:
    """Run ``decode``; a malformed answer is a StorageError, not the caller's fault."""
    try:
        return decode()
    except ValidationError as exc:  # SnapshotFormatError included
        raise StorageError(f"the server sent an invalid {name} answer: {exc}") from None


def _ids(brain_id: str, ids: frozenset[str]) -> dict[str, Any]:
    return {"brain_id": brain_id, "ids": sorted(ids)}


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise SnapshotFormatError("expected a list")
    return value


def _dict(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SnapshotFormatError("expected an object")
    return value


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise StorageError(f"the server sent {value!r} where an integer was expected")
    return value


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise StorageError(f"the server sent {value!r} where true/false was expected")
    return value


def _retry_delay(response: httpx.Response) -> float | None:
    """Seconds to wait before sending a rate-limited request again (None: not rate-limited)."""
    if response.status_code != 429:
        return None
    try:
        delay = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return delay if 0 <= delay < float("inf") else None
