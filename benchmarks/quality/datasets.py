"""Loaders for the public conversational-memory data sets in ``../shared/data/``.

The loaders read the files in place (they are never copied into the repository) and
yield plain frozen dataclasses, so the rest of the harness never touches raw JSON.

* LoCoMo (``locomo/locomo_dev.json``): one conversation per item, one memory per dialog
  turn; questions carry the ``dia_id``s of the turns that hold their answer.
* LongMemEval_S (``longmemeval/longmemeval_s_dev100.json.gz``): one haystack of chat
  sessions per question; relevance is marked per turn with ``has_answer``.

See ``../shared/data/README.md`` for the protocols these loaders implement.
"""

from __future__ import annotations

import gzip
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

LOCOMO_FILE = Path("locomo") / "locomo_dev.json"
LONGMEMEVAL_FILE = Path("longmemeval") / "longmemeval_s_dev100.json.gz"

LOCOMO_CATEGORIES: dict[int, str] = {
    1: "multi-hop",
    2: "temporal",
    3: "open-domain",
    4: "single-hop",
    5: "adversarial",
}

_DIA_ID = re.compile(r"D(\d+):(\d+)")
_SESSION_KEY = re.compile(r"session_(\d+)")
_LME_DATE = re.compile(r"(\d{4}/\d{2}/\d{2})\s*(?:\([A-Za-z]+\))?\s*(\d{1,2}:\d{2})")


def default_data_dir() -> Path:
    """Return ``../shared/data`` resolved against the repository root."""
    repo_root = Path(__file__).resolve().parents[2]
    return (repo_root.parent / "shared" / "data").resolve()


# --------------------------------------------------------------------------- LoCoMo


@dataclass(frozen=True, slots=True)
class LocomoTurn:
    """One dialog turn: the unit of memory and of retrieval in LoCoMo."""

    dia_id: str
    speaker: str
    text: str
    session: int
    timestamp: datetime
    session_date: str


@dataclass(frozen=True, slots=True)
class LocomoQuestion:
    """A question with the (repaired) ``dia_id``s of its evidence turns."""

    conversation_id: str
    question: str
    answer: str
    evidence: tuple[str, ...]
    category: int

    @property
    def category_name(self) -> str:
        """Human-readable category (``multi-hop``, ``temporal``, ...)."""
        return LOCOMO_CATEGORIES.get(self.category, str(self.category))


@dataclass(frozen=True, slots=True)
class LocomoConversation:
    """One conversation (its own brain) with its turns and questions."""

    sample_id: str
    speaker_a: str
    speaker_b: str
    turns: tuple[LocomoTurn, ...]
    questions: tuple[LocomoQuestion, ...]
    skipped_questions: int = 0
    repairs: tuple[str, ...] = field(default=())

    @property
    def last_timestamp(self) -> datetime:
        """Date of the latest session: the natural "now" for this conversation."""
        return max(turn.timestamp for turn in self.turns)


def parse_locomo_date(text: str) -> datetime:
    """Parse a LoCoMo session date such as ``"1:56 pm on 8 May, 2023"`` (as UTC)."""
    cleaned = " ".join(text.replace(",", ", ").split())
    parsed = datetime.strptime(cleaned, "%I:%M %p on %d %B, %Y")
    return parsed.replace(tzinfo=UTC)


