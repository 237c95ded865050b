"""create_app: the FastAPI app over one injected Storage (engine API + storage RPC API)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from neural_memory import __version__
from neural_memory.errors import NeuralMemoryError, ValidationError
from neural_memory.server import dashboard, engine_routes, storage_routes
from neural_memory.server._state import ServerState
from neural_memory.storage._wire import (
    REQUEST_TOO_LARGE,
    STORAGE_PREFIX,
    error_body,
    error_status,
)
from neural_memory.storage.base import Storage

if TYPE_CHECKING:
    from neural_memory.engine.embeddings import Embedder

__all__ = ["DEFAULT_MAX_REQUEST_BYTES", "create_app"]

DEFAULT_MAX_REQUEST_BYTES = 64 * 1024 * 1024
"""Largest request body accepted (bytes); larger ones get HTTP 413."""

_MAX_ERRORS_SHOWN = 5
_HTTP_ERROR_TYPES = {404: "RouteNotFound", 405: "MethodNotAllowed", 413: REQUEST_TOO_LARGE}
_log = logging.getLogger(__name__)


def create_app(
    storage: Storage,
    *,
    embedder: Embedder | None = None,
    max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
) -> FastAPI:
    """The HTTP server over ``storage`` (which the caller owns and closes).

    Routes: the engine API for agents under ``/brains`` (create brains, store and recall
    memories, consolidate, decay, health alerts) and the storage RPC API under
    ``/v1/storage`` (every backend primitive, used by SharedStorage). Errors answer
    ``{"error": type, "message": text}`` with 404 (not found), 409 (already exists),
    413 (too large), 422 (invalid input), 503 (storage unavailable) or 500.

    Args:
        storage: Any backend; opened on startup (or on first use), never closed here.
        embedder: Optional; memories stored and queries recalled through the engine API
            use it for semantic similarity.
        max_request_bytes: Largest request body accepted.
    """
    if isinstance(max_request_bytes, bool) or not isinstance(max_request_bytes, int):
        raise ValidationError("max_request_bytes must be an integer")
    if max_request_bytes < 1:
        raise ValidationError("max_request_bytes must be positive")
    state = ServerState(storage, embedder)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await state.opened()
        try:
            yield
        finally:
            await state.close_views()

    app = FastAPI(
        title="NeuralMemory",
        version=__version__,
        description="Long-term memory for AI agents: engine API and storage RPC API.",
        lifespan=lifespan,
    )
    app.state.neural_memory = state
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes)
    app.add_exception_handler(NeuralMemoryError, _neural_memory_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
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
    return _error(status, error_type, str(exc) or error_type)


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = [
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}"
        for error in exc.errors()
    ]
    message = "; ".join(problems[:_MAX_ERRORS_SHOWN])
    if len(problems) > _MAX_ERRORS_SHOWN:
        message += f"; and {len(problems) - _MAX_ERRORS_SHOWN} more"
    return _error(422, "ValidationError", message or "invalid request")


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    error_type = _HTTP_ERROR_TYPES.get(exc.status_code, "HTTPError")
    return _error(exc.status_code, error_type, str(exc.detail))


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this answer, so the server logs its traceback.
    return _error(500, "InternalError", "internal server error")


# -- request size --------------------------------------------------------------------------


class RequestTooLarge(HTTPException):
    """The request body is larger than the server accepts (HTTP 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


class BodyLimit:
    """ASGI middleware refusing request bodies above ``max_bytes`` with HTTP 413.

    A declared Content-Length above the limit is refused before the body is read; a body
    streamed without one is counted as it arrives, and reading stops at the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            response = _error(413, REQUEST_TOO_LARGE, RequestTooLarge(self.max_bytes).detail)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise RequestTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited, send)
