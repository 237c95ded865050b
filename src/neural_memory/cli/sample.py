"""The demo's built-in conversation and sample questions (pure data)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["SAMPLE_QUESTIONS", "Turn", "sample_conversation"]


@dataclass(frozen=True, slots=True)
class Turn:
    """One remembered line of the sample conversation."""

    speaker: str
    text: str
    at: datetime


_SESSIONS: tuple[tuple[datetime, tuple[tuple[str, str], ...]], ...] = (
    (
        datetime(2025, 3, 14, 9, 30, tzinfo=UTC),
        (
            ("Alice", "Carol leads the mobile team now that Priya moved to the platform group."),
            ("Ben", "Good choice, Carol ran the Android rewrite last year and knows the code."),
            ("Alice", "We are launching the new checkout flow in June, the deadline is June 20."),
            ("Ben", "I booked flights to Lisbon for the team offsite on April 10."),
            (
                "Alice",
                "My sister Emma is visiting from Toronto next week, so I will work remotely.",
            ),
            ("Ben", "The staging database migration failed because the disk was full."),
        ),
    ),
    (
        datetime(2025, 6, 5, 16, 0, tzinfo=UTC),
        (
            ("Ben", "Dan joined the mobile team in May, he came over from the payments team."),
            (
                "Alice",
                "Dan fixed the login crash on iOS yesterday, users were stuck on the splash.",
            ),
            ("Ben", "The login crash happened because the token refresh ran on the main thread."),
            (
                "Alice",
                "We moved the checkout launch to July because the payment provider was late.",
            ),
            ("Ben", "I adopted a dog named Biscuit last weekend, he is a very loud beagle."),
            ("Alice", "Let's have lunch at the Thai place on Friday to celebrate the fix."),
        ),
    ),
    (
        datetime(2025, 9, 12, 11, 15, tzinfo=UTC),
        (
            ("Alice", "The checkout flow finally launched on July 15 and conversion went up 8%."),
            ("Ben", "Carol wants to hire two more engineers for the mobile team this quarter."),
            ("Alice", "The offsite in Lisbon was great, we decided to switch to weekly releases."),
            ("Ben", "Biscuit chewed my headphones, so I ordered new ones from a shop in Berlin."),
            ("Alice", "Emma got a job in Vancouver and is moving there in October."),
            ("Ben", "Dan will present the crash reporting dashboard at the all-hands on Thursday."),
        ),
    ),
)

SAMPLE_QUESTIONS: tuple[str, ...] = (
    "Who leads the team of the person who fixed the login crash?",
    "Why did the login crash happen?",
    "When did the checkout flow launch?",
)
"""Answered by ``neural-memory demo`` when it is given no question and stdin is not a terminal."""


def sample_conversation() -> list[Turn]:
    """Three dated sessions between Alice and Ben, two minutes between turns, oldest first."""
    return [
        Turn(speaker, text, start + timedelta(minutes=2 * i))
        for start, lines in _SESSIONS
        for i, (speaker, text) in enumerate(lines)
    ]
