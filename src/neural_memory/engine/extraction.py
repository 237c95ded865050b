"""Text to graph, without an LLM: which neurons a text names and how they are linked.

Pure and deterministic. Every single word maps to one neuron keyed by its stem
(``word:<stem>``), so the same thing mentioned in two memories is the same neuron - that is
what connects memories into a graph. Multi-word names get an ``entity:`` neuron of their own,
time expressions a ``time:`` neuron per resolved span, and the memory's own day a
``time:<date>`` neuron. Cue words ("because", "so", "before", ...) add typed causal and
temporal links between the clauses around them.
"""

from __future__ import annotations

import itertools
import operator
import re
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from neural_memory.core.neuron import NeuronType
from neural_memory.core.synapse import SynapseType
from neural_memory.engine._cased import CasedPattern, CaseScan
from neural_memory.engine.text import STOP_WORDS, document_terms, stem
from neural_memory.engine.timeparse import TimeSpan, find_time_spans

__all__ = [
    "MAX_LINKED_ENTITIES",
    "MAX_NEURONS_PER_MEMORY",
    "ExtractedLink",
    "ExtractedNeuron",
    "Extraction",
    "extract",
    "word_key",
]

MAX_NEURONS_PER_MEMORY = 32
"""Long texts keep their first names, times and keywords; the lexical index sees every word."""

MAX_LINKED_ENTITIES = 5
"""Entities of one memory linked pairwise (bounds the links of name-heavy texts)."""

_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-]*")
_SENTENCE_ENDS = frozenset('.!?:;\n"“([')
"""A word after one of these (and whitespace) starts a sentence."""
_PLACE_PREPOSITIONS = frozenset({"in", "at", "from", "to", "near", "visited", "visit"})
_STATE_VERBS = frozenset(
    {"is", "was", "are", "were", "am", "feel", "felt", "feeling", "seems", "seemed", "looks"}
)


_INTENT_CUES = CasedPattern.of(
    r"\b(?:want(?:s|ed)? to|plan(?:s|ned|ning)? to|going to|gonna|intend(?:s|ed)? to|"
    r"need(?:s|ed)? to|hope(?:s|d)? to|goal is to|todo:?|aim(?:s|ing)? to)\s+(?P<what>[a-z]+)"
)
_SENSORY_CUES = CasedPattern.of(
    r"\b(?:saw|seen|see|heard|hear|smell(?:ed)?|tasted?|watched|shares? image:?|photo of)"
    r"\s+(?:a |an |the |of )?(?P<what>[a-z]+)"
)
_TIME_WORDS = frozenset(
    """yesterday today tonight tomorrow ago week weeks weekend month months year years day days
    morning evening afternoon night monday tuesday wednesday thursday friday saturday sunday
    january february march april june july august september october november december
    recently""".split()
)
_COMMON_STARTERS = frozenset(
    stem(word)
    for word in """just well also great sure glad awesome definitely totally absolutely love
    yep nice cool good sounds maybe actually honestly anyway remember congrats congratulations
    sorry hope wish agree exactly true right wait look listen guess bye welcome see take make
    let try keep tell give find use set met went got had did said told asked decided decision
    todo reason note update fact plan goal idea question answer today yesterday tomorrow thank
    thanks hey hi hello oh wow yeah yes ok okay no not what when where who why how which
    please check add fix run build deploy write read call send ask start stop open close""".split()
)
_PLACE_WORDS = frozenset(
    stem(word)
    for word in """home office cafe coffee restaurant park beach school university college
    library museum gym hospital church station airport city town village country lake mountain
    shop store mall studio bar club theater cinema zoo garden camp hotel kitchen""".split()
)
# (cue, synapse type, direction: True when the link runs from the clause after the cue).
_CUES: tuple[tuple[CasedPattern, SynapseType, bool], ...] = tuple(
    (CasedPattern.of(pattern), kind, backwards)
    for pattern, kind, backwards in (
        (r"\b(?:because|since|due to|caused by|thanks to|reason:)", SynapseType.CAUSED_BY, False),
        (
            r"\b(?:so that|therefore|thus|led to|leads to|resulted in|so)\b",
            SynapseType.LEADS_TO,
            False,
        ),
        (r"\b(?:before)\b", SynapseType.BEFORE, False),
        (r"\b(?:after|afterwards)\b", SynapseType.AFTER, False),
        (r"\b(?:during|while)\b", SynapseType.DURING, False),
        (r"\b(?:enables?|allows?|lets)\b", SynapseType.ENABLES, False),
        (r"\b(?:prevents?|avoids?|stops?|blocks?)\b", SynapseType.PREVENTS, False),
        (r"\b(?:is an?|are an?|was an?|kind of|type of)\b", SynapseType.IS_A, False),
    )
)

