"""The dashboard in real headless Chromium: sign-in, every page with data, edits, no leaks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.dashboard.brain_data import MULTI_HOP_QUESTION, PATH_QUESTION
from tests.dashboard.conftest import API_KEY, Dashboard, Requests, Screenshot, open_page

pytestmark = pytest.mark.browser


def test_sign_in_keeps_the_key_in_the_session_only(page: Any, dashboard: Dashboard) -> None:
    assert page.evaluate("sessionStorage.getItem('neuralMemory.apiKey')") == API_KEY
    assert API_KEY not in page.url
    assert page.is_visible("#app") and not page.is_visible("#signin")
    page.click("#signout")
    assert page.is_visible("#signin")
    assert page.evaluate("sessionStorage.getItem('neuralMemory.apiKey')") is None


def test_every_api_call_carries_the_key_as_a_bearer_token(page: Any) -> None:
    with page.expect_request(lambda r: "/dashboard/api/" in r.url) as caught:
        open_page(page, "timeline")
    assert caught.value.headers["authorization"] == f"Bearer {API_KEY}"


def test_overview_shows_counts_and_aggregates(page: Any, screenshot: Screenshot) -> None:
    assert page.inner_text('[data-stat="fiber_count"] .value') == "15"
    page.wait_for_selector('[data-chart="growth"] rect')
    assert page.locator('[data-chart="stages"] rect').count() >= 1
    assert "decision" in page.inner_text('[data-chart="types"]')
    screenshot(page, "overview")


def test_recall_explorer_shows_context_and_signals(page: Any, screenshot: Screenshot) -> None:
    open_page(page, "recall")
    page.fill('input[name="question"]', MULTI_HOP_QUESTION)
    page.click('#page form button[type="submit"]')
    page.wait_for_selector('#page[data-ready="true"] [data-role="context"]')
    assert "Carol leads the mobile team" in page.inner_text('[data-role="context"]')
    assert page.locator("tr[data-fiber]").count() >= 2
    screenshot(page, "recall")


def test_recall_explorer_draws_the_path_of_a_multi_hop_answer(
    page: Any, dashboard: Dashboard, screenshot: Screenshot
) -> None:
    probe = httpx.post(
        f"{dashboard.url}/brains/{dashboard.brain.brain_id}/recall",
        json={"query": PATH_QUESTION, "explain": True},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=30,
    )
    if probe.status_code == 422 or not any(f.get("why") for f in probe.json()["fibers"]):
        pytest.skip("the server's recall does not explain itself yet (no `explain` / `why`)")
    open_page(page, "recall")
    page.fill('input[name="question"]', PATH_QUESTION)
    page.click('#page form button[type="submit"]')
    page.wait_for_selector('#page[data-ready="true"] [data-role="context"]')
    page.click(f'tr[data-fiber="{dashboard.brain.carol}"]')
    canvas = page.locator('canvas[data-role="why-graph"]')
    page.wait_for_selector('canvas[data-role="why-graph"][data-path-length="3"]')
    assert int(canvas.get_attribute("data-nodes") or 0) == 4  # three steps, then the memory
    assert "in 3 hop(s)" in page.inner_text('[data-role="why-caption"]')
    screenshot(page, "recall-why")


def test_graph_explorer_draws_the_neighbourhood_of_a_memory(
    page: Any, dashboard: Dashboard, screenshot: Screenshot
) -> None:
    open_page(page, "graph", f"/fiber/{dashboard.brain.carol}")
    canvas = page.locator('canvas[data-role="graph"]')
    assert int(canvas.get_attribute("data-nodes") or 0) > 5
    page.wait_for_selector('canvas[data-role="graph"][data-settled="true"]')
    screenshot(page, "graph")


def test_timeline_marks_superseded_memories_and_shows_the_chain(
    page: Any, dashboard: Dashboard, screenshot: Screenshot
) -> None:
    open_page(page, "timeline")
    old = page.locator(f'.item[data-fiber="{dashboard.brain.old_wifi}"]')
    assert "superseded" in (old.get_attribute("class") or "")
    screenshot(page, "timeline")
    old.click()
    page.wait_for_selector('#detail[data-ready="true"]')
    chain = page.locator("#detail .chain li")
    assert chain.count() == 2
    assert "orchid-77" in chain.nth(1).inner_text()


def test_retention_shows_the_curve_and_what_reinforced_it(
    page: Any, dashboard: Dashboard, screenshot: Screenshot
) -> None:
    open_page(page, "retention", f"/{dashboard.brain.carol}")
    page.wait_for_selector('[data-chart="retention"] polyline.forecast')
    assert MULTI_HOP_QUESTION in page.inner_text("#page")
    screenshot(page, "retention")


def test_health_alerts_can_be_acknowledged_and_resolved(
    page: Any, dashboard: Dashboard, screenshot: Screenshot
) -> None:
    open_page(page, "health")
    first, second = dashboard.brain.alert_ids
    screenshot(page, "health")
    page.click(f'tr[data-alert="{first}"] [data-action="acknowledge"]')
    page.wait_for_selector(f'tr[data-alert="{first}"][data-status="acknowledged"]')
    page.click(f'tr[data-alert="{second}"] [data-action="resolve"]')
    page.wait_for_selector(f'tr[data-alert="{second}"][data-status="resolved"]')


def test_editing_a_memory_supersedes_it(
    page: Any, dashboard: Dashboard, screenshot: Screenshot
) -> None:
    open_page(page, "timeline")
    page.click(f'.item[data-fiber="{dashboard.brain.carol}"]')
    page.wait_for_selector('#detail[data-ready="true"]')
    page.fill('#detail textarea[name="text"]', "Carol leads the mobile and web teams")
    page.click('#detail [data-action="edit"]')
    page.wait_for_selector('#detail[data-ready="true"] .chain li:nth-child(2)')
    assert "mobile and web" in page.inner_text('#detail [data-role="content"]')
    screenshot(page, "memory")
    answer = _recall(dashboard, "Who leads the web team?")
    assert answer["fibers"][0]["content"] == "Carol leads the mobile and web teams"


def test_tagging_and_forgetting_take_effect(page: Any, dashboard: Dashboard) -> None:
    open_page(page, "timeline")
    page.click(f'.item[data-fiber="{dashboard.brain.carol}"]')
    page.wait_for_selector('#detail[data-ready="true"]')
    page.fill('#detail input[name="tags"]', "team, leads")
    page.click('#detail [data-action="tag"]')
    page.wait_for_selector('#detail[data-ready="true"] .badge:has-text("#leads")')
    page.click('#detail [data-action="forget"]')
    page.click('#detail [data-action="forget"]')
    page.wait_for_selector("#detail", state="hidden")
    gone = httpx.get(
        dashboard.api(f"/memories/{dashboard.brain.carol}"), headers=_auth(), timeout=30
    )
    assert gone.status_code == 404
    contents = [f["content"] for f in _recall(dashboard, "Who leads the mobile team?")["fibers"]]
    assert "Carol leads the mobile team" not in contents


def test_a_read_key_cannot_edit(browser: Any, dashboard: Dashboard) -> None:
    created = httpx.post(
        f"{dashboard.url}/keys",
        json={"brains": [dashboard.brain.brain_id], "access": "read"},
        headers=_auth(),
        timeout=30,
    )
    if created.status_code in (404, 405):
        pytest.skip("the server has no API keys yet (POST /keys is not a route)")
    read_key = created.json()["key"]
    context = browser.new_context()
    tab = context.new_page()
    tab.goto(dashboard.page_url)
    tab.fill("#api-key", read_key)
    tab.click("#signin-button")
    tab.wait_for_selector('#page[data-page="overview"][data-ready="true"]')  # signed in
    open_page(tab, "timeline")
    tab.click(f'.item[data-fiber="{dashboard.brain.carol}"]')
    tab.wait_for_selector('#detail[data-ready="true"]')
    tab.click('#detail [data-action="edit"]')
    tab.wait_for_selector('[data-role="detail-status"][data-failed="true"]')
    context.close()
    still = httpx.get(
        dashboard.api(f"/memories/{dashboard.brain.carol}"), headers=_auth(), timeout=30
    )
    assert still.json()["chain"][-1]["fiber_id"] == dashboard.brain.carol


def test_pages_load_nothing_from_outside_the_server(
    page: Any, dashboard: Dashboard, requests: Requests
) -> None:
    for name in ("recall", "graph", "timeline", "retention", "health", "overview"):
        open_page(page, name)
    assert len(requests.urls) > 10
    assert requests.outside(dashboard.url) == []


def test_a_wrong_key_is_refused_when_the_server_checks_keys(
    browser: Any, dashboard: Dashboard
) -> None:
    anonymous = httpx.get(f"{dashboard.url}/brains", timeout=30)
    if anonymous.status_code == 200:
        pytest.skip("the server does not check API keys yet")
    tab = browser.new_page()
    tab.goto(dashboard.page_url)
    tab.fill("#api-key", "not-a-key")
    tab.click("#signin-button")
    tab.wait_for_selector("#signin-error:has-text('not valid')")
    tab.close()


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {API_KEY}"}


def _recall(dashboard: Dashboard, question: str) -> dict[str, Any]:
    url = f"{dashboard.url}/brains/{dashboard.brain.brain_id}/recall"
    answer = httpx.post(url, json={"query": question}, headers=_auth(), timeout=30)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result
