"""Time expressions: find them in text and resolve them against a reference moment.

"yesterday", "last Saturday", "two weeks ago", "in May", "7 May 2023" or "2022" become
:class:`TimeSpan` s - a labelled date range - resolved against the memory's own timestamp
(or, for a query, the moment it is asked). Pure functions, no I/O, no clock.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

from neural_memory.engine._cased import CasedPattern, CaseScan

__all__ = ["Granularity", "TimeSpan", "day_span", "find_time_spans", "leading_moment"]

_MONTHS = {name[:3].casefold(): index for index, name in enumerate(calendar.month_abbr) if name}
_WEEKDAYS = {name.casefold(): index for index, name in enumerate(calendar.day_name)}
_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "couple": 2,
    "few": 3,
    "several": 3,
}

_MONTH = (
    r"(?P<month>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?P<year>(?:19|20)\d\d)"
_COUNT = r"(?P<count>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|couple|few|several)"

_SOURCES: tuple[tuple[str, str], ...] = (
    ("iso", r"\b(?P<year>(?:19|20)\d\d)[-/](?P<month>[01]?\d)[-/](?P<day>[0-3]?\d)\b"),
    ("day_month_year", rf"\b{_DAY}(?: of)? {_MONTH},? {_YEAR}\b"),
    ("month_day_year", rf"\b{_MONTH} {_DAY},? {_YEAR}\b"),
    ("day_month", rf"\b{_DAY}(?: of)? {_MONTH}\b"),
    ("month_day", rf"\b{_MONTH} {_DAY}\b(?!,? (?:19|20)\d\d)"),
    ("month_year", rf"\b{_MONTH},? {_YEAR}\b"),
    ("ago", rf"\b{_COUNT}(?: of)? (?P<unit>day|week|month|year)s? ago\b"),
    ("relative_unit", r"\b(?P<which>last|this|next|past) (?P<unit>week|weekend|month|year)\b"),
    (
        "weekday",
        r"\b(?:(?P<which>last|this|next|on) )?"
        r"(?P<weekday>monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b",
    ),
    ("named_day", r"\b(?P<word>yesterday|today|tonight|tomorrow)\b"),
    ("month", rf"\b(?:in|since|during|last|this|next|early|late|mid) {_MONTH}\b"),
    ("year", rf"\b{_YEAR}\b"),
)
# Every pattern is written in lower case and read case-insensitively (see
# :mod:`neural_memory.engine._cased`).
_PATTERNS: tuple[tuple[str, CasedPattern], ...] = tuple(
    (name, CasedPattern.of(pattern)) for name, pattern in _SOURCES
)

# Text every match of a pattern contains (the same case folding): a text without it is not
# scanned with that pattern at all. Most texts hold no digit, so the dated patterns rarely run.
# ``_GUARD_WORDS`` are looked for in a lower-cased ASCII text (``\d`` is 0-9 there),
# ``_GUARDS`` in any other text.
_DIGITS = tuple("0123456789")
_GUARD_WORDS: dict[str, tuple[str, ...]] = {
    "iso": _DIGITS,
    "day_month_year": _DIGITS,
    "month_day_year": _DIGITS,
    "day_month": _DIGITS,
    "month_day": _DIGITS,
    "month_year": _DIGITS,
    "ago": ("ago",),
    "relative_unit": ("last", "this", "next", "past"),
    "weekday": ("day",),
    "named_day": ("yesterday", "today", "tonight", "tomorrow"),
    "month": tuple("jan feb mar apr may jun jul aug sep oct nov dec".split()),
    "year": _DIGITS,
}
_DIGIT = re.compile(r"\d")
_GUARDS: dict[str, re.Pattern[str]] = {
    name: _DIGIT if words is _DIGITS else re.compile("|".join(words), re.IGNORECASE)
    for name, words in _GUARD_WORDS.items()
}


class Granularity(StrEnum):
    """How precise a time span is."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class TimeSpan:
    """A resolved time expression: the dates ``start`` to ``end`` (inclusive)."""

    start: date
    end: date
    granularity: Granularity
    text: str

    @property
    def label(self) -> str:
        """Stable name of the span: "2023-05-07", "2023-W19", "2023-05" or "2023"."""
        if self.granularity is Granularity.DAY:
            return self.start.isoformat()
        if self.granularity is Granularity.WEEK:
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        if self.granularity is Granularity.MONTH:
            return f"{self.start.year}-{self.start.month:02d}"
        return str(self.start.year)

    def contains(self, moment: date) -> bool:
        """True when ``moment`` falls inside the span."""
        return self.start <= moment <= self.end


