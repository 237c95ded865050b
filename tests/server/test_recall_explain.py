"""The HTTP recall route explains itself when asked (``explain``: each fiber's ``why``)."""

from __future__ import annotations

import httpx


async def test_recall_explains_when_asked(http: httpx.AsyncClient) -> None:
    created = await http.post("/brains", json={"name": "pets"})
    brain_id = created.json()["id"]
    for text in ("Priya adopted a greyhound called Comet", "Comet sleeps on the blue sofa"):
        stored = await http.post(f"/brains/{brain_id}/memories", json={"text": text})
        assert stored.status_code == 201, stored.text
    query = {"query": "Which dog did Priya adopt?"}
    plain = (await http.post(f"/brains/{brain_id}/recall", json=query)).json()
    explained = await http.post(f"/brains/{brain_id}/recall", json={**query, "explain": True})
    assert explained.status_code == 200, explained.text
    assert all(f["why"] is None for f in plain["fibers"])
    whys = {f["content"]: f["why"] for f in explained.json()["fibers"]}
    assert "Priya" in whys["Priya adopted a greyhound called Comet"]["anchors"]
    path = whys["Comet sleeps on the blue sofa"]["path"]
    assert [(s["label"], s["via"]) for s in path] == [("Priya", "anchor"), ("Comet", "synapse")]
