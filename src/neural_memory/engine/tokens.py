"""Token counting for context budgets (a documented approximation, no tokenizer needed).

``count_tokens`` over-estimates rather than under-estimates what BPE tokenizers such as
OpenAI's cl100k produce for English text: it takes the larger of one token per 4 characters
and 4 tokens per 3 words, plus one per punctuation mark, rounded up. Budgets computed with it
are therefore safe to hand to a model.
"""

from __future__ import annotations

import math
import re

__all__ = ["count_tokens", "truncate_to_tokens"]

_WORD = re.compile(r"\S+")
_PUNCT = re.compile(r"[^\w\s]")


def count_tokens(text: str) -> int:
    """An upper-biased estimate of the number of BPE tokens in ``text``."""
    if not text:
        return 0
    words = len(_WORD.findall(text))
    punctuation = len(_PUNCT.findall(text))
    return max(math.ceil(len(text) / 4), math.ceil(words * 4 / 3)) + math.ceil(punctuation / 2)


def truncate_to_tokens(text: str, max_tokens: int) -> str:
    """The longest word-boundary prefix of ``text`` whose count is at most ``max_tokens``."""
    if max_tokens <= 0:
        return ""
    if count_tokens(text) <= max_tokens:
        return text
    words = text.split(" ")
    low, high = 0, len(words)
    while low < high:
        middle = (low + high + 1) // 2
        if count_tokens(" ".join(words[:middle])) <= max_tokens:
            low = middle
        else:
            high = middle - 1
    prefix = " ".join(words[:low])
    while prefix and count_tokens(prefix) > max_tokens:
        prefix = prefix[:-1]
    return prefix
