"""Synthetic but realistic memories and queries for the speed benchmark (deterministic).

Memories are first-person chat lines about people, places, activities, things and dates over
two years (2023-2024), said by speakers drawn with a Zipf law, so a few speakers, weekdays and
common words become hub neurons while a long tail of names (companies, surnames, pet names,
order numbers) keeps the vocabulary growing with the brain, as real conversations do.
"""

from __future__ import annotations

import random
from bisect import bisect
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate

__all__ = [
    "REFERENCE_TIME",
    "SyntheticMemory",
    "SyntheticQuery",
    "make_memories",
    "make_queries",
    "top_speaker",
]

START = datetime(2023, 1, 1, tzinfo=UTC)
DAYS = 731
REFERENCE_TIME = START + timedelta(days=DAYS)
"""Queries are asked as of the end of the two years ("last week" is inside the data)."""

PEOPLE = """Alice Ben Carol Dan Emma Farid Grace Hiro Isabel Jonas Kenji Leila Marco Nadia Omar
Priya Quinn Rosa Sven Tara Uma Victor Wen Xavier Yara Zoe Aaron Bianca Chloe Diego Elena Felix
Gita Hugo Ines Jamal Kira Luca Maya Nils Olga Pablo Rhea Sami Theo Ulla Vera Will Yusuf Zara
Amir Bea Cyrus Dora Emil Fatima Gus Hana Ivan Jade""".split()
PLACES = [
    p.strip()
    for p in """the office, the gym, the farmers market, the library,
Central Park, the airport, the dentist, grandma's house, the beach, the climbing gym,
the ramen bar, the coffee shop, the hospital, the museum, the lake house, the cinema,
the train station, the garden center, the bakery, the university, the bookstore,
the concert hall, the stadium, the hardware store, the vet, the pool, the hotel,
the mountains, the campsite, the pub, the yoga studio, the animal shelter, the theater,
the zoo, the mall, the post office, the bike shop, the ice rink, the observatory,
the night market""".split(",")
]
CITIES = """Lisbon Berlin Tokyo Paris Madrid Toronto Seoul Nairobi Oslo Dublin Lima Hanoi
Prague Vienna Sydney Austin Denver Chicago Boston Montreal""".split()
ACTIVITIES = [
    a.strip()
    for a in """hiking, running, painting, cooking dinner, playing chess,
reading, swimming, climbing, baking bread, studying for the exam, grocery shopping,
fixing the bike, watching a movie, learning Spanish, practicing guitar, planting tomatoes,
writing the report, debugging the server, walking the dog, playing tennis, kayaking,
doing yoga, knitting, photographing birds, volunteering, camping, skiing, dancing salsa,
brewing beer, building a bookshelf""".split(",")
]
THINGS = [
    t.strip()
    for t in """the quarterly report, the new laptop, the budget spreadsheet,
the wedding gift, the car insurance, the kitchen sink, the login page, the database migration,
the birthday cake, the concert tickets, the rent, the flight booking, the job offer,
the conference talk, the tax return, the washing machine, the passport renewal,
the vacation photos, the team offsite, the product launch, the dentist appointment,
the apartment lease, the marathon training plan, the podcast episode, the garden fence,
the mortgage application, the phone bill, the holiday party, the science fair project,
the search feature""".split(",")
]
STATES = """great late broken expensive finished delayed cancelled exciting stressful
overdue perfect confusing approved rejected lost ready""".split()
TEAMS = """mobile payments platform design data growth security support research
marketing""".split()
RELATIONS = """sister brother cousin aunt uncle friend neighbour colleague mentor""".split()
TOPICS = [
    t.strip()
    for t in """moving abroad, the election, climate change, the new manager,
vacation plans, remote work, the housing market, kids and school, a sci-fi novel,
the football final, learning to code, meditation, a startup idea, retirement savings""".split(",")
]
WHEN = [
    w.strip()
    for w in """yesterday, last week, on Saturday, on Sunday, next Friday,
this morning, two days ago, last month, on Monday evening, tomorrow, next week,
in March, in the summer, over the weekend""".split(",")
]
_SYLLABLES = "ka lo mi ren to va shi qua dor bel nix tra vo sen lu mar pik zo ul fen".split()


@dataclass(frozen=True, slots=True)
class SyntheticMemory:
    """One generated memory."""

    text: str
    speaker: str
    at: datetime


@dataclass(frozen=True, slots=True)
class SyntheticQuery:
    """One generated question; ``hub`` when it names a hub neuron (top speaker, weekday...)."""

    text: str
    hub: bool


class _Zipf:
    """Draw from ``items`` with weight 1/rank**s (rank 1 most frequent)."""

    def __init__(self, items: list[str], s: float) -> None:
        self.items = items
        self.cumulative = list(accumulate(1.0 / (rank**s) for rank in range(1, len(items) + 1)))

    def __call__(self, rng: random.Random) -> str:
        return self.items[bisect(self.cumulative, rng.random() * self.cumulative[-1])]


def _long_tail(rng: random.Random, count: int, capital: bool) -> list[str]:
    names = set()
    while len(names) < count:
        word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 3)))
        names.add(word.capitalize() if capital else word)
    return sorted(names)


