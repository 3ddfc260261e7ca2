"""The deck data and the audited draw: completeness, uniqueness, and the 50/50 odds."""

from __future__ import annotations

import math
from collections import Counter

from conjure.apps.tarot.deck import SPREADS, card_by_name, draw_cards, load_deck


def test_the_deck_has_all_78_rws_cards_with_both_meanings() -> None:
    deck = load_deck()
    assert len(deck) == 78
    assert len({c.name for c in deck}) == 78
    assert len({c.id for c in deck}) == 78
    majors = [c for c in deck if c.arcana == "major"]
    assert [c.number for c in majors] == list(range(22))
    assert Counter(c.suit for c in deck if c.arcana == "minor") == {
        "wands": 14,
        "cups": 14,
        "swords": 14,
        "pentacles": 14,
    }
    for card in deck:
        assert card.name_th
        assert card.theme_th
        for side in (card.upright, card.reversed):
            assert len(side.keywords) >= 3
            assert len(side.meaning) > 30
        assert card.upright.meaning != card.reversed.meaning
    assert card_by_name("the fool") is not None
    assert card_by_name("Queen of Cups") is not None


def test_draws_are_distinct_cards_in_spread_positions() -> None:
    for count in (3, 5):
        draw = draw_cards(count)
        assert [d.position.key for d in draw.cards] == [p.key for p in SPREADS[count]]
        assert len({d.card.id for d in draw.cards}) == count
        assert len(draw.draw_id) == 32
    assert [p.key for p in SPREADS[3]] == ["past", "present", "future"]


def test_card_count_and_orientation_are_fair_coins() -> None:
    n = 4000
    draws = [draw_cards() for _ in range(n)]
    counts = Counter(d.card_count for d in draws)
    assert set(counts) == {3, 5}
    # Binomial(n, 1/2): 5 standard deviations is a false-alarm rate under 1e-6.
    bound = 5 * math.sqrt(n * 0.25)
    assert abs(counts[3] - n / 2) < bound
    orientations = Counter(d.orientation for draw in draws for d in draw.cards)
    total = sum(orientations.values())
    assert abs(orientations["upright"] - total / 2) < 5 * math.sqrt(total * 0.25)
    # Every card turns up: the sample covers the whole deck.
    assert len({d.card.id for draw in draws for d in draw.cards}) == 78
    assert len({d.draw_id for d in draws}) == n
