"""The ``offline`` provider's answers: rule-based filter and analyzer, a reading composed from the cards.

Deterministic and network-free, so the embedded default gives a real, useful reading
(and tests are stable). The result is labelled offline wherever it is shown.

A reading is built, card by card, from the card's meaning for its orientation, a frame
for its position, and a lens for the question's area (love, career, …) through the
card's suit; then a synthesis from the relations between the cards (majors, suit
balance, reversals, repeated numbers, the arc from first to last card, and a leaning
for yes/no questions), and advice from the advice (or future) card. Among equivalent
phrasings one is picked by a hash of the question and the draw, so the same inputs
always give the same text while different questions read differently.
"""

from __future__ import annotations

from conjure.apps.tarot.agents import CardInterpretation, QuestionAnalysis, ReadingDraft
from conjure.apps.tarot.deck import Draw, DrawnCard
from conjure.apps.tarot.lenses import LENS, LENS_REVERSED
from conjure.apps.tarot.phrases import AREA, ELEMENT, FRAMES, SUIT_NAME, WHEN
from conjure.apps.tarot.rules import THAI, analyze_question, detect_language, screen_question
from conjure.apps.tarot.synthesis import (
    POSITION_TH,
    capitalise,
    card_label,
    compose_advice,
    compose_synthesis,
    is_gentle,
    pick,
    side_text,
    tidy,
)

__all__ = [
    "OFFLINE_NOTE",
    "THAI",
    "analyze_question",
    "compose_reading",
    "detect_language",
    "screen_question",
]

OFFLINE_NOTE = {
    "en": "This reading was composed offline from the traditional card meanings; no AI model was used.",
    "th": "คำทำนายนี้สร้างแบบออฟไลน์จากความหมายดั้งเดิมของไพ่ ไม่ได้ใช้โมเดล AI",
}


def _through(drawn: DrawnCard, analysis: QuestionAnalysis, lang: str, seen: dict[str, DrawnCard]) -> str:
    """The area lens for a suit's (or the majors') first card; a later one is tied to the one before."""
    group = drawn.card.suit or "major"
    first = seen.get(group, drawn)
    seen[group] = drawn  # a later card of the suit links to the one just before it
    if first is drawn:
        lens = LENS if drawn.orientation == "upright" else LENS_REVERSED
        return lens[lang][group][analysis.category]
    earlier, here = card_label(first, lang), card_label(drawn, lang)
    if lang == "th":
        where = POSITION_TH[first.position.key]
        if group == "major":
            return f"{here}เป็นไพ่ชุดใหญ่เช่นเดียวกับ{earlier}ในตำแหน่ง{where} สองใบนี้คือแกนหลักของเรื่อง"
        return (
            f"{here}อยู่ชุด{SUIT_NAME[lang][group]}เดียวกับ{earlier}ในตำแหน่ง{where} "
            f"{ELEMENT[lang][group]}จึงร้อยสองตำแหน่งนี้เข้าด้วยกัน"
        )
    if group == "major":
        return (
            f"Like {earlier} in the {first.position.key}, {here} is a Major Arcana card: "
            "the two are the spine of this story."
        )
    return (
        f"{here} shares the suit of {SUIT_NAME[lang][group]} with {earlier} in the {first.position.key}, "
        f"so {ELEMENT[lang][group]} link the two."
    )


def _interpret(
    drawn: DrawnCard, analysis: QuestionAnalysis, question: str, lang: str, seen: dict[str, DrawnCard]
) -> str:
    keywords, meaning = side_text(drawn, lang)
    k0, k1 = keywords[0], keywords[1 % len(keywords)]
    salt = (question, drawn.card.id, drawn.position.key, drawn.orientation)
    frames = FRAMES[lang][drawn.position.key]
    if drawn.position.key == "advice" and not is_gentle(drawn):
        frames = FRAMES[lang]["advice_caution"]
    frame = pick(frames, *salt)
    when = WHEN[lang].get(analysis.timeframe, "") if drawn.position.key in ("future", "outcome") else ""
    area = AREA[lang][analysis.category]
    line = frame.format(card=card_label(drawn, lang), k0=k0, k1=k1, area=area, when=when)
    return tidy(" ".join([capitalise(line), meaning, capitalise(_through(drawn, analysis, lang, seen))]))


def compose_reading(question: str, analysis: QuestionAnalysis, draw: Draw, lang: str) -> ReadingDraft:
    """Step 4 offline: interpret each drawn card in its position, then a synthesis and advice."""
    seen: dict[str, DrawnCard] = {}
    cards = [
        CardInterpretation(
            position=d.position.key,
            card=d.card.name,
            interpretation=_interpret(d, analysis, question, lang, seen),
        )
        for d in draw.cards
    ]
    synthesis = compose_synthesis(question, analysis, draw, lang)
    advice = compose_advice(question, analysis, draw, lang)
    return ReadingDraft(cards=cards, synthesis=f"{synthesis} {OFFLINE_NOTE[lang]}", advice=advice)
