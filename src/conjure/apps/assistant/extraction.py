"""Durable facts about a person in what they wrote: names, preferences, goals, circumstances.

With a model configured (``ASSISTANT_MEMORY_EXTRACTOR=auto``: the local model, else the API
fallback, through the assistant's router), the model is asked for the facts as JSON
(:data:`CATEGORIES`, one short third-person sentence each); the answer is parsed strictly
(:func:`parse_model_facts`) and anything but the expected shape counts as no answer. Without a
model, or when its answer is unusable, the offline extractor reads first-person statements with
a small set of patterns ("my name is", "I love", "I'm allergic to", "my goal is" ...; in Thai
"ฉันชื่อ", "ฉันชอบ", "ฉันแพ้", "เป้าหมายของฉันคือ" ..., :mod:`conjure.apps.assistant.thai`) and
restates each as a short fact about the person in the language it was written in, which is what
the memory stores and what a person sees under "what is remembered". Either way at most
``ASSISTANT_MEMORY_MAX_FACTS`` facts a message.

What a person wrote and what is extracted from it is personal data: it is never logged (the
log lines say how many facts, which model, what went wrong, never the text).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import structlog
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from conjure.apps.assistant.responders import Answer, ChatRequest, Turn
from conjure.apps.assistant.routing import ModelRouter, ask_in_background, router_for
from conjure.apps.assistant.settings import AssistantSettings
from conjure.apps.assistant.thai import is_thai, speaks_of_themselves, thai_facts

if TYPE_CHECKING:
    from conjure.settings import Settings

log = structlog.get_logger("conjure.apps.assistant.extraction")
CATEGORIES = ("preference", "name", "goal", "fact")
FACT_MAX_CHARS = 200
EXTRACTION_MAX_TOKENS = 400


@dataclass(frozen=True)
class Fact:
    content: str
    category: str  # name, preference, goal, person, place, work, health, fact


_END = r"(?P<x>[^.!?\n;]{1,80})"
_PEOPLE = "wife|husband|partner|son|daughter|mother|mom|father|dad|sister|brother|friend|dog|cat|boss"
# (pattern, category, how the fact reads)
_RULES: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(rf"\bmy name is {_END}", re.I), "name", "Their name is {x}."),
    (re.compile(rf"\bcall me {_END}", re.I), "name", "They like to be called {x}."),
    (
        re.compile(
            rf"\bmy (?P<who>{_PEOPLE})(?:'s name)? is (?:called |named )?{_END}",
            re.I,
        ),
        "person",
        "Their {who} is {x}.",
    ),
    (re.compile(rf"\bi(?: am|'m) allergic to {_END}", re.I), "health", "They are allergic to {x}."),
    (
        re.compile(r"\bi(?: am|'m) (?:a |an )?(?P<diet>vegetarian|vegan|pescatarian)\b", re.I),
        "preference",
        "They are {diet}.",
    ),
    (
        re.compile(rf"\bi (?:really )?(?P<verb>love|like|enjoy|prefer|hate|dislike) {_END}", re.I),
        "preference",
        "They {verb} {x}.",
    ),
    (
        re.compile(rf"\bmy favou?rite (?P<what>[a-z ]{{2,30}}?) is {_END}", re.I),
        "preference",
        "Their favourite {what} is {x}.",
    ),
    (re.compile(rf"\bmy goal is (?:to )?{_END}", re.I), "goal", "Their goal: {x}."),
    (
        re.compile(rf"\bi(?: want| would like|'d like| hope| plan) to {_END}", re.I),
        "goal",
        "They want to {x}.",
    ),
    (re.compile(rf"\bi(?: am|'m) (?:trying|learning) to {_END}", re.I), "goal", "They are trying to {x}."),
    (re.compile(rf"\bi live in {_END}", re.I), "place", "They live in {x}."),
    (re.compile(rf"\bi(?: am|'m) from {_END}", re.I), "place", "They are from {x}."),
    (re.compile(rf"\bi work (?:as|at|for) {_END}", re.I), "work", "They work {how} {x}."),
    (re.compile(rf"\bmy birthday is {_END}", re.I), "fact", "Their birthday is {x}."),
]
# Where a clause after the fact starts another thought ("... and I love ...", "... but ...").
_NEXT_THOUGHT = re.compile(r"\s+(?:but|because|so|and then|and (?=i\b|i'm\b|my\b))", re.I)
# The person speaking of themselves: "my", "call me", or "I" as a statement's subject. Not "I"
# after an auxiliary ("what should I cook?", "can I ...", "am I ...": a request or a question) and
# not "me" alone ("tell me about ..."), which state nothing about the person.
_AUXILIARY = ("should", "can", "could", "do", "did", "would", "shall", "may", "will", "am", "must", "might")
_AFTER_AUXILIARY = "".join(f"(?<!\\b{word} )" for word in _AUXILIARY)
_SPEAKS_OF_THEMSELVES = re.compile(rf"\b(?:my|call me)\b|{_AFTER_AUXILIARY}\bi\b", re.I)


def might_hold_facts(text: str) -> bool:
    """Cheap pre-check: only text in which the person speaks of themselves is worth an
    extraction job (a job, and with a model configured a model call, per message)."""
    return _SPEAKS_OF_THEMSELVES.search(text) is not None or speaks_of_themselves(text)


def _tidy(value: str) -> str:
    value = " ".join(value.split()).strip(" ,:-\"'")
    # A clause after "and"/"but" is usually another thought, not part of this fact.
    return _NEXT_THOUGHT.split(value, maxsplit=1)[0]


def extract_facts(text: str, limit: int = 5) -> list[Fact]:
    """The facts the person states about themselves in ``text`` (at most ``limit``, no repeats)."""
    facts: list[Fact] = []
    seen: set[str] = set()
    for pattern, category, template in _RULES:
        for match in pattern.finditer(text):
            groups = {k: _tidy(v) if k == "x" else v.lower() for k, v in match.groupdict().items() if v}
            if not groups.get("x", "x"):
                continue
            if "how" in template:
                groups["how"] = match.group(0).split()[2].lower()
            content = template.format(**groups)
            key = content.lower()
            if key not in seen:
                seen.add(key)
                facts.append(Fact(content, category))
    for content, category in thai_facts(text):
        if content not in seen:
            seen.add(content)
            facts.append(Fact(content, category))
    return facts[:limit]


# --- the model ------------------------------------------------------------------------------

PROMPT = """Read the message below, which a person wrote to their assistant. List the durable facts \
it states about the person themselves: their name, preferences, goals, and other lasting facts \
(family, pets, where they live, their work, health, diet). Write each as one short sentence in \
the third person, like "They love hiking." or "Their name is Dao.", in the language the message \
is written in: for a message in Thai, short Thai facts without the pronoun, like "ชอบเดินป่า" or \
"ชื่อดาว". Leave out moods of the moment, questions, requests to you, and anything not about the \
person.

