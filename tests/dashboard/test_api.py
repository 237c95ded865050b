"""The dashboard's HTTP side over a real server: pages, assets and the JSON endpoints."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from neural_memory.server.dashboard import ASSETS, CONTENT_SECURITY_POLICY
from tests.dashboard.conftest import API_KEY, Dashboard


@pytest.fixture
def client(dashboard: Dashboard) -> Iterator[httpx.Client]:
    """A client sending the key, as the pages do."""
    headers = {"Authorization": f"Bearer {API_KEY}"}
    with httpx.Client(headers=headers, timeout=30) as http:
        yield http


def test_the_page_is_served_with_a_strict_content_security_policy(
    client: httpx.Client, dashboard: Dashboard
) -> None:
    moved = client.get(f"{dashboard.url}/dashboard")
    assert moved.status_code == 307
    assert moved.headers["location"].endswith("/dashboard/")
    page = client.get(dashboard.page_url)
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "connect-src 'self'" in CONTENT_SECURITY_POLICY


def test_every_asset_the_pages_import_is_packaged_and_served(
    client: httpx.Client, dashboard: Dashboard
) -> None:
    html = (ASSETS / "index.html").read_text()
    wanted = set(re.findall(r'(?:src|href)="assets/([^"]+)"', html))
    for script in (ASSETS / "js").glob("*.js"):
        wanted |= {f"js/{name}" for name in re.findall(r'from "\./([^"]+)"', script.read_text())}
    assert {"app.css", "js/app.js", "js/graphview.js"} <= wanted
    for name in sorted(wanted):
        answer = client.get(f"{dashboard.page_url}assets/{name}")
        assert answer.status_code == 200, name
    assert (
        "javascript" in client.get(f"{dashboard.page_url}assets/js/app.js").headers["content-type"]
    )


def test_no_file_outside_the_assets_is_served(client: httpx.Client, dashboard: Dashboard) -> None:
    for name in ("%2e%2e/dashboard.py", "..%2fapp.py", "missing.js"):
        assert client.get(f"{dashboard.page_url}assets/{name}").status_code == 404


def test_overview_counts_and_aggregates(client: httpx.Client, dashboard: Dashboard) -> None:
    counts = client.get(dashboard.api("/overview")).json()
    assert counts["fiber_count"] == 15
    assert counts["name"] == "team"
    aggregates = client.get(dashboard.api("/overview/aggregates")).json()
    assert aggregates["growth"][-1]["total"] == 15
    assert aggregates["stages"] == {"episodic": 15}
    assert aggregates["status"] == {"current": 14, "superseded": 1}
    assert aggregates["memory_types"] == {"decision": 1, "preference": 1, "fact": 1}


def test_aggregates_follow_new_and_forgotten_memories(
    client: httpx.Client, dashboard: Dashboard
) -> None:
    client.get(dashboard.api("/overview/aggregates"))  # warm the digests
    stored = client.post(
        f"{dashboard.url}/brains/{dashboard.brain.brain_id}/memories",
        json={"text": "Nadia adopted a cat named Pixel"},
    )
    assert stored.status_code == 201
    client.delete(dashboard.api(f"/memories/{dashboard.brain.carol}")).raise_for_status()
    aggregates = client.get(dashboard.api("/overview/aggregates")).json()
    assert aggregates["growth"][-1]["total"] == 15
    first = client.get(dashboard.api("/timeline"), params={"limit": 1}).json()["items"][0]
    assert first["fiber_id"] == stored.json()["fiber_id"]


def test_timeline_pages_cover_every_memory_newest_first(
    client: httpx.Client, dashboard: Dashboard
) -> None:
    seen: list[dict[str, Any]] = []
    before = None
    while True:
        params: dict[str, Any] = {"limit": 4}
        if before is not None:
            params["before"] = before
        page = client.get(dashboard.api("/timeline"), params=params).json()
        seen += page["items"]
        before = page["next_before"]
        if before is None:
            break
    assert len(seen) == len({i["fiber_id"] for i in seen}) == 15
    dates = [i["occurred_at"] for i in seen]
    assert dates == sorted(dates, reverse=True)
    old = next(i for i in seen if i["fiber_id"] == dashboard.brain.old_wifi)
    assert old["superseded_by"] == dashboard.brain.new_wifi
    bad = client.get(dashboard.api("/timeline"), params={"before": "yesterday"})
    assert bad.status_code == 422


def test_memory_detail_has_chain_and_retention(client: httpx.Client, dashboard: Dashboard) -> None:
    detail = client.get(dashboard.api(f"/memories/{dashboard.brain.old_wifi}")).json()
    assert [c["fiber_id"] for c in detail["chain"]] == [
        dashboard.brain.old_wifi,
        dashboard.brain.new_wifi,
    ]
    carol = client.get(dashboard.api(f"/memories/{dashboard.brain.carol}")).json()
    reinforcements = carol["retention"]["reinforcements"]
    assert {r["query"] for r in reinforcements} >= {"Who leads the mobile team?"}
    forecast = [p["strength"] for p in carol["retention"]["forecast"]]
    assert forecast == sorted(forecast, reverse=True)
    missing = client.get(dashboard.api("/memories/f-nope"))
    assert missing.status_code == 404
    assert missing.json()["error"] == "NotFoundError"


def test_graph_around_a_memory_a_neuron_and_a_query(
    client: httpx.Client, dashboard: Dashboard
) -> None:
    around = client.get(dashboard.api("/graph"), params={"fiber": dashboard.brain.carol}).json()
    assert dashboard.brain.carol in {f["id"] for f in around["fibers"]}
    assert around["seeds"] and around["edges"]
    names = {n["id"]: n["label"] for n in around["nodes"]}
    neuron = next(i for i, label in names.items() if label.lower() == "carol")
    by_neuron = client.get(dashboard.api("/graph"), params={"neuron": neuron, "hops": 1}).json()
    assert by_neuron["seeds"] == [neuron]
    by_query = client.get(dashboard.api("/graph"), params={"query": "login crash"}).json()
    assert any("login crash" in f["label"] for f in by_query["fibers"])


def test_graph_respects_the_element_limit_and_type_filter(
    client: httpx.Client, dashboard: Dashboard
) -> None:
    params: dict[str, Any] = {"fiber": dashboard.brain.carol, "hops": 4, "limit": 10}
    small = client.get(dashboard.api("/graph"), params=params).json()
    assert small["truncated"]
    assert len(small["nodes"]) + len(small["edges"]) + len(small["fibers"]) == 10
    entities = client.get(
        dashboard.api("/graph"), params={"fiber": dashboard.brain.carol, "types": "entity"}
    ).json()
    assert {n["type"] for n in entities["nodes"]} == {"entity"}
    both = client.get(dashboard.api("/graph"), params={"fiber": "x", "neuron": "y"})
    assert both.status_code == 422


def test_edit_tag_and_forget(client: httpx.Client, dashboard: Dashboard) -> None:
    carol = dashboard.brain.carol
    edited = client.post(dashboard.api(f"/memories/{carol}/edit"), json={"text": "Carol left"})
    new_id = edited.json()["fiber_id"]
    assert new_id != carol
    old = client.get(dashboard.api(f"/memories/{carol}")).json()
    assert [c["fiber_id"] for c in old["chain"]] == [carol, new_id]
    tagged = client.put(dashboard.api(f"/memories/{new_id}/tags"), json={"tags": ["hr", "team"]})
    assert tagged.json()["tags"] == ["hr", "team"]
    assert client.delete(dashboard.api(f"/memories/{new_id}")).json() == {"deleted": True}
    assert client.delete(dashboard.api(f"/memories/{new_id}")).status_code == 404
    bad = client.put(dashboard.api(f"/memories/{carol}/tags"), json={"tags": "hr"})
    assert bad.status_code == 422


def test_resolve_an_alert(client: httpx.Client, dashboard: Dashboard) -> None:
    alert = dashboard.brain.alert_ids[0]
    resolved = client.post(dashboard.api(f"/alerts/{alert}/resolve"))
    assert resolved.json() == {"resolved": True}
    listed = client.get(
        f"{dashboard.url}/brains/{dashboard.brain.brain_id}/alerts", params={"status": "resolved"}
    ).json()["alerts"]
    assert [a["id"] for a in listed] == [alert]
    assert client.post(dashboard.api("/alerts/a-nope/resolve")).status_code == 404


def test_an_unknown_brain_is_404(client: httpx.Client, dashboard: Dashboard) -> None:
    answer = client.get(f"{dashboard.url}/dashboard/api/brains/nope/overview")
    assert answer.status_code == 404
    assert answer.json()["error"] == "BrainNotFoundError"
