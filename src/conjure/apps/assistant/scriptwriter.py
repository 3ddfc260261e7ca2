"""A guided meditation's script from a model, when one is configured, in the person's language.

The model (the local one, else the API fallback, through the assistant's router, as memory
extraction asks it: :func:`conjure.apps.assistant.routing.ask_in_background`) is asked for the
same structure the offline script has (:mod:`conjure.apps.assistant.script`): as many parts as
that script would have segments, two arriving, the breath, body and theme, two returning, as
JSON. The answer is parsed strictly: exactly that many parts, each a short line, in Thai when the
person reads Thai; anything else counts as no answer and the offline script is used, so a
meditation never depends on a model. The pauses are the offline script's, so the timing rules
hold whoever wrote the words. The theme is the person's text: it is never logged.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from conjure.apps.assistant.phrases import Language
from conjure.apps.assistant.responders import Answer, ChatRequest, Turn
from conjure.apps.assistant.routing import ModelRouter, ask_in_background, router_for
from conjure.apps.assistant.script import Segment, pause_weights, segment_count, write_script
from conjure.apps.assistant.thai import is_thai

if TYPE_CHECKING:
    from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.assistant.scriptwriter")
PART_MAX_CHARS = 400
TOKENS_PER_PART = 250  # Thai takes several tokens a word
_LANGUAGE_NAMES: dict[Language, str] = {"en": "English", "th": "Thai"}
_THAI_NOTE = (
    ' Write natural, calm, polite Thai as a Thai meditation teacher would say it (a woman\'s "ค่ะ"'
    " now and then), not a translation from English."
)

PROMPT = """Write the words a teacher speaks in a guided meditation on the theme below, in \
{language}, as exactly {count} parts in this order: {plan}. Each part is one to three calm, simple \
sentences (at most 300 characters), read aloud slowly with a silence after it: no headings, \
numbers, stage directions or sound cues.{note}

Answer with JSON only, no other text, in exactly this shape:
{{"parts": ["the first part", "the second part"]}}

The theme:
<<<
{theme}
>>>"""


class MalformedScript(ValueError):
    """The model's answer is not the JSON asked for."""


class _Parts(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    parts: list[str] = Field(max_length=14)


_FENCE = re.compile(r"^\s*```(?:json)?\s*(?P<body>.*?)\s*```\s*$", re.S | re.I)


def _plan(count: int) -> str:
    middle = count - 4
    if middle <= 0:
        return "2 parts arriving and settling, then 2 parts returning and opening the eyes"
    return (
        f"2 parts arriving and settling, {middle} parts on the breath, the body and the theme, "
        "then 2 parts returning and opening the eyes"
    )


def prompt_for(theme: str, count: int, language: Language) -> str:
    note = _THAI_NOTE if language == "th" else ""
    return PROMPT.format(
        language=_LANGUAGE_NAMES[language], count=count, plan=_plan(count), note=note, theme=theme
    )


def parse_script(answer: str, count: int, language: Language) -> list[Segment]:
    """The segments in a model's answer; :class:`MalformedScript` unless it is exactly
    ``{"parts": [...]}`` with ``count`` short lines (in Thai for a Thai script)."""
    fenced = _FENCE.match(answer)
    body = fenced.group("body") if fenced else answer.strip()
    try:
        parsed = _Parts.model_validate(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise MalformedScript(type(exc).__name__) from None
    lines = [" ".join(part.split()) for part in parsed.parts]
    if len(lines) != count:
        raise MalformedScript(f"{len(lines)} parts, {count} asked for")
    if any(not 3 <= len(line) <= PART_MAX_CHARS for line in lines):
        raise MalformedScript("a part is empty or too long")
    if language == "th" and not all(is_thai(line) for line in lines):
        raise MalformedScript("a part is not in Thai")
    return [Segment(line, weight) for line, weight in zip(lines, pause_weights(count), strict=True)]


@dataclass(frozen=True)
class Script:
    """A meditation's segments, who wrote them (``offline``, or the model's name) and the model's
    answer (for its usage)."""

    segments: list[Segment]
    source: str
    answer: Answer | None = None


async def compose(settings: Settings, theme: str, minutes: int, language: Language) -> Script:
    """The model's script when one answers with a usable one, else the offline script."""
    count = segment_count(minutes)
    router = router_for(settings)
    if isinstance(router, ModelRouter) and (router.local is not None or router.fallback is not None):
        request = ChatRequest(
            history=[Turn("user", prompt_for(theme, count, language))],
            max_tokens=TOKENS_PER_PART * count,
            language=language,
        )
        answer = await ask_in_background(router, request, route="meditation")
        if answer is not None:
            try:
                return Script(parse_script(answer.text, count, language), answer.model, answer)
            except MalformedScript as exc:
                log.warning("meditation_script_malformed", model=answer.model, error=str(exc))
    return Script(write_script(theme, minutes, language), "offline")