def repair_evidence(raw: Sequence[str], known: frozenset[str]) -> tuple[list[str], list[str]]:
    """Repair malformed LoCoMo evidence ids.

    ``"D:11:26"`` becomes ``"D11:26"``; ``"D8:6; D9:17"`` is split into two ids. Ids that
    cannot be repaired unambiguously (``"D"``) or that name no turn of the conversation
    are dropped. Returns ``(evidence, notes)`` where ``notes`` describes every change.
    """
    evidence: list[str] = []
    notes: list[str] = []
    for item in raw:
        pieces = [p for p in re.split(r"[;,\s]+", str(item)) if p]
        candidates: list[str] = []
        for piece in pieces:
            digits = re.findall(r"\d+", piece)
            if _DIA_ID.fullmatch(piece):
                candidates.append(piece)
            elif piece.startswith("D") and len(digits) == 2:
                candidates.append(f"D{digits[0]}:{digits[1]}")
            else:
                notes.append(f"dropped unrepairable evidence {item!r}")
        if candidates and candidates != [item]:
            notes.append(f"repaired {item!r} -> {candidates}")
        for dia_id in candidates:
            if dia_id not in known:
                notes.append(f"dropped evidence {dia_id!r}: no such turn")
            elif dia_id not in evidence:
                evidence.append(dia_id)
    return evidence, notes


def _turn_text(turn: dict[str, Any]) -> str:
    text = str(turn.get("text", "")).strip()
    caption = turn.get("blip_caption")
    if caption:
        text = f"{text} [shares image: {str(caption).strip()}]".strip()
    return text


def _load_conversation(item: dict[str, Any]) -> LocomoConversation:
    conv = item["conversation"]
    sessions = sorted(
        (int(m.group(1)), key) for key in conv if (m := _SESSION_KEY.fullmatch(key)) is not None
    )
    turns: list[LocomoTurn] = []
    for number, key in sessions:
        date_text = str(conv[f"{key}_date_time"])
        timestamp = parse_locomo_date(date_text)
        for raw in conv[key]:
            turns.append(
                LocomoTurn(
                    dia_id=str(raw["dia_id"]),
                    speaker=str(raw["speaker"]),
                    text=_turn_text(raw),
                    session=number,
                    timestamp=timestamp,
                    session_date=date_text,
                )
            )
    known = frozenset(turn.dia_id for turn in turns)
    questions: list[LocomoQuestion] = []
    repairs: list[str] = []
    skipped = 0
    for qa in item["qa"]:
        evidence, notes = repair_evidence(qa.get("evidence", []), known)
        repairs.extend(f"{item['sample_id']}: {note}" for note in notes)
        if not evidence:
            skipped += 1
            continue
        answer = qa.get("answer", qa.get("adversarial_answer", ""))
        questions.append(
            LocomoQuestion(
                conversation_id=str(item["sample_id"]),
                question=str(qa["question"]),
                answer=str(answer),
                evidence=tuple(evidence),
                category=int(qa["category"]),
            )
        )
    return LocomoConversation(
        sample_id=str(item["sample_id"]),
        speaker_a=str(conv.get("speaker_a", "")),
        speaker_b=str(conv.get("speaker_b", "")),
        turns=tuple(turns),
        questions=tuple(questions),
        skipped_questions=skipped,
        repairs=tuple(repairs),
    )


def load_locomo(data_dir: Path | None = None) -> list[LocomoConversation]:
    """Load every LoCoMo conversation with its turns and its answerable questions."""
    path = (data_dir or default_data_dir()) / LOCOMO_FILE
    with path.open(encoding="utf-8") as handle:
        raw = json.load(handle)
    return [_load_conversation(item) for item in raw]


# ---------------------------------------------------------------------- LongMemEval


@dataclass(frozen=True, slots=True)
class LmeTurn:
    """One chat turn of a LongMemEval haystack session."""

    turn_id: str
    session_id: str
    index: int
    role: str
    content: str
    has_answer: bool
    timestamp: datetime


@dataclass(frozen=True, slots=True)
class LmeSession:
    """One haystack session with its date."""

    session_id: str
    timestamp: datetime
    date_text: str
    turns: tuple[LmeTurn, ...]


@dataclass(frozen=True, slots=True)
class LmeQuestion:
    """One LongMemEval question with its own haystack and its relevance judgements."""

    question_id: str
    question_type: str
    question: str
    answer: str
    question_date: datetime
    sessions: tuple[LmeSession, ...]
    relevant_session_ids: frozenset[str]
    relevant_turn_ids: frozenset[str]

    def iter_turns(self) -> Iterator[LmeTurn]:
        """All turns of the haystack, session by session."""
        for session in self.sessions:
            yield from session.turns


