"""The 78-card Rider-Waite-Smith deck (package data), the two spreads, and the audited card draw.

Randomness comes from ``secrets.SystemRandom`` (the OS CSPRNG): the spread size is
3 or 5 with equal odds (seed 000), the cards are a uniform sample without
replacement, and each card is upright or reversed with equal odds. Every draw gets
a ``draw_id`` and is stored with the reading so it can be audited later.
"""

from __future__ import annotations

import json
import secrets
import uuid
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal

Orientation = Literal["upright", "reversed"]
_rng = secrets.SystemRandom()


@dataclass(frozen=True)
class Side:
    """One orientation of a card: its keywords and what it means, in English and Thai."""

    keywords: tuple[str, ...]
    meaning: str
    keywords_th: tuple[str, ...] = ()
    meaning_th: str = ""


@dataclass(frozen=True)
class Card:
    """A card of the deck as shipped in ``data/deck.json``."""

    id: str
    name: str
    name_th: str
    arcana: Literal["major", "minor"]
    suit: str | None
    number: int
    upright: Side
    reversed: Side
    theme_th: str

    def side(self, orientation: Orientation) -> Side:
        return self.upright if orientation == "upright" else self.reversed


@dataclass(frozen=True)
class Position:
    """A place in a spread: what it stands for, in English and Thai."""

    key: str
    label: str
    label_th: str
    focus: str


# 3 cards: the classic time line. 5 cards: the time line plus what helps and what
# stands in the way, which suits the advice-seeking questions the app gets.
SPREADS: dict[int, tuple[Position, ...]] = {
    3: (
        Position("past", "Past", "อดีต", "what led to this situation"),
        Position("present", "Present", "ปัจจุบัน", "where things stand now"),
        Position("future", "Future", "อนาคต", "where things are heading"),
    ),
    5: (
        Position("past", "Past", "อดีต", "what led to this situation"),
        Position("present", "Present", "ปัจจุบัน", "where things stand now"),
        Position("challenge", "Challenge", "อุปสรรค", "what stands in the way"),
        Position("advice", "Advice", "คำแนะนำ", "the approach that helps most"),
        Position("outcome", "Outcome", "ผลลัพธ์", "the likely outcome if nothing changes"),
    ),
}


@dataclass(frozen=True)
class DrawnCard:
    """A card as it fell: where, which, and which way up."""

    position: Position
    card: Card
    orientation: Orientation

    @property
    def meaning(self) -> str:
        return self.card.side(self.orientation).meaning

    @property
    def keywords(self) -> tuple[str, ...]:
        return self.card.side(self.orientation).keywords

    @property
    def meaning_th(self) -> str:
        return self.card.side(self.orientation).meaning_th

    @property
    def keywords_th(self) -> tuple[str, ...]:
        return self.card.side(self.orientation).keywords_th

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position.key,
            "position_label": self.position.label,
            "position_label_th": self.position.label_th,
            "card_id": self.card.id,
            "name": self.card.name,
            "name_th": self.card.name_th,
            "arcana": self.card.arcana,
            "suit": self.card.suit,
            "orientation": self.orientation,
            "keywords": list(self.keywords),
            "meaning": self.meaning,
            "keywords_th": list(self.keywords_th),
            "meaning_th": self.meaning_th,
        }


@dataclass(frozen=True)
class Draw:
    """One audited draw: its id and the cards in spread order."""

    draw_id: str
    cards: tuple[DrawnCard, ...]

    @property
    def card_count(self) -> int:
        return len(self.cards)

    def as_dict(self) -> dict[str, Any]:
        return {
            "draw_id": self.draw_id,
            "card_count": self.card_count,
            "cards": [c.as_dict() for c in self.cards],
        }


def _side(raw: dict[str, Any]) -> Side:
    return Side(
        keywords=tuple(raw["keywords"]),
        meaning=raw["meaning"],
        keywords_th=tuple(raw.get("keywords_th", ())),
        meaning_th=raw.get("meaning_th", ""),
    )


@cache
def load_deck() -> tuple[Card, ...]:
    """The 78 cards, read once from the package."""
    raw = json.loads(resources.files("conjure.apps.tarot").joinpath("data/deck.json").read_text("utf-8"))
    return tuple(
        Card(
            id=c["id"],
            name=c["name"],
            name_th=c["name_th"],
            arcana=c["arcana"],
            suit=c["suit"],
            number=c["number"],
            upright=_side(c["upright"]),
            reversed=_side(c["reversed"]),
            theme_th=c["theme_th"],
        )
        for c in raw["cards"]
    )


def card_by_name(name: str) -> Card | None:
    """Look a card up by its English name (case-insensitive)."""
    wanted = name.strip().casefold()
    return next((c for c in load_deck() if c.name.casefold() == wanted), None)


def choose_card_count() -> int:
    """3 or 5, with equal odds, from the OS CSPRNG."""
    return 3 if secrets.randbelow(2) == 0 else 5


def draw_cards(count: int | None = None) -> Draw:
    """Draw a spread: the count (random 3/5 unless given), distinct cards, random orientations."""
    count = choose_card_count() if count is None else count
    if count not in SPREADS:
        raise ValueError(f"no spread with {count} cards")
    cards = _rng.sample(load_deck(), count)
    drawn = tuple(
        DrawnCard(position, card, "upright" if secrets.randbelow(2) == 0 else "reversed")
        for position, card in zip(SPREADS[count], cards, strict=True)
    )
    return Draw(draw_id=uuid.uuid4().hex, cards=drawn)