# Enum members as module constants: looking a member up on its Enum class costs several
# times a global's lookup, and the loops below do it for every word and link.
_ENTITY, _SPATIAL, _STATE = NeuronType.ENTITY, NeuronType.SPATIAL, NeuronType.STATE
_ACTION, _CONCEPT, _TIME = NeuronType.ACTION, NeuronType.CONCEPT, NeuronType.TIME
_INTENT, _SENSORY = NeuronType.INTENT, NeuronType.SENSORY
_RELATED_TO, _CO_OCCURS = SynapseType.RELATED_TO, SynapseType.CO_OCCURS
_HAPPENED_AT, _HAS_PROPERTY = SynapseType.HAPPENED_AT, SynapseType.HAS_PROPERTY
_RANK = {_ENTITY: 0, _TIME: 0, _SPATIAL: 1, _INTENT: 1}
"""How telling a neuron type is when a long text keeps only some (lower: kept first)."""
_PROPER = (_ENTITY, _SPATIAL)
_ACTING = (_ACTION, _INTENT)

_ANY_CUE = CasedPattern.of("|".join(pattern.lower.pattern for pattern, _, _ in _CUES))
"""Matches where any cue does: a text without a cue word is not scanned once per cue."""


# ExtractedNeuron and ExtractedLink are named tuples, not frozen dataclasses: extraction makes
# about twenty per memory, and a tuple is made several times faster (and pickles smaller for
# a planner process).
class ExtractedNeuron(NamedTuple):
    """A neuron a text names: its identity key, type, display text and first position."""

    key: str
    type: NeuronType
    content: str
    position: int


class ExtractedLink(NamedTuple):
    """A typed link between two extracted neurons (by key)."""

    source_key: str
    target_key: str
    type: SynapseType
    bidirectional: bool


