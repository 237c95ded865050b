"""A maximum-size memory being stored does not stall the server: health and recall answer."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from neural_memory.core.limits import MAX_TEXT_LENGTH
from tests.server.server_process import running_server

ADMIN = "heavy-admin-key-0123456789abcdef"
ANSWERS_WHILE_STORING = 10
"""Answers that must arrive while the store is in flight. Extracting a maximum-size text takes
seconds, and a health round trip a few milliseconds: on the event loop, none would arrive."""


def _long_text() -> str:
    words = " ".join(f"Alice met Bob on day {i} to discuss billing in Paris" for i in range(30_000))
    return words[:MAX_TEXT_LENGTH]


def test_health_and_other_brains_answer_while_a_maximum_size_memory_is_stored(
    tmp_path: Path,
) -> None:
    headers = {"authorization": f"Bearer {ADMIN}"}
    with (
        running_server(tmp_path / "heavy.db", env={"NEURAL_MEMORY_API_KEY": ADMIN}) as server,
        httpx.Client(base_url=server.url, headers=headers, timeout=600) as http,
    ):
        big, other = (http.post("/brains", json={"name": n}).json()["id"] for n in ("big", "other"))
        fact = {"text": "Carol keeps the spare keys in the blue drawer"}
        assert http.post(f"/brains/{other}/memories", json=fact).status_code == 201
        stored: list[httpx.Response] = []

        def store() -> None:
            with httpx.Client(base_url=server.url, headers=headers, timeout=600) as writer:
                stored.append(writer.post(f"/brains/{big}/memories", json={"text": _long_text()}))

        storing = threading.Thread(target=store)
        storing.start()
        health = recalls = 0
        while storing.is_alive():
            answered = http.get("/health").status_code == 200
            recalled = http.post(f"/brains/{other}/recall", json={"query": "Where are the keys?"})
            if storing.is_alive():  # both answered while the store was still in flight
                health += answered
                recalls += "blue drawer" in recalled.json()["context"]
        storing.join()
        assert stored[0].status_code == 201, stored[0].text
        assert health >= ANSWERS_WHILE_STORING
        assert recalls >= ANSWERS_WHILE_STORING
