"""Text normalisation shared by encoding and retrieval (pure functions, no I/O).

Terms are lower-cased alphanumeric tokens with English stop words removed, reduced to
their Snowball stem so that "fixed", "fixes" and "fixing" meet in one neuron.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from functools import lru_cache

import snowballstemmer

__all__ = [
    "STOP_WORDS",
    "TERMS_VERSION",
    "document_terms",
    "is_stop_word",
    "remember_document_terms",
    "stem",
    "terms",
    "tokenize",
]

STOP_WORDS: frozenset[str] = frozenset(
    """a about above across after afterwards again against all almost alone along already also
    although always am among amongst an and another any anyhow anyone anything anyway anywhere
    are around as at back be became because become becomes becoming been before beforehand
    being below beside besides between beyond both but by can cannot could did do does doing
    done down during each eg either else elsewhere enough etc even ever every everyone
    everything everywhere except few for former formerly from further get gets getting got had
    has have having he hence her here hereafter hereby herein hereupon hers herself him himself
    his how however i ie if in indeed into is it its itself just keep last latter latterly
    least less ll made many may me meanwhile might mine more moreover most mostly much must my
    myself namely neither never nevertheless next no nobody none noone nor not nothing now
    nowhere of off often on once one only onto or other others otherwise our ours ourselves out
    over own per perhaps please put rather re really s same see seem seemed seeming seems
    several she should since so some somehow someone something sometime sometimes somewhere
    still such t than that the their theirs them themselves then thence there thereafter thereby
    therefore therein thereupon these they this those though through throughout thru thus to
    together too toward towards under until up upon us very via was we well were what whatever
    when whence whenever where whereafter whereas whereby wherein whereupon wherever whether
    which while whither who whoever whole whom whose why will with within without would yet you
    your yours yourself yourselves ve d m don didn doesn isn wasn aren weren won wouldn couldn
    shouldn hasn haven hadn let lets oh yeah yes ok okay hey hi hello thanks thank wow""".split()
)

_TOKEN = re.compile(r"[a-z0-9]+")
_STEMMER = snowballstemmer.stemmer("english")


def tokenize(text: str) -> list[str]:
    """Lower-cased alphanumeric tokens of ``text`` (apostrophes split words).

    A long text is read in slices cut at spaces (no token spans one), so a thread
    tokenising it lets other threads run between slices.
    """
    if len(text) <= _TOKENIZE_SLICE:
        return _TOKEN.findall(text.casefold())
    tokens: list[str] = []
    start = 0
    while start < len(text):
        end = text.find(" ", start + _TOKENIZE_SLICE)
        end = len(text) if end < 0 else end
        tokens += _TOKEN.findall(text[start:end].casefold())
        start = end
    return tokens


_TOKENIZE_SLICE = 65_536


def is_stop_word(token: str) -> bool:
    """True for a lower-cased token that carries no topic."""
    return token in STOP_WORDS


@lru_cache(maxsize=65_536)
def stem(token: str) -> str:
    """The Snowball (Porter 2) stem of a lower-cased token; digits are kept as they are."""
    if token.isdigit():
        return token
    return str(_STEMMER.stemWord(token))


def terms(text: str) -> list[str]:
    """Stemmed content terms of ``text`` in order (stop words and single letters dropped)."""
    return [stem(t) for t in tokenize(text) if (len(t) > 1 or t.isdigit()) and t not in STOP_WORDS]


def document_terms(content: str, speaker: str | None) -> list[str]:
    """The lexical (BM25) terms of a memory: its text's terms, then its speaker's."""
    if len(content) > _REMEMBERED_CHARS:
        return list(_LONG_TERMS.terms(content, speaker))
    return list(_remembered_document_terms(content, speaker))


_REMEMBERED_CHARS = 1_000
"""Terms of memories up to this long are remembered by count (a few MB at most are kept);
longer ones by their total length (:class:`_LongTerms`)."""


class _LongTerms:
    """The terms of the last few long memories, at most ``max_chars`` characters of them.

    Storing one long memory asks for its terms several times (extraction, the row storage
    keeps, the recall index), and a text of a million characters takes about 0.1 s to
    tokenise: asked for again, it is looked up instead. Thread-safe (extraction and storage
    may run in worker threads).
    """

    def __init__(self, max_chars: int) -> None:
        self._max_chars = max_chars
        self._chars = 0
        self._kept: OrderedDict[tuple[str, str | None], tuple[str, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def terms(self, content: str, speaker: str | None) -> tuple[str, ...]:
        """:func:`document_terms` of a long memory: remembered, or computed and remembered."""
        with self._lock:
            found = self._kept.get((content, speaker))
            if found is not None:
                self._kept.move_to_end((content, speaker))
                return found
        computed = (*terms(content), *(terms(speaker) if speaker else ()))
        self.remember(content, speaker, computed)
        return computed

    def remember(self, content: str, speaker: str | None, found: tuple[str, ...]) -> None:
        """Keep ``found`` as the terms of ``content`` said by ``speaker``."""
        if len(content) > self._max_chars:
            return
        with self._lock:
            if self._kept.pop((content, speaker), None) is not None:
                self._chars -= len(content)
            self._kept[content, speaker] = found
            self._chars += len(content)
            while self._chars > self._max_chars:
                (dropped, _), _ = self._kept.popitem(last=False)
                self._chars -= len(dropped)


_LONG_TERMS = _LongTerms(max_chars=4_000_000)


@lru_cache(maxsize=4_096)
def _remembered_document_terms(content: str, speaker: str | None) -> tuple[str, ...]:
    # Bulk ingest asks for each new memory's terms three times: extraction, the recall
    # index, and the row SQLite stores; a batch of a thousand memories fits.
    given = _GIVEN_TERMS.pop((content, speaker), None)
    if given is not None:
        return given
    return (*terms(content), *(terms(speaker) if speaker else ()))


_GIVEN_TERMS: dict[tuple[str, str | None], tuple[str, ...]] = {}
"""Terms another process computed (:func:`remember_document_terms`), taken at first ask."""


def remember_document_terms(content: str, speaker: str | None, found: tuple[str, ...]) -> None:
    """Remember ``found``, the :func:`document_terms` of a memory computed elsewhere.

    A planner process extracts the memories of a bulk ingest, terms included; remembering
    them spares the process that stores the memories computing them again. Only
    ``document_terms`` output of the same code may be given (the same version of this module).
    """
    if len(content) > _REMEMBERED_CHARS:
        _LONG_TERMS.remember(content, speaker, found)
        return
    if len(_GIVEN_TERMS) >= _GIVEN_AT_MOST:
        _GIVEN_TERMS.clear()  # never asked for (their memories were not stored): drop them
    _GIVEN_TERMS[content, speaker] = found


_GIVEN_AT_MOST = 8_192


TERMS_VERSION: str = hashlib.blake2b(
    "\n".join((_TOKEN.pattern, "snowball-english", *sorted(STOP_WORDS))).encode(),
    digest_size=4,
).hexdigest()
"""Fingerprint of how :func:`terms` works (8 hex digits).

Storage that keeps memories' terms (SQLite, PostgreSQL) stores it with them; terms stored
under another fingerprint are ignored and computed again, so changing the stop words or
the tokeniser never mixes old and new terms in one index.
"""
