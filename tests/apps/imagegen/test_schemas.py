"""Prompt validation: length after trimming, and no control characters (property-based)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from conjure.apps.imagegen.schemas import PROMPT_MAX, PROMPT_MIN, GenerationRequest, clean_prompt

printable = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn")), min_size=0, max_size=1100
)


@given(printable)
def test_clean_prompt_accepts_exactly_the_right_lengths(text: str) -> None:
    trimmed = text.strip()
    if PROMPT_MIN <= len(trimmed) <= PROMPT_MAX:
        assert clean_prompt(text) == trimmed
    else:
        with pytest.raises(ValueError, match="characters"):
            clean_prompt(text)


@given(st.text(min_size=1, max_size=20), st.sampled_from(["\x00", "\x1b", "\u202e", "\u200b", "\x7f"]))
def test_control_and_format_characters_are_refused(text: str, bad: str) -> None:
    with pytest.raises(ValueError, match="must"):
        clean_prompt(f"draw {text}{bad} now")


def test_emoji_sequences_and_line_breaks_are_fine() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    prompt = f"a portrait of {family}\nin watercolour"
    assert clean_prompt(prompt) == prompt


def test_request_defaults_and_names_the_field() -> None:
    request = GenerationRequest(prompt="  a cat  ")
    assert (request.prompt, request.size) == ("a cat", "1024x1024")
    with pytest.raises(ValidationError) as caught:
        GenerationRequest(prompt="a cat", size="2048x2048")  # type: ignore[arg-type]
    assert caught.value.errors()[0]["loc"] == ("size",)
