"""Key management (admin key only): create scoped keys, list them, revoke them; and ``/health``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast

from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from neural_memory.errors import NotFoundError
from neural_memory.server.access import AdminKey
from neural_memory.server.engine_models import ErrorResponse
from neural_memory.server.keys import Access, ApiKey, KeyStore
from neural_memory.sharing.limits import MAX_ID_LENGTH

__all__ = [
    "KEY_ERROR_RESPONSES",
    "KeyCreateRequest",
    "KeyCreatedResponse",
    "KeyListResponse",
    "KeyModel",
    "KeyRevokedResponse",
    "ServerHealth",
    "health_router",
    "router",
]

KEY_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse, "description": text}
    for code, text in (
        (401, "No API key, or an unknown or revoked one (AccessDeniedError)"),
        (403, "Not the admin key (AccessDeniedError)"),
        (413, "Request body too large (RequestTooLarge)"),
        (421, "Host header not accepted (MisdirectedRequest)"),
        (422, "Invalid input (ValidationError)"),
        (429, "Too many requests for this key; see Retry-After (RateLimited)"),
    )
}
"""Error answers of the key routes, for the OpenAPI document."""

BrainIdText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_ID_LENGTH, pattern=r"^[^\x00-\x1f\x7f]+$")
]


class KeyCreateRequest(BaseModel):
    """A scoped key: the brains it covers and what it may do with them."""

    model_config = ConfigDict(extra="forbid")

    brains: list[BrainIdText] = Field(min_length=1, max_length=10_000)
    access: Literal["read", "write", "admin"] = Field(
        description="read: recall and look; write: also store; admin: also delete the brain."
    )


class KeyModel(BaseModel):
    """One scoped key (never its secret)."""

    id: str
    brains: list[str]
    access: Access
    created_at: datetime | None


class KeyCreatedResponse(KeyModel):
    """The new key; ``key`` is the secret, shown this once."""

    key: str


class KeyListResponse(BaseModel):
    """Every scoped key, oldest first."""

    keys: list[KeyModel]


class KeyRevokedResponse(BaseModel):
    """The key was revoked."""

    revoked: bool


class ServerHealth(BaseModel):
    """The server is up (nothing else is revealed)."""

    ok: bool


router = APIRouter(tags=["keys"], responses=KEY_ERROR_RESPONSES)
health_router = APIRouter(tags=["health"])


def _store(request: Request) -> KeyStore:
    return cast(KeyStore, request.app.state.key_store)


def _model(key: ApiKey) -> KeyModel:
    return KeyModel(
        id=key.id, brains=sorted(key.brains or ()), access=key.access, created_at=key.created_at
    )


@router.post("/keys", status_code=201, response_model=KeyCreatedResponse)
async def create_key(body: KeyCreateRequest, request: Request, _: AdminKey) -> KeyCreatedResponse:
    """Create a key scoped to some brains (the secret is in this answer only)."""
    key, secret = _store(request).create(body.brains, Access(body.access))
    return KeyCreatedResponse(**_model(key).model_dump(), key=secret)


@router.get("/keys", response_model=KeyListResponse)
async def list_keys(request: Request, _: AdminKey) -> KeyListResponse:
    """Every scoped key (ids and scopes, no secrets)."""
    return KeyListResponse(keys=[_model(k) for k in _store(request).list()])


@router.delete(
    "/keys/{key_id}",
    response_model=KeyRevokedResponse,
    responses={404: {"model": ErrorResponse, "description": "Unknown key id (NotFoundError)"}},
)
async def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)],
    request: Request,
    _: AdminKey,
) -> KeyRevokedResponse:
    """Revoke a key: it is refused from the next request on, by every worker."""
    if not _store(request).revoke(key_id):
        raise NotFoundError(f"key {key_id!r} does not exist")
    return KeyRevokedResponse(revoked=True)


@health_router.get(
    "/health", response_model=ServerHealth, responses={421: KEY_ERROR_RESPONSES[421]}
)
async def health() -> ServerHealth:
    """Liveness for load balancers: no key needed, nothing revealed."""
    return ServerHealth(ok=True)
