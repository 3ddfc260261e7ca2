"""Prompt files, base64 overrides and prompt versions."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from conjure.ai.prompts import PromptError, load_prompts
from conjure.apps.tarot.pipeline import PROMPT_NAMES, packaged_prompt_version, tarot_prompts
from conjure.settings import Settings


def test_packaged_prompts_load_with_a_stable_version() -> None:
    first = load_prompts("conjure.apps.tarot", PROMPT_NAMES)
    second = load_prompts("conjure.apps.tarot", PROMPT_NAMES)
    assert set(first.texts) == set(PROMPT_NAMES)
    assert all(len(text) > 100 for text in first.texts.values())
    assert first.version == second.version == packaged_prompt_version()
    assert first.version.startswith("p-")
    assert "never repeat" in first["READING-AGENT"].lower()


def test_base64_override_replaces_one_prompt_and_changes_the_version(
    make_settings: Callable[..., Settings],
) -> None:
    secret = "Tu es une voyante. Réponds en JSON."
    settings = make_settings(prompt_reading_agent=base64.b64encode(secret.encode()).decode())
    prompts = tarot_prompts(settings)
    assert prompts["READING-AGENT"] == secret
    assert prompts.overridden == {"READING-AGENT"}
    assert prompts.version != packaged_prompt_version()
    assert secret not in repr(prompts)


def test_invalid_override_fails_without_echoing_it() -> None:
    with pytest.raises(PromptError) as info:
        load_prompts("conjure.apps.tarot", PROMPT_NAMES, {"QUESTION-FILTER": "not base64 !!! secret"})
    assert "secret" not in str(info.value)
    assert "QUESTION-FILTER" in str(info.value)