def parse_lme_date(text: str) -> datetime:
    """Parse a LongMemEval date such as ``"2023/05/20 (Sat) 02:21"`` (as UTC)."""
    match = _LME_DATE.search(text)
    if match is None:
        raise ValueError(f"unrecognised LongMemEval date: {text!r}")
    parsed = datetime.strptime(f"{match.group(1)} {match.group(2)}", "%Y/%m/%d %H:%M")
    return parsed.replace(tzinfo=UTC)


def _load_lme_question(item: dict[str, Any]) -> LmeQuestion:
    sessions: list[LmeSession] = []
    seen: dict[str, int] = {}
    answer_sessions = {str(s) for s in item.get("answer_session_ids", [])}
    relevant_sessions: set[str] = set()
    relevant_turns: set[str] = set()
    for raw_id, date_text, raw_turns in zip(
        item["haystack_session_ids"],
        item["haystack_dates"],
        item["haystack_sessions"],
        strict=True,
    ):
        base_id = str(raw_id)
        # A few haystacks repeat a session (same turns, another date): keep ids unique.
        seen[base_id] = seen.get(base_id, 0) + 1
        session_id = base_id if seen[base_id] == 1 else f"{base_id}#{seen[base_id]}"
        timestamp = parse_lme_date(str(date_text))
        turns = tuple(
            LmeTurn(
                turn_id=f"{session_id}:{index}",
                session_id=session_id,
                index=index,
                role=str(turn["role"]),
                content=str(turn["content"]),
                has_answer=bool(turn.get("has_answer")),
                timestamp=timestamp,
            )
            for index, turn in enumerate(raw_turns)
        )
        evidence = [t.turn_id for t in turns if t.role == "user" and t.has_answer]
        relevant_turns.update(evidence)
        if base_id in answer_sessions and evidence:
            relevant_sessions.add(session_id)
        sessions.append(
            LmeSession(
                session_id=session_id,
                timestamp=timestamp,
                date_text=str(date_text),
                turns=turns,
            )
        )
    return LmeQuestion(
        question_id=str(item["question_id"]),
        question_type=str(item["question_type"]),
        question=str(item["question"]),
        answer=str(item.get("answer", "")),
        question_date=parse_lme_date(str(item["question_date"])),
        sessions=tuple(sessions),
        relevant_session_ids=frozenset(relevant_sessions),
        relevant_turn_ids=frozenset(relevant_turns),
    )


def load_longmemeval(data_dir: Path | None = None, *, strict: bool = True) -> list[LmeQuestion]:
    """Load LongMemEval_S questions.

    ``_abs`` (abstention) questions are always skipped. With ``strict`` (the README's
    averaging), questions without any user-side evidence turn are skipped as well.
    """
    path = (data_dir or default_data_dir()) / LONGMEMEVAL_FILE
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        raw = json.load(handle)
    questions: list[LmeQuestion] = []
    for item in raw:
        if str(item["question_id"]).endswith("_abs"):
            continue
        question = _load_lme_question(item)
        if strict and not question.relevant_turn_ids:
            continue
        questions.append(question)
    return questions


SLICES = ("all", "tune", "heldout")
"""Dev splits for tuning: ``tune`` (even positions) to tune on, ``heldout`` (odd) to check."""

T = TypeVar("T")


def dev_slice(items: Sequence[T], which: str) -> list[T]:
    """The ``tune`` or ``heldout`` part of a dev set (fixed: by position in the file), or all.

    LoCoMo is sliced by conversation (tune: conv-26, 41, 43, 47; held out: conv-30, 42, 44),
    LongMemEval by question.
    """
    if which == "all":
        return list(items)
    if which not in SLICES:
        raise ValueError(f"unknown slice {which!r}; choose from {', '.join(SLICES)}")
    parity = 0 if which == "tune" else 1
    return [item for position, item in enumerate(items) if position % 2 == parity]
