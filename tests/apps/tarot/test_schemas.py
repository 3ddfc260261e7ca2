"""Question validation as a property: 8–180 characters after trimming, no control characters."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from conjure.apps.tarot.schemas import ReadRequest


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch).startswith("C") and ch not in "\u200d\ufe0f" for ch in text)


@given(st.text(max_size=200))
def test_question_rule_holds_for_any_text(text: str) -> None:
    trimmed = text.strip()
    valid = 8 <= len(trimmed) <= 180 and not _has_control(trimmed)
    try:
        request = ReadRequest(question=text)
    except ValidationError:
        assert not valid
    else:
        assert valid
        assert request.question == trimmed


@pytest.mark.parametrize("question", ["ดวงความรักเดือนนี้", "Will it work out? 👩‍👩‍👧✨", "x" * 180])
def test_thai_emoji_and_boundary_questions_are_valid(question: str) -> None:
    assert ReadRequest(question=question).question == question
