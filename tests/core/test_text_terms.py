"""A memory's terms computed elsewhere (a planner process) are used instead of computed again."""

from __future__ import annotations

from neural_memory.core import text


def test_terms_given_for_a_memory_are_what_document_terms_returns_for_it() -> None:
    content = "Zanzibar kayaks were rented by Quillon on a windy Tuesday"
    text.remember_document_terms(content, "Mel", ("given", "terms"))
    assert text.document_terms(content, "Mel") == ["given", "terms"]
    assert text.document_terms(content, None) == text.terms(content)  # another speaker


def test_given_terms_are_bounded() -> None:
    for i in range(10_000):
        text.remember_document_terms(f"memory number {i}", None, ("x",))
    assert len(text._GIVEN_TERMS) <= text._GIVEN_AT_MOST
    text._GIVEN_TERMS.clear()
