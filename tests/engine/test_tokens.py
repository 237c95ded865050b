"""count_tokens never under-counts a real BPE tokenizer; truncate_to_tokens respects budgets."""

from __future__ import annotations

import base64
import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from neural_memory.engine.tokens import count_tokens, truncate_to_tokens
from neural_memory.errors import ValidationError

LOCOMO = Path(__file__).resolve().parents[3] / "shared" / "data" / "locomo" / "locomo_dev.json"

_rng = random.Random(7)

SAMPLES = [
    "Met Alice to discuss API design",
    "DECISION: Use microservices. REASON: Better scaling",
    "TODO: Set up CI/CD pipeline",
    "Hey! How's it going? I'm doing great, thanks for asking :)",
    "The quick brown fox jumps over the lazy dog. " * 30,
    "crayon",
    "Ong",
    "Yup, ttyl!",
    "VVVXV",
    "1. e4 c5 2. Nf3 Nf6 3. d4 cxd4 4. Nxd4 Nxe4 5. Bd3 d5 6. O-O e5 7. Nc3 Nxc3",
    "create a shlomo carlebach story with rabbi mendel of riminov",
    "Sì, certo. Ecco alcuni esempi di esercizi di rafforzamento per i muscoli antagonisti.",
    "Straßenbahnhaltestellenüberdachung und Donaudampfschifffahrtsgesellschaftskapitän",
    "naïve café résumé façade coöperate",
    "Привет, как дела? Мы решили использовать PostgreSQL для хранения данных.",
    "Γεια σου κόσμε, σήμερα αποφασίσαμε να χρησιμοποιήσουμε μικροϋπηρεσίες.",
    "أطلق العنان لإمكانات التداول: احترف السوق مع",
    "नमस्ते, आज हमने नई वास्तुकला पर निर्णय लिया।",
    "สวัสดีครับ วันนี้เราตัดสินใจใช้สถาปัตยกรรมใหม่",
    "每天開車的時間要怎增加英文能力的方式呢?我們今天去公園散步，天氣很好。",
    "東京都渋谷区で会議がありました。明日は大阪に行きます。",
    "오늘 회의에서 새로운 아키텍처를 결정했습니다.",
    "🚀🔥✨ Launch day! 🎉🎉🎉 👍🏽 👨\u200d👩\u200d👧\u200d👦",
    "def optimize_context(storage, fibers, max_tokens=4000):\n"
    "    for f in fibers:\n        if f.superseded_by is not None:\n            continue\n",
    json.dumps({"user_id": 12345, "name": "Alice", "roles": ["admin", "dev"], "score": 0.93}),
    "SELECT u.id, u.name FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100;",
    "https://example.com/api/v2/users?id=12345&token=abcDEF123xyz#section-4",
    "$ pip install neural-memory-brain==0.1.0 && python -m neural_memory --help",
    "| name | role |\n|------|------|\n| Alice | dev |\n| Bob | ops |",
    "1234567890 3.14159265358979 2024-05-07T13:45:00Z +1-555-0100",
    "I.B.M. U.S.A. e.g. i.e. etc. Mr. Dr. St.",
    "AKIAIOSFODNN7EXAMPLE wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    " ".join(str(uuid.UUID(int=_rng.getrandbits(128))) for _ in range(10)),
    base64.b64encode(bytes(_rng.getrandbits(8) for _ in range(300))).decode(),
    bytes(_rng.getrandbits(8) for _ in range(200)).hex(),
    "".join(chr(_rng.randint(0x21, 0x7E)) for _ in range(400)),
    "".join(chr(_rng.randint(0x4E00, 0x9FFF)) for _ in range(100)),
    "x" * 500,
    "ab" * 300,
    "Zq9" * 100,
    "    \n\t\t  \n\n\n   \t",
]


def _reference_counters() -> list[Callable[[str], int]]:
    """Real BPE tokenizers available offline: tiktoken (if its files load), else bpe-openai."""
    counters: list[Callable[[str], int]] = []
    for module_name in ("tiktoken", "bpe_openai"):
        try:
            module = __import__(module_name)
            encodings = [module.get_encoding(name) for name in ("cl100k_base", "o200k_base")]
        except (ImportError, OSError, RuntimeError, ValueError):
            continue  # not installed, or its vocabulary cannot be fetched offline
        counters.extend(_encoder_length(encoding) for encoding in encodings)
        break
    return counters


def _encoder_length(encoding: object) -> Callable[[str], int]:
    def count(text: str) -> int:
        return len(encoding.encode(text, disallowed_special=()))  # type: ignore[attr-defined]

    return count


def _locomo_turns(limit: int) -> list[str]:
    if not LOCOMO.exists():
        return []
    turns: list[str] = []
    for conversation in json.loads(LOCOMO.read_text()):
        for key, session in conversation["conversation"].items():
            if key.startswith("session_") and isinstance(session, list):
                turns.extend(turn["text"] for turn in session)
    return turns[:limit]


def test_empty_text_has_no_tokens() -> None:
    assert count_tokens("") == 0
    assert count_tokens(" ") >= 1


def test_longer_text_costs_more() -> None:
    short = "the cache is warm"
    assert count_tokens(short * 10) > count_tokens(short) * 5


def test_count_tokens_refuses_non_strings() -> None:
    with pytest.raises(ValidationError):
        count_tokens(b"bytes")  # type: ignore[arg-type]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # bpe-openai's resource loading
def test_estimate_is_never_below_real_bpe_counts() -> None:
    counters = _reference_counters()
    if not counters:
        pytest.skip("no offline BPE tokenizer (tiktoken with cached files, or bpe-openai)")
    texts = SAMPLES + _locomo_turns(3000)
    under = [
        (text[:60], count_tokens(text), max(count(text) for count in counters))
        for text in texts
        if count_tokens(text) < max(count(text) for count in counters)
    ]
    assert under == []
    # ... and is not absurdly high for ordinary English prose either.
    prose = SAMPLES[4]
    assert count_tokens(prose) <= 2 * max(count(prose) for count in counters)


@pytest.mark.parametrize("budget", [0, 1, 5, 8, 20, 50, 200])
def test_truncate_stays_within_budget_and_is_a_prefix(budget: int) -> None:
    text = "Alice decided to migrate the billing service to PostgreSQL next sprint. " * 20
    assert count_tokens(text) > 200
    cut = truncate_to_tokens(text, budget)
    assert text.startswith(cut)
    assert count_tokens(cut) <= budget
    if cut:
        # maximal: one more word would not fit
        longer = text[: len(cut) + 1 + text[len(cut) + 1 :].find(" ") + 1].rstrip()
        assert count_tokens(longer) > budget


def test_truncate_keeps_text_that_fits() -> None:
    assert truncate_to_tokens("short note", 100) == "short note"
    assert truncate_to_tokens("short note", -3) == ""