@dataclass(slots=True)
class _Vocab:
    people: _Zipf
    speakers: _Zipf
    companies: _Zipf
    pets: _Zipf

    @classmethod
    def build(cls, seed: int) -> _Vocab:
        rng = random.Random(seed ^ 0x5EED)
        return cls(
            people=_Zipf(PEOPLE, 0.9),
            speakers=_Zipf(PEOPLE, 1.2),
            companies=_Zipf(_long_tail(rng, 4000, True), 1.05),
            pets=_Zipf(_long_tail(rng, 2000, True), 1.0),
        )


def _sentence(rng: random.Random, v: _Vocab) -> str:
    p, p2 = v.people(rng), v.people(rng)
    c = rng.choice
    templates = (
        lambda: f"{p} and I went {c(ACTIVITIES)} at {c(PLACES)} {c(WHEN)}.",
        lambda: f"{p} said {c(THINGS)} is {c(STATES)}.",
        lambda: f"I finally finished {c(THINGS)} after {p} helped me.",
        lambda: f"{p} wants to move to {c(CITIES)} because of a job offer at {v.companies(rng)}.",
        lambda: f"We booked the trip to {c(CITIES)} for {c(WHEN)}, {p} is coming too.",
        lambda: f"{p} fixed {c(THINGS)} before the meeting with {p2}.",
        lambda: f"Remind me to call {p} about {c(THINGS)} {c(WHEN)}.",
        lambda: f"{p} recommended {c(PLACES)} for {c(ACTIVITIES)}.",
        lambda: f"{c(THINGS).capitalize()} was {c(STATES)} so {p} was upset.",
        lambda: f"I met {p} at {c(PLACES)} and we talked about {c(TOPICS)}.",
        lambda: f"{p} started {c(ACTIVITIES)} every {c(['Monday', 'Wednesday', 'Sunday'])}.",
        lambda: f"My {c(RELATIONS)} {p} is visiting from {c(CITIES)} {c(WHEN)}.",
        lambda: f"I paid {rng.randint(5, 2000)} dollars for {c(THINGS)} at {c(PLACES)}.",
        lambda: f"{p} leads the {c(TEAMS)} team and {p2} joined it {c(WHEN)}.",
        lambda: f"{p} got a new job at {v.companies(rng)} in {c(CITIES)}.",
        lambda: f"{p} adopted a puppy named {v.pets(rng)} from {c(PLACES)}.",
        lambda: f"Order {rng.randint(10_000, 99_999)} for {c(THINGS)} arrived {c(STATES)}.",
        lambda: f"{p} {c(['loved', 'hated', 'recommended'])} the new {v.companies(rng)} app.",
    )
    return rng.choice(templates)()


def make_memories(count: int, seed: int) -> list[SyntheticMemory]:
    """``count`` memories in time order over two years, said by Zipf-distributed speakers."""
    rng = random.Random(seed)
    vocab = _Vocab.build(seed)
    moments = sorted(
        START + timedelta(days=rng.randrange(DAYS), minutes=rng.randrange(8 * 60, 23 * 60))
        for _ in range(count)
    )
    return [SyntheticMemory(_sentence(rng, vocab), vocab.speakers(rng), at) for at in moments]


def top_speaker() -> str:
    """The most frequent speaker (the biggest hub neuron)."""
    return PEOPLE[0]


def make_queries(count: int, seed: int, hub_share: float = 0.15) -> list[SyntheticQuery]:
    """Questions over the same vocabularies; about ``hub_share`` of them hit hub neurons."""
    rng = random.Random(seed + 1)
    vocab = _Vocab.build(seed)
    c = rng.choice
    hubs = (
        lambda: f"What did {top_speaker()} tell me?",
        lambda: f"What did {top_speaker()} and {PEOPLE[1]} talk about?",
        lambda: "What did I do on Saturday?",
        lambda: "What happened last week?",
        lambda: f"What happened in {c(['March', 'June', 'October'])} 2024?",
        lambda: "What was great?",
    )
    regular = (
        lambda: f"What did {vocab.people(rng)} say about {c(THINGS)}?",
        lambda: f"Where did I go {c(ACTIVITIES)} with {vocab.people(rng)}?",
        lambda: f"Who recommended {c(PLACES)}?",
        lambda: f"When is my {c(RELATIONS)} visiting from {c(CITIES)}?",
        lambda: f"What happened with {c(THINGS)}?",
        lambda: f"Who leads the {c(TEAMS)} team?",
        lambda: f"Why was {vocab.people(rng)} upset?",
        lambda: f"Who got a job at {vocab.companies(rng)}?",
        lambda: f"What is the name of the puppy {vocab.people(rng)} adopted?",
        lambda: f"How much did I pay for {c(THINGS)}?",
        lambda: f"Who wants to move to {c(CITIES)}?",
    )
    out = []
    for _ in range(count):
        hub = rng.random() < hub_share
        out.append(SyntheticQuery((c(hubs) if hub else c(regular))(), hub))
    return out
