"""Fixtures of the dashboard tests: a seeded brain served over real HTTP, real Chromium.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright (never a downloaded
browser). Without either, the browser tests are skipped, or fail when ``CI`` is set.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from neural_memory.storage import InMemoryStorage
from tests.dashboard.brain_data import SeededBrain, seed
from tests.http_server import ADMIN_KEY, SESSION_HTTP, HttpServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
API_KEY = ADMIN_KEY


@dataclass(frozen=True)
class Dashboard:
    """A seeded brain served at ``url`` (the server root; the dashboard is under it)."""

    url: str
    brain: SeededBrain

    @property
    def page_url(self) -> str:
        """The dashboard's page."""
        return f"{self.url}/dashboard/"

    def api(self, path: str) -> str:
        """A dashboard API URL of the seeded brain."""
        return f"{self.url}/dashboard/api/brains/{self.brain.brain_id}{path}"


@pytest.fixture(scope="session")
def http_server() -> HttpServer:
    """The session's uvicorn server (started now, stopped when the session ends)."""
    return SESSION_HTTP.get()


@pytest.fixture
def dashboard(http_server: HttpServer) -> Iterator[Dashboard]:
    """A freshly seeded brain behind its own app."""
    storage = InMemoryStorage()
    brain = seed(storage)
    url = http_server.mount(storage)
    yield Dashboard(url, brain)
    http_server.unmount(url)


def _skip_or_fail(message: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Headless Chromium (the system package) for one test module.

    Not for the session: Playwright's sync API keeps an event loop running on this thread
    while it lives, which the async tests of other modules cannot share.
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _skip_or_fail("playwright not installed: pip install playwright (the dev extra)")
    if not shutil.which(CHROMIUM):
        _skip_or_fail(f"{CHROMIUM} missing: apt-get install chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass
class Requests:
    """Every URL the page requested."""

    urls: list[str] = field(default_factory=list)

    def outside(self, root: str) -> list[str]:
        """Requests to anywhere but the server at ``root``."""
        return [u for u in self.urls if not u.startswith(root + "/")]


@pytest.fixture
def requests() -> Requests:
    """The requests the test's page makes."""
    return Requests()


@pytest.fixture
def page(browser: Any, dashboard: Dashboard, requests: Requests) -> Iterator[Any]:
    """A fresh browser tab, signed in to the dashboard, on the overview."""
    context = browser.new_context(viewport={"width": 1300, "height": 860})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on("request", lambda request: requests.urls.append(request.url))
    tab.goto(dashboard.page_url)
    tab.fill("#api-key", API_KEY)
    tab.click("#signin-button")
    tab.wait_for_selector('#page[data-page="overview"][data-ready="true"]')
    yield tab
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"


def open_page(tab: Any, name: str, argument: str = "") -> None:
    """Show the dashboard page ``name`` and wait until it has rendered its data."""
    script = "hash => { const p = document.getElementById('page'); p.dataset.page = '';"
    script += " p.dataset.ready = 'false'; location.hash = hash; }"
    tab.evaluate(script, f"#/{name}{argument}")
    tab.wait_for_selector(f'#page[data-page="{name}"][data-ready="true"]')


Screenshot = Callable[[Any, str], None]


@pytest.fixture
def screenshot(pytestconfig: pytest.Config) -> Screenshot:
    """``screenshot(page, name)``: with ``--update-screenshots``, save the page as
    docs/screenshots/<name>.png (committed, shown in the README); otherwise do nothing, so a
    test run never changes the checkout."""

    def save(tab: Any, name: str) -> None:
        if pytestconfig.getoption("update_screenshots"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"))

    return save
