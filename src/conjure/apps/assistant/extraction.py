"""Durable facts about a person in what they wrote: names, preferences, goals, circumstances.

The offline extractor reads first-person statements with a small set of patterns ("my name is",
"I love", "I'm allergic to", "my goal is" ...) and restates each as a short fact about the person,
which is what the memory stores and what a person sees under "what is remembered".
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Fact:
    content: str
    category: str  # name, preference, goal, person, place, work, health, fact


_END = r"(?P<x>[^.!?\n;]{1,80})"
_PEOPLE = "wife|husband|partner|son|daughter|mother|mom|father|dad|sister|brother|friend|dog|cat|boss"
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
_FIRST_PERSON = re.compile(r"\b(i|i'm|i am|my|me|call me)\b", re.I)


def might_hold_facts(text: str) -> bool:
    """Cheap pre-check: only first-person text is worth an extraction job."""
    return _FIRST_PERSON.search(text) is not None


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
    return facts[:limit]
