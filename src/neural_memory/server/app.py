"""create_app: the FastAPI app over one injected Storage (engine API + storage RPC API)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.routing import Match

from neural_memory import __version__
from neural_memory.engine._default_embedder import (
    DEFAULT_EMBEDDER,
    EmbedderChoice,
    resolve_embedder,
)
from neural_memory.errors import AccessDeniedError, NeuralMemoryError, ValidationError
from neural_memory.server import dashboard, engine_routes, key_routes, storage_routes
from neural_memory.server._state import ServerState
from neural_memory.server.access import HeavyGate
from neural_memory.server.config import ServerConfig
from neural_memory.server.docs import add_offline_docs
from neural_memory.server.guard import Guard, HostCheck
from neural_memory.server.keys import KeyStore
from neural_memory.storage._wire import (
    REQUEST_TOO_LARGE,
    STORAGE_PREFIX,
    error_body,
    error_status,
)
from neural_memory.storage.base import Storage

__all__ = ["create_app"]

_MAX_ERRORS_SHOWN = 5
_HTTP_ERROR_TYPES = {
    404: "RouteNotFound",
    405: "MethodNotAllowed",
    413: REQUEST_TOO_LARGE,
    503: "ServerBusy",
}
_SIZE_ERRORS = frozenset({"string_too_long", "too_long"})
"""Pydantic error types of a value longer than its documented limit (answered 413)."""
_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
_log = logging.getLogger(__name__)


def create_app(
    storage: Storage,
    *,
    config: ServerConfig,
    embedder: EmbedderChoice = DEFAULT_EMBEDDER,
    owns_storage: bool = False,
) -> FastAPI:
    """The HTTP server over ``storage``, open only to the keys ``config`` knows.

    Routes: the engine API for agents under ``/brains`` (create brains, store and recall
    memories, consolidate, decay, health alerts), the storage RPC API under
    ``/v1/storage`` (every backend primitive, used by SharedStorage), key management under
    ``/keys`` and an anonymous ``/health``. Every other route needs an API key
    (``Authorization: Bearer KEY`` or ``X-API-Key: KEY``). Errors answer
    ``{"error": type, "message": text}`` with 401 (no valid key), 403 (key not allowed),
    404 (not found, or outside the key's brains), 409 (already exists), 413 (too large),
    421 (unknown Host), 422 (invalid input), 429 (rate limited), 503 (storage
    unavailable, or heavy queue full) or 500.

    Args:
        storage: Any backend; opened on startup (or on first use).
        config: The admin key, key store, accepted hosts and origins, limits.
        embedder: The embedding model memories stored and queries recalled through the
            engine API use for semantic similarity. Default: the process's default model
            when the ``embeddings`` extra is installed (it loads on the first use, off the
            event loop); None: lexical and graph recall only.
        owns_storage: Close ``storage`` (and the key store) when the app shuts down.
    """
    if not isinstance(config, ServerConfig):
        raise ValidationError(f"config must be a ServerConfig, got {type(config).__name__}")
    state = ServerState(storage, resolve_embedder(embedder))
    keys = KeyStore(config.key_store)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.opened()
        try:
            yield
        finally:
            await state.close_views()
            if owns_storage:
                await storage.close()
                keys.close()

    app = FastAPI(
        title="NeuralMemory",
        version=__version__,
        description="Long-term memory for AI agents: engine API and storage RPC API.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    add_offline_docs(app)
    app.state.neural_memory = state
    app.state.key_store = keys
    app.state.heavy_gate = HeavyGate(config.heavy_concurrency, config.heavy_queue)
    app.add_middleware(Guard, config=config, keys=keys)
    if config.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(config.cors_origins),
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(HostCheck, hosts=config.hosts)
    app.add_exception_handler(NeuralMemoryError, _neural_memory_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    app.include_router(key_routes.health_router)
    app.include_router(key_routes.router)
    app.include_router(engine_routes.router)
    app.include_router(storage_routes.router, prefix=STORAGE_PREFIX)
    app.include_router(dashboard.router)
    return app


# -- errors --------------------------------------------------------------------------------


def _error(status: int, error_type: str, message: str) -> JSONResponse:
    return JSONResponse(error_body(error_type, message), status_code=status)


async def _neural_memory_error(request: Request, exc: NeuralMemoryError) -> JSONResponse:
    status, error_type = error_status(exc)
    if status >= 500:
        _log.warning("%s %s failed: %s: %s", request.method, request.url.path, error_type, exc)
    if isinstance(exc, AccessDeniedError) and request.scope.get("state", {}).get("api_key") is None:
        status = 401  # no key reached the route (the Guard normally answers this itself)
    return _error(status, error_type, str(exc) or error_type)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 for invalid input; 413 (LimitExceededError) when only size limits were passed."""
    errors = exc.errors()
    problems = [
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in errors
    ]
    message = "; ".join(problems[:_MAX_ERRORS_SHOWN])
    if len(problems) > _MAX_ERRORS_SHOWN:
        message += f"; and {len(problems) - _MAX_ERRORS_SHOWN} more"
    if errors and all(error.get("type") in _SIZE_ERRORS for error in errors):
        return _error(413, "LimitExceededError", message)
    return _error(422, "ValidationError", message or "invalid request")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    if exc.status_code == 400:  # FastAPI could not parse the body (bad JSON or UTF-8)
        return _error(422, "ValidationError", f"request body: {exc.detail}")
    error_type = _HTTP_ERROR_TYPES.get(exc.status_code, "HTTPError")
    response = _error(exc.status_code, error_type, str(exc.detail))
    response.headers.update(exc.headers or {})  # 503: Retry-After
    if exc.status_code == 405:
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
    return response


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at the request's path.

    Starlette's own ``Allow`` names only the methods of the first route whose path matched.
    """
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL
            for route in request.app.routes
        )
    ]


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this answer, so the server logs its traceback.
    return _error(500, "InternalError", "internal server error")