def day_span(moment: datetime | date) -> TimeSpan:
    """The one-day span of ``moment``."""
    day = moment.date() if isinstance(moment, datetime) else moment
    return TimeSpan(day, day, Granularity.DAY, day.isoformat())


def find_time_spans(text: str, reference: datetime | date) -> list[TimeSpan]:
    """Every time expression of ``text`` resolved against ``reference``, in text order."""
    today = reference.date() if isinstance(reference, datetime) else reference
    scan = CaseScan.of(text)
    present = _present_guards(scan)
    taken: list[tuple[int, int]] = []
    found: list[tuple[int, TimeSpan]] = []
    for (name, pattern), seen in zip(_PATTERNS, present, strict=True):
        if not seen:
            continue
        for match in scan.finditer(pattern):
            start, end = match.span()
            if any(start < before_end and before_start < end for before_start, before_end in taken):
                continue
            span = _resolve(name, match, today, text[start:end])
            if span is not None:
                taken.append((start, end))
                found.append((start, span))
    if len(found) > 1:
        found.sort(key=lambda item: item[0])
    return [span for _, span in found]


def _present_guards(scan: CaseScan) -> list[bool]:
    """Whether each pattern's guard occurs in the scanned text, in the patterns' order."""
    text = scan.text
    if not scan.lowered:
        seen: dict[re.Pattern[str], bool] = {}
        for guard in _GUARDS.values():
            if guard not in seen:
                seen[guard] = guard.search(text) is not None
        return [seen[_GUARDS[name]] for name, _ in _PATTERNS]
    words_seen: dict[tuple[str, ...], bool] = {}
    for words in _GUARD_WORDS.values():
        if words not in words_seen:
            words_seen[words] = any(map(text.__contains__, words))
    return [words_seen[_GUARD_WORDS[name]] for name, _ in _PATTERNS]


def _resolve(name: str, match: re.Match[str], today: date, text: str) -> TimeSpan | None:
    """The span of one match, or None when it names no valid date.

    ``text`` is what the match covers as written (the scan may have lower-cased it). A date
    outside what :class:`datetime.date` holds ("6000 years ago" near year 1, "next year" in
    9999, "99999999999 days ago") is no span: the text is kept, its time is not.
    """
    parts = {key: value.casefold() for key, value in match.groupdict().items() if value}
    try:
        return _resolve_parts(name, parts, today, text)
    except (ValueError, OverflowError):
        return None


def _resolve_parts(name: str, parts: dict[str, str], today: date, text: str) -> TimeSpan | None:
    if name in {"iso", "day_month_year", "month_day_year"}:
        return _day(_make_date(parts, today.year), text)
    if name in {"day_month", "month_day"}:
        return _day(_past_date(parts, today), text)
    if name == "month_year":
        return _month(int(parts["year"]), _MONTHS[parts["month"][:3]], text)
    if name == "month":
        month = _MONTHS[parts["month"][:3]]
        year = today.year if month <= today.month else today.year - 1
        return _month(year, month, text)
    if name == "year":
        year = int(parts["year"])
        return TimeSpan(date(year, 1, 1), date(year, 12, 31), Granularity.YEAR, text)
    return _resolve_relative(name, parts, today, text)


def _resolve_relative(name: str, parts: dict[str, str], today: date, text: str) -> TimeSpan | None:
    if name == "named_day":
        offset = {"yesterday": -1, "today": 0, "tonight": 0, "tomorrow": 1}[parts["word"]]
        return _day(today + timedelta(days=offset), text)
    if name == "weekday":
        return _weekday(parts, today, text)
    if name == "ago":
        count = _NUMBERS.get(parts["count"]) or int(parts["count"])
        return _shift(today, parts["unit"], -count, text)
    if name == "relative_unit":
        step = {"last": -1, "past": -1, "this": 0, "next": 1}[parts["which"]]
        return _shift(today, parts["unit"], step, text)
    return None


def _make_date(parts: dict[str, str], default_year: int) -> date:
    month_text = parts["month"]
    month = int(month_text) if month_text.isdigit() else _MONTHS[month_text[:3]]
    return date(int(parts.get("year", default_year)), month, int(parts["day"]))


def _past_date(parts: dict[str, str], today: date) -> date:
    """A day and month without a year: the latest such date not after ``today`` + 1 month."""
    candidate = _make_date(parts, today.year)
    if candidate > today + timedelta(days=31):
        candidate = candidate.replace(year=today.year - 1)
    return candidate


