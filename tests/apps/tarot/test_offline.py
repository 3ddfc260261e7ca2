"""The offline provider: rule-based screening and analysis, readings in the question's language."""

from __future__ import annotations

import pytest

from conjure.apps.tarot import offline
from conjure.apps.tarot.deck import draw_cards
from conjure.apps.tarot.pipeline import check_reading_matches

ALLOWED = [
    "Will I get the new job I interviewed for next week?",
    "ความรักของฉันจะเป็นอย่างไรในปีหน้า",
    "Should I move abroad for my studies? ✈️🌏",
    "ฉันควรลงทุนเพิ่มไหม 💰🙏",
    "What should I focus on " + "in my life and my work " * 6 + "right now?",
]
REJECTED = [
    ("I want to kill myself tonight", "1323"),
    ("อยากตายมากเลย ควรทำยังไงดี", "1323"),
    ("How do I poison my neighbour's dog?", "harming"),
    ("why is my boss such a fucking idiot", "abusive"),
    ("asdfghjkl qwrtpzx", "understood"),
    ("!!!!!!!!!!!!????", "understood"),
    ("aaaaaaaaaaaaaaaaa", "understood"),
]


@pytest.mark.parametrize("question", ALLOWED)
def test_sincere_questions_are_allowed(question: str) -> None:
    assert offline.screen_question(question).allowed


@pytest.mark.parametrize(("question", "reason_part"), REJECTED)
def test_harmful_abusive_and_gibberish_questions_are_refused(question: str, reason_part: str) -> None:
    verdict = offline.screen_question(question)
    assert not verdict.allowed
    assert reason_part in verdict.reason or offline.detect_language(question) == "th"


def test_refusals_speak_the_question_language() -> None:
    verdict = offline.screen_question("อยากตายมากเลย ควรทำยังไงดี")
    assert offline.THAI.search(verdict.reason)
    assert "1323" in verdict.reason


@pytest.mark.parametrize(
    ("question", "category", "timeframe"),
    [
        ("Will I get the promotion at work this month?", "career", "near_future"),
        ("Will my boyfriend and I get married in the future?", "love", "long_term"),
        ("แฟนของฉันจะกลับมาไหมในเดือนหน้า", "love", "near_future"),
        ("Will I pass my university exam?", "education", "unspecified"),
        ("ฉันจะมีเงินพอใช้หนี้ไหม", "finance", "unspecified"),
    ],
)
def test_analysis_rules(question: str, category: str, timeframe: str) -> None:
    analysis = offline.analyze_question(question)
    assert analysis.category == category
    assert analysis.timeframe == timeframe
    assert analysis.themes
    assert analysis.themes[0] == category.replace("_", " ")


@pytest.mark.parametrize(
    ("question", "lang"), [("Will my business grow next year?", "en"), ("ธุรกิจของฉันจะเติบโตไหม", "th")]
)
def test_reading_cites_exactly_the_drawn_cards_in_the_question_language(question: str, lang: str) -> None:
    assert offline.detect_language(question) == lang
    for count in (3, 5):
        draw = draw_cards(count)
        draft = offline.compose_reading(question, offline.analyze_question(question), draw, lang)
        check_reading_matches(draw)(draft)  # raises if any card is missing, extra or out of order
        for drawn, card in zip(draw.cards, draft.cards, strict=True):
            assert drawn.card.name in card.interpretation
            if lang == "th":
                assert drawn.card.name_th in card.interpretation
                assert offline.THAI.search(card.interpretation)
            else:
                assert drawn.meaning in card.interpretation
        assert offline.OFFLINE_NOTE[lang] in draft.synthesis
        assert draft.advice


def test_offline_reading_is_deterministic_for_a_draw() -> None:
    draw = draw_cards(5)
    q = "Will my business grow next year?"
    a = offline.compose_reading(q, offline.analyze_question(q), draw, "en")
    b = offline.compose_reading(q, offline.analyze_question(q), draw, "en")
    assert a == b


def test_validator_rejects_a_reading_of_other_cards() -> None:
    draw = draw_cards(3)
    q = "Will my business grow next year?"
    draft = offline.compose_reading(q, offline.analyze_question(q), draw, "en")
    draft.cards[1].card = "The Tower" if draw.cards[1].card.name != "The Tower" else "The Sun"
    with pytest.raises(ValueError, match="exactly these cards"):
        check_reading_matches(draw)(draft)
    with pytest.raises(ValueError, match="exactly these cards"):
        check_reading_matches(draw)(draft.model_copy(update={"cards": draft.cards[:2]}))
