"""A real uvicorn server on a free loopback port, in a background thread, for the HTTP tests.

One server runs per test session (:data:`SESSION_HTTP`, started on first use, stopped by
``pytest_sessionfinish`` in ``tests/conftest.py``). It hosts many independent apps:
:meth:`HttpServer.mount` serves ``create_app(storage)`` under a fresh path prefix
(``http://127.0.0.1:<port>/t/<key>``), so every test gets its own storage while the session
pays for one server. Every app accepts :data:`ADMIN_KEY` as its admin key (pass
``config=ServerConfig(...)`` to ``mount`` for other settings). The server runs in this
process, so a monkeypatched module constant (``CHANGE_LOG_LIMIT``) applies on both sides of
the wire. Without the ``server`` extra the tests using it are skipped (or fail when ``CI``
is set).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest

from neural_memory.storage import Storage

__all__ = ["ADMIN_KEY", "SESSION_HTTP", "HttpServer", "SessionHttp", "admin_headers"]

ADMIN_KEY = "test-admin-key-0123456789abcdef"
"""The admin key of every app mounted by :meth:`HttpServer.mount` without its own config."""


def admin_headers() -> dict[str, str]:
    """Request headers carrying :data:`ADMIN_KEY`."""
    return {"authorization": f"Bearer {ADMIN_KEY}"}


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

_START_TIMEOUT = 10.0


class _Dispatcher:
    """ASGI app routing ``/t/<key>/...`` to the app mounted under ``key``."""

    def __init__(self) -> None:
        self.apps: dict[str, App] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        parts = scope["path"].split("/", 3)
        app = self.apps.get(parts[2]) if len(parts) > 2 and parts[1] == "t" else None
        if app is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b"no such app"})
            return
        prefix = f"/t/{parts[2]}"
        await app({**scope, "root_path": scope.get("root_path", "") + prefix}, receive, send)


class HttpServer:
    """uvicorn serving a dispatcher in a daemon thread with its own event loop."""

    def __init__(self) -> None:
        import uvicorn

        self._dispatcher = _Dispatcher()
        config = uvicorn.Config(
            self._dispatcher, host="127.0.0.1", port=0, lifespan="off", log_level="warning"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._idle: list[Any] = []
        self._reusable: dict[str, bool] = {}
        self.port = 0

    def start(self) -> None:
        """Start serving; wait until the socket listens."""
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    @property
    def url(self) -> str:
        """The server's root URL."""
        return f"http://127.0.0.1:{self.port}"

    def mount(self, storage: Storage, **options: Any) -> str:
        """Serve ``create_app(storage, **options)``; return its base URL.

        Without ``config`` the app's admin key is :data:`ADMIN_KEY`. FastAPI prepares an
        app's routes on its first request (~0.1 s), so an unmounted app without options is
        reused: it gets a fresh ServerState over ``storage`` (its scoped keys were revoked
        when it was unmounted), which is everything ``create_app`` keeps per storage.
        """
        from neural_memory.server import create_app
        from neural_memory.server._state import ServerState
        from neural_memory.server.config import ServerConfig

        key = uuid.uuid4().hex[:12]
        if self._idle and not options:
            app = self._idle.pop()
            app.state.neural_memory = ServerState(storage)
        else:
            options.setdefault("config", ServerConfig(admin_key=ADMIN_KEY))
            app = create_app(storage, **options)
        self._dispatcher.apps[key] = app
        self._reusable[key] = not options
        return f"{self.url}/t/{key}"

    def unmount(self, base_url: str) -> None:
        """Stop serving the app mounted at ``base_url``."""
        key = base_url.rsplit("/", 1)[-1]
        app = self._dispatcher.apps.pop(key, None)
        if app is not None and self._reusable.pop(key, False):
            store = app.state.key_store
            for scoped in store.list():
                store.revoke(scoped.id)
            self._idle.append(app)


class SessionHttp:
    """One HttpServer per test session, started on first use."""

    def __init__(self) -> None:
        self._server: HttpServer | None = None

    def get(self) -> HttpServer:
        """The running server (started now if needed); skip or fail without the extra."""
        if self._server is None:
            for module in ("fastapi", "uvicorn", "httpx"):
                try:
                    __import__(module)
                except ImportError:
                    message = f"{module} not installed: pip install 'neural-memory-brain[server]'"
                    if os.environ.get("CI"):
                        pytest.fail(message, pytrace=False)
                    pytest.skip(message)
            server = HttpServer()
            server.start()
            self._server = server
        return self._server

    def stop(self) -> None:
        """Stop the server, if it was started."""
        server, self._server = self._server, None
        if server is not None:
            server.stop()


SESSION_HTTP = SessionHttp()
"""The session's HTTP server (see :class:`SessionHttp`)."""