def _weekday(parts: dict[str, str], today: date, text: str) -> TimeSpan:
    target = _WEEKDAYS[parts["weekday"]]
    back = (today.weekday() - target) % 7
    which = parts.get("which")
    if which == "next":
        ahead = (target - today.weekday()) % 7 or 7
        return _day(today + timedelta(days=ahead), text)
    if which == "last" and back == 0:
        back = 7
    return _day(today - timedelta(days=back), text)


def _shift(today: date, unit: str, step: int, text: str) -> TimeSpan:
    if unit == "day":
        return _day(today + timedelta(days=step), text)
    if unit in {"week", "weekend"}:
        monday = today - timedelta(days=today.weekday()) + timedelta(weeks=step)
        if unit == "weekend":
            return TimeSpan(
                monday + timedelta(days=5), monday + timedelta(days=6), Granularity.WEEK, text
            )
        return TimeSpan(monday, monday + timedelta(days=6), Granularity.WEEK, text)
    if unit == "month":
        index = today.year * 12 + today.month - 1 + step
        return _month(index // 12, index % 12 + 1, text)
    year = today.year + step
    return TimeSpan(date(year, 1, 1), date(year, 12, 31), Granularity.YEAR, text)


def _day(day: date, text: str) -> TimeSpan:
    return TimeSpan(day, day, Granularity.DAY, text)


def _month(year: int, month: int, text: str) -> TimeSpan:
    last = calendar.monthrange(year, month)[1]
    return TimeSpan(date(year, month, 1), date(year, month, last), Granularity.MONTH, text)


_WEEKDAY_NAME = r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?"
_CLOCK = (
    r"(?P<{0}hour>[0-2]?\d):(?P<{0}minute>[0-5]\d)(?::[0-5]\d(?:\.\d+)?)?"
    r"(?:\s*(?P<{0}half>[ap])\.?m\.?)?"
)
_WRITTEN_DATES = (
    r"(?P<year>(?:19|20)\d\d)[-/.](?P<month>[01]?\d)[-/.](?P<day>[0-3]?\d)",
    rf"{_DAY}(?: of)? {_MONTH}\.?,? {_YEAR}",
    rf"{_MONTH}\.? {_DAY},? {_YEAR}",
)
_LEADING: tuple[re.Pattern[str], ...] = tuple(
    re.compile(
        rf"\s*(?:{_WEEKDAY_NAME},?\s+)?(?:{_CLOCK.format('b_')}\s*(?:on\s+|,\s*)?)?"
        rf"{written}(?:,?\s*\(?{_WEEKDAY_NAME}\)?)?"
        rf"(?:(?:\s*,|\s+at|T|\s)\s*{_CLOCK.format('a_')})?(?:\s*(?:Z|UTC|[+-]\d\d:?\d\d))?",
        re.IGNORECASE,
    )
    for written in _WRITTEN_DATES
)


def leading_moment(text: str) -> tuple[datetime, int] | None:
    """The date (and time of day) written at the very start of ``text``, and where it ends.

    Written dates as people and programs write them - "2023-05-08", "2023/05/20 (Sat) 02:21",
    "8 May 2023", "May 8, 2023 at 3:15 pm", "1:56 pm on 8 May, 2023", "2023-05-08T13:56:00Z" -
    give a UTC moment (midnight when no time is written; a written offset is not applied).
    Relative expressions ("yesterday") and partial dates ("in May") are no written moment.
    """
    for pattern in _LEADING:
        match = pattern.match(text)
        if match is not None:
            moment = _written(match)
            if moment is not None:
                return moment, match.end()
    return None


def _written(match: re.Match[str]) -> datetime | None:
    parts = {key: value.casefold() for key, value in match.groupdict().items() if value}
    try:
        day = _make_date(parts, 0)
        hour, minute = _clock(parts, "a_") or _clock(parts, "b_") or (0, 0)
        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)
    except (ValueError, OverflowError):
        return None


def _clock(parts: dict[str, str], prefix: str) -> tuple[int, int] | None:
    if f"{prefix}hour" not in parts:
        return None
    hour, minute = int(parts[f"{prefix}hour"]), int(parts[f"{prefix}minute"])
    half = parts.get(f"{prefix}half")
    if half is not None:
        if not 1 <= hour <= 12:
            raise ValueError("a 12-hour clock runs from 1 to 12")
        hour = hour % 12 + (12 if half == "p" else 0)
    return hour, minute