@dataclass(frozen=True, slots=True)
class Extraction:
    """Everything the encoder needs from one text."""

    neurons: tuple[ExtractedNeuron, ...]
    links: tuple[ExtractedLink, ...]
    terms: tuple[str, ...]
    time_spans: tuple[TimeSpan, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """Neuron keys in pathway order."""
        return tuple(neuron.key for neuron in self.neurons)


def word_key(word: str) -> str:
    """The key of the neuron for a single word (case and inflection folded)."""
    return f"word:{stem(word.casefold())}"


def extract(
    text: str,
    moment: datetime,
    *,
    speaker: str | None = None,
    with_own_day: bool = True,
) -> Extraction:
    """Neurons, links, lexical terms and time spans of ``text`` written at ``moment``."""
    spans = find_time_spans(text, moment)
    found: dict[str, ExtractedNeuron] = {}
    matches = list(_WORD.finditer(text))
    scan = CaseScan.of(text)
    _add_words(text, matches, found)
    _add_names(text, matches, found)
    for span in spans:
        label = span.label
        _put(found, f"time:{label}", _TIME, label, _pos(text, span.text))
    _retype(found, _INTENT_CUES, scan, _INTENT)
    _retype(found, _SENSORY_CUES, scan, _SENSORY)
    ordered = sorted(found.values(), key=_BY_POSITION)
    kept = _keep_most_telling(ordered)
    if speaker:
        kept.insert(0, ExtractedNeuron(word_key(speaker), _ENTITY, speaker, -1))
    own_day = moment.date().isoformat()  # the label of the memory's day (``day_span``)
    own_day_key = f"time:{own_day}"
    if with_own_day and all(n.key != own_day_key for n in kept):
        kept.append(ExtractedNeuron(own_day_key, _TIME, own_day, 10**9))
    neurons = tuple(_dedupe(kept))
    links = _links(scan, neurons, own_day_key if with_own_day else None)
    return Extraction(neurons, links, tuple(document_terms(text, speaker)), tuple(spans))


_BY_POSITION = operator.itemgetter(3, 0)
"""An extracted neuron's (position, key): the order of a memory's neurons."""


def _add_words(text: str, words: list[re.Match[str]], found: dict[str, ExtractedNeuron]) -> None:
    previous = ""
    for match in words:
        word = _word(match.group(0))
        if word.skipped:
            previous = word.folded
            continue
        start = match.start()
        sentence_start = word.capital and _starts_sentence(text, start)
        kind = _word_type(word, previous, sentence_start)
        proper = word.capital and kind in _PROPER
        _put(found, word.key, kind, word.raw if proper else word.folded, start)
        previous = word.folded


class _Word(NamedTuple):
    """What a word is, whatever its neighbours: worked out once per spelling."""

    raw: str
    folded: str
    key: str
    skipped: bool
    capital: bool
    name_like: bool  # an acronym, or a capitalised word that reads like a name
    place: bool
    action: bool


@lru_cache(maxsize=65_536)
def _word(matched: str) -> _Word:
    raw = matched.strip("'’-")
    word = raw.casefold()
    skipped = (
        len(word) < 2
        or word in STOP_WORDS
        or word in _TIME_WORDS
        or (word.isdigit() and len(word) < 5)
    )
    return _Word(
        raw=raw,
        folded=word,
        key="" if skipped else word_key(word),
        skipped=skipped,
        capital=raw[0].isupper(),
        name_like=(raw.isupper() and len(raw) <= 5) or _looks_like_name(word),
        place=stem(word) in _PLACE_WORDS,
        action=word.endswith(("ed", "ing")) and len(word) > 4,
    )


def _word_type(word: _Word, previous: str, sentence_start: bool) -> NeuronType:
    if word.capital and (not sentence_start or word.name_like):
        return _SPATIAL if previous in _PLACE_PREPOSITIONS else _ENTITY
    if word.place:
        return _SPATIAL
    if previous in _STATE_VERBS:
        return _STATE
    if word.action:
        return _ACTION
    return _CONCEPT


def _looks_like_name(word: str) -> bool:
    """Whether a capitalised first word of a sentence is probably a name, not a plain word."""
    return (
        not word.endswith(("ed", "ing", "ly", "s"))
        and stem(word) not in _COMMON_STARTERS
        and stem(word) not in _PLACE_WORDS
    )


def _add_names(text: str, words: list[re.Match[str]], found: dict[str, ExtractedNeuron]) -> None:
    """Multi-word capitalised names ("New York", "Carol Smith") get a neuron of their own."""
    run: list[re.Match[str]] = []
    for match in [*words, None]:
        capital = match is not None and text[match.start()].isupper()
        adjacent = match is not None and run and text[run[-1].end() : match.start()] == " "
        if capital and (not run or adjacent):
            run.append(match)  # type: ignore[arg-type]
            continue
        if len(run) >= 2:  # a shorter run names nothing
            _add_name(text, run, found)
        run = [match] if capital and match is not None else []


def _add_name(text: str, run: list[re.Match[str]], found: dict[str, ExtractedNeuron]) -> None:
    """The name a run of adjacent capitalised words makes, if it is one."""
    if _starts_sentence(text, run[0].start()):
        run = run[1:]  # a capitalised first word of a sentence is rarely part of a name
    names = [m.group(0) for m in run if m.group(0).casefold() not in STOP_WORDS]
    if len(names) >= 2:
        name = " ".join(names)
        _put(found, f"entity:{name.casefold()}", _ENTITY, name, run[0].start())


def _retype(
    found: dict[str, ExtractedNeuron], pattern: CasedPattern, scan: CaseScan, kind: NeuronType
) -> None:
    for match in scan.finditer(pattern):
        key = word_key(match.group("what"))
        old = found.get(key)
        if old is not None:
            found[key] = old._replace(type=kind)


def _keep_most_telling(ordered: list[ExtractedNeuron]) -> list[ExtractedNeuron]:
    if len(ordered) <= MAX_NEURONS_PER_MEMORY:
        return list(ordered)
    chosen = sorted(ordered, key=lambda n: (_RANK.get(n.type, 2), n.position))
    keep = {n.key for n in chosen[:MAX_NEURONS_PER_MEMORY]}
    return [n for n in ordered if n.key in keep]


def _links(
    scan: CaseScan, neurons: tuple[ExtractedNeuron, ...], own_day_key: str | None
) -> tuple[ExtractedLink, ...]:
    links: dict[tuple[str, str, SynapseType], bool] = {}  # the first of each link is kept
    content = [n for n in neurons if n.key != own_day_key]
    keys = [n.key for n in content]
    for left, right in itertools.pairwise(keys):
        if left != right:
            links.setdefault((left, right, _RELATED_TO), True)
    entities = [n.key for n in content if n.type is _ENTITY][:MAX_LINKED_ENTITIES]
    for index, left in enumerate(entities):
        for right in entities[index + 1 :]:
            if left != right:
                links.setdefault((left, right, _CO_OCCURS), True)
    if own_day_key is not None:
        for neuron in content:
            if neuron.type in _HAPPENING:
                links.setdefault((neuron.key, own_day_key, _HAPPENED_AT), False)
    if entities:
        for neuron in content:
            if neuron.type is _STATE and neuron.key != entities[0]:
                links.setdefault((entities[0], neuron.key, _HAS_PROPERTY), False)
    for source, target, kind, both in _cue_links(scan, content):
        if source != target:
            links.setdefault((source, target, kind), both)
    return tuple([_new_tuple(ExtractedLink, (*key, both)) for key, both in links.items()])


_new_tuple = tuple.__new__
"""Makes a named tuple from a tuple of its fields in C (its ``__new__`` is Python code, which
cost a third of building a memory's dozen links)."""

_HAPPENING = frozenset({_ENTITY, _ACTION, _INTENT})
"""Neurons that happened on the memory's day (linked to it)."""


def _cue_links(
    scan: CaseScan, neurons: list[ExtractedNeuron]
) -> list[tuple[str, str, SynapseType, bool]]:
    """Link the clause before a cue word to the clause after it."""
    found: list[tuple[str, str, SynapseType, bool]] = []
    if not scan.search(_ANY_CUE):
        return found
    for pattern, kind, _ in _CUES:
        for match in scan.finditer(pattern):
            before = [n for n in neurons if 0 <= n.position < match.start()]
            after = [n for n in neurons if n.position >= match.end()]
            if before and after:
                found.append((_main(before).key, _main(after).key, kind, False))
    return found


def _main(clause: list[ExtractedNeuron]) -> ExtractedNeuron:
    """The most telling neuron of a clause: its first action, else its last neuron."""
    actions = [n for n in clause if n.type in _ACTING]
    return actions[0] if actions else clause[-1]


def _put(
    found: dict[str, ExtractedNeuron], key: str, kind: NeuronType, content: str, position: int
) -> None:
    current = found.get(key)
    if current is None:
        found[key] = ExtractedNeuron(key, kind, content, position)
    elif kind is _ENTITY and current.type is not _ENTITY:
        found[key] = ExtractedNeuron(key, kind, content, current.position)


def _dedupe(neurons: list[ExtractedNeuron]) -> list[ExtractedNeuron]:
    seen: set[str] = set()
    unique = []
    for neuron in neurons:
        if neuron.key not in seen:
            seen.add(neuron.key)
            unique.append(neuron)
    return unique


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the (up to) three characters before ``start`` end a sentence.

    That is: the last of them that is not whitespace ends a sentence, or a line break
    follows it (a line break is both).
    """
    if start == 0:
        return True
    before = text[max(0, start - 3) : start]
    kept = before.rstrip()
    return (kept != "" and kept[-1] in _SENTENCE_ENDS) or "\n" in before[len(kept) :]


def _pos(text: str, fragment: str) -> int:
    index = text.find(fragment)
    return index if index >= 0 else len(text)
