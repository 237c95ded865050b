"""Memories stored over HTTP get the same thread links and recall as through the library."""

from __future__ import annotations

from typing import Any

import pytest
from benchmarks.quality.datasets import LocomoConversation, default_data_dir, load_locomo

from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder
from neural_memory.engine.retrieval import ReflexPipeline
from neural_memory.storage import InMemoryStorage
from tests.server.conftest import Served

QUESTIONS = 40


def _conversation() -> LocomoConversation:
    if not (default_data_dir() / "locomo").is_dir():
        pytest.skip("the LoCoMo dev set (../shared/data/locomo) is not beside the repository")
    return load_locomo()[0]


async def _library(conversation: LocomoConversation) -> tuple[dict[str, Any], list[list[str]]]:
    async with InMemoryStorage() as storage:
        brain = Brain.create("library")
        await storage.save_brain(brain)
        storage.set_brain(brain.id)
        encoder = MemoryEncoder(storage, brain.config)
        for turn in conversation.turns:
            await encoder.encode(
                turn.text, timestamp=turn.timestamp, metadata={"speaker": turn.speaker}
            )
        links = {f.id: f.metadata.get("follows") for f in await storage.find_fibers()}
        pipeline = ReflexPipeline(storage, brain.config)
        answers = [
            (
                await pipeline.query(q.question, reference_time=conversation.last_timestamp)
            ).fibers_matched
            for q in conversation.questions[:QUESTIONS]
        ]
        return links, answers


async def test_http_and_library_store_and_recall_a_conversation_alike(
    served: Served, http: Any
) -> None:
    conversation = _conversation()
    library_links, library_answers = await _library(conversation)
    created = await http.post("/brains", json={"name": "over-http"})
    brain_id = created.json()["id"]
    for turn in conversation.turns:
        body = {"text": turn.text, "timestamp": turn.timestamp.isoformat(), "speaker": turn.speaker}
        assert (await http.post(f"/brains/{brain_id}/memories", json=body)).status_code == 201
    served.storage.set_brain(brain_id)
    http_links = {f.id: f.metadata.get("follows") for f in await served.storage.find_fibers()}
    assert http_links == library_links
    assert sum(1 for link in http_links.values() if link) > len(http_links) // 2
    for question, expected in zip(conversation.questions, library_answers, strict=False):
        body = {
            "query": question.question,
            "reference_time": conversation.last_timestamp.isoformat(),
            "max_fibers": 10,
        }
        answer = (await http.post(f"/brains/{brain_id}/recall", json=body)).json()
        assert [f["fiber_id"] for f in answer["fibers"]] == expected, question.question
