"""A memory written with its date and speaker inside the text is stored as if they were fields."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from neural_memory import Brain
from neural_memory.engine.encoder import MemoryEncoder, MemoryInput, stable_fiber_id
from neural_memory.engine.header import read_header
from neural_memory.engine.timeparse import leading_moment
from neural_memory.storage import InMemoryStorage

MAY_8 = datetime(2023, 5, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2023-05-08 hi", MAY_8),
        ("2023/05/20 (Sat) 02:21 user", datetime(2023, 5, 20, 2, 21, tzinfo=UTC)),
        ("8 May 2023: x", MAY_8),
        ("May 8, 2023 at 3:15 pm - x", datetime(2023, 5, 8, 15, 15, tzinfo=UTC)),
        ("1:56 pm on 8 May, 2023 Caroline: hi", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("2023-05-08T13:56:00Z x", datetime(2023, 5, 8, 13, 56, tzinfo=UTC)),
        ("Mon, 8 May 2023 10:00", datetime(2023, 5, 8, 10, 0, tzinfo=UTC)),
        ("12:30 am on May 8, 2023", datetime(2023, 5, 8, 0, 30, tzinfo=UTC)),
    ],
)
def test_written_dates_at_the_start_are_read(text: str, moment: datetime) -> None:
    found = leading_moment(text)
    assert found is not None and found[0] == moment


@pytest.mark.parametrize(
    "text", ["yesterday I left", "in May 2023", "2023-13-45 x", "13:00 pm on 8 May 2023", "x"]
)
def test_no_written_moment(text: str) -> None:
    assert leading_moment(text) is None


@pytest.mark.parametrize(
    ("text", "speaker", "moment", "body"),
    [
        ("[2023-05-08 13:56] Caroline: I went", "Caroline", datetime(2023, 5, 8, 13, 56), "I went"),
        ("2023/05/20 (Sat) 02:21 user: hello", "user", datetime(2023, 5, 20, 2, 21), "hello"),
        ("May 8, 2023 - Ann: hi", "Ann", datetime(2023, 5, 8), "hi"),
        (
            "(1:56 pm on 8 May, 2023) Mel Smith: yes",
            "Mel Smith",
            datetime(2023, 5, 8, 13, 56),
            "yes",
        ),
        ("[7 May 2023, 1:56 pm] Caroline: so", "Caroline", datetime(2023, 5, 7, 13, 56), "so"),
        ("[8 May 2023] went hiking", None, datetime(2023, 5, 8), "went hiking"),
        ("2023-05-08: shipped v2", None, datetime(2023, 5, 8), "shipped v2"),
        ("Caroline: hi there", "Caroline", None, "hi there"),
        ("assistant: sure", "assistant", None, "sure"),
        ("Ann-Marie: hi", "Ann-Marie", None, "hi"),
    ],
)
def test_headers_are_read(
    text: str, speaker: str | None, moment: datetime | None, body: str
) -> None:
    header = read_header(text)
    assert header is not None
    assert header.speaker == speaker
    assert header.moment == (moment.replace(tzinfo=UTC) if moment else None)
    assert header.body == body
    assert text.startswith(header.text)


@pytest.mark.parametrize(
    "text",
    [
        "May 8, 2023 was my wedding day",  # the date belongs to the sentence
        "Note: buy milk",  # a label, not a name
        "TODO: fix the login",
        "What: x",
        "I think: yes",
        "http://example.com: a link",
        "Caroline:",  # nothing after the header
        "[note] hi",
        "just text",
    ],
)
def test_no_header(text: str) -> None:
    assert read_header(text) is None


async def test_plain_text_is_stored_like_the_fields() -> None:
    storage = InMemoryStorage()
    await storage.initialize()
    brain = Brain.create("plain")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config)
    when = datetime(2023, 5, 8, 13, 56, tzinfo=UTC)
    plain, fields = await encoder.encode_many(
        [
            MemoryInput(text="[2023-05-08 13:56] Caroline: I went to the support group"),
            MemoryInput(
                text="I went to a pottery class",
                timestamp=when,
                metadata={"speaker": "Caroline"},
            ),
        ]
    )
    assert plain.fiber.content == "I went to the support group"
    assert plain.fiber.occurred_at == when
    assert plain.fiber.metadata["speaker"] == "Caroline"
    assert plain.fiber.metadata["header"] == "[2023-05-08 13:56] Caroline:"
    assert plain.fiber.id == stable_fiber_id("I went to the support group", "Caroline")
    assert set(fields.fiber.pathway) & set(plain.fiber.pathway)  # the speaker and the day
    await storage.close()


async def test_a_header_contradicting_the_fields_stays_in_the_text() -> None:
    storage = InMemoryStorage()
    await storage.initialize()
    brain = Brain.create("plain")
    await storage.save_brain(brain)
    storage.set_brain(brain.id)
    encoder = MemoryEncoder(storage, brain.config)
    text = "[2023-05-08] Caroline: quoted from an old log"
    other_day, other_speaker, agreeing = await encoder.encode_many(
        [
            MemoryInput(text=text, timestamp=datetime(2024, 1, 1, tzinfo=UTC)),
            MemoryInput(text=text, metadata={"speaker": "Mel"}),
            MemoryInput(text=text, timestamp=MAY_8, metadata={"speaker": "caroline"}),
        ]
    )
    assert other_day.fiber.content == text
    assert other_speaker.fiber.content == text
    assert agreeing.fiber.content == "quoted from an old log"
    assert agreeing.fiber.metadata["speaker"] == "caroline"
    await storage.close()