Answer with JSON only, no other text, in exactly this shape:
{{"facts": [{{"category": "preference", "text": "They love hiking."}}]}}
where category is one of "preference", "name", "goal", "fact". With no such facts: {{"facts": []}}.
At most {limit} facts.

The message:
<<<
{message}
>>>"""


class MalformedFacts(ValueError):
    """The model's answer is not the JSON asked for."""


class _ModelFact(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    category: Literal["preference", "name", "goal", "fact"]
    text: str = Field(min_length=3, max_length=FACT_MAX_CHARS)

    @field_validator("text")
    @classmethod
    def _one_line(cls, value: str) -> str:
        text = " ".join(value.split())
        if len(text) < 3:
            raise ValueError("too short")
        return text


class _ModelFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    facts: list[_ModelFact] = Field(max_length=50)


_FENCE = re.compile(r"^\s*```(?:json)?\s*(?P<body>.*?)\s*```\s*$", re.S | re.I)


def parse_model_facts(answer: str, limit: int) -> list[Fact]:
    """The facts in a model's answer (at most ``limit``, no repeats); :class:`MalformedFacts`
    unless it is exactly ``{"facts": [{"category": ..., "text": ...}, ...]}`` (a code fence
    around it is allowed; any other text, a missing or unknown field, a wrong type is not)."""
    fenced = _FENCE.match(answer)
    body = fenced.group("body") if fenced else answer.strip()
    try:
        data = json.loads(body)
        parsed = _ModelFacts.model_validate(data)
    except (ValueError, ValidationError) as exc:
        raise MalformedFacts(type(exc).__name__) from None
    facts: list[Fact] = []
    seen: set[str] = set()
    for item in parsed.facts:
        # An English sentence ends with a full stop; Thai has none ("ชอบเดินป่า" stays as written).
        text = item.text if item.text[-1] in ".!?" or is_thai(item.text[-1]) else item.text + "."
        if text.lower() not in seen:
            seen.add(text.lower())
            facts.append(Fact(text, item.category))
    return facts[:limit]


@dataclass(frozen=True)
class Extraction:
    """The facts of a message and how they were found (``patterns``, or the model's name)."""

    facts: list[Fact]
    source: str
    answer: Answer | None = None  # the model's, for its usage


async def extract(settings: Settings, text: str) -> Extraction:
    """The facts ``text`` states about its writer: the model's (valid JSON), else the patterns'."""
    app = settings.for_app(AssistantSettings)
    limit = max(app.assistant_memory_max_facts, 0)
    router = router_for(settings)
    if app.assistant_memory_extractor == "auto" and isinstance(router, ModelRouter):
        prompt = PROMPT.format(limit=limit, message=text)
        request = ChatRequest(history=[Turn("user", prompt)], max_tokens=EXTRACTION_MAX_TOKENS)
        answer = await ask_in_background(router, request, route="extract")
        if answer is not None:
            try:
                facts = parse_model_facts(answer.text, limit)
            except MalformedFacts as exc:
                # The answer may repeat what the person wrote: its kind of failure and size only.
                log.warning(
                    "memory_extraction_malformed", model=answer.model, error=str(exc), chars=len(answer.text)
                )
            else:
                return Extraction(facts, answer.model, answer)
    return Extraction(extract_facts(text, limit), "patterns")
