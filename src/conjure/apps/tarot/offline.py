"""The ``offline`` provider's answers: rule-based filter and analyzer, a reading built from card meanings.

Deterministic and network-free, so the embedded default gives a real, useful reading
(and tests are stable). The result is labelled offline wherever it is shown.
"""

from __future__ import annotations

from collections import Counter

from conjure.apps.tarot.agents import (
    CardInterpretation,
    QuestionAnalysis,
    ReadingDraft,
)
from conjure.apps.tarot.deck import Draw, DrawnCard
from conjure.apps.tarot.rules import THAI, analyze_question, detect_language, screen_question

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


AREA = {
    "en": {
        "love": "your love life",
        "career": "your work",
        "finance": "your finances",
        "health": "your wellbeing",
        "family": "your family",
        "education": "your studies",
        "personal_growth": "your personal growth",
        "spiritual": "your spiritual path",
        "general": "your situation",
    },
    "th": {
        "love": "เรื่องความรัก",
        "career": "เรื่องการงาน",
        "finance": "เรื่องการเงิน",
        "health": "เรื่องสุขภาพ",
        "family": "เรื่องครอบครัว",
        "education": "เรื่องการเรียน",
        "personal_growth": "การพัฒนาตัวเอง",
        "spiritual": "เส้นทางจิตวิญญาณ",
        "general": "สถานการณ์ของคุณ",
    },
}
SUIT_TH = {"wands": "ไม้เท้า", "cups": "ถ้วย", "swords": "ดาบ", "pentacles": "เหรียญ"}
ELEMENT_MESSAGE = {
    "wands": ("energy and initiative", "พลังและความกระตือรือร้น"),
    "cups": ("feelings and relationships", "ความรู้สึกและความสัมพันธ์"),
    "swords": ("thoughts and hard decisions", "ความคิดและการตัดสินใจ"),
    "pentacles": ("practical, material matters", "เรื่องที่จับต้องได้และการเงิน"),
}


POSITION_EN = {
    "past": "Looking back, {card} shows that {area} has been shaped by {k0} and {k1}.",
    "present": "Right now, {card} puts {k0} at the centre of {area}.",
    "future": "Ahead{when}, {card} points towards {k0} and {k1} in {area}.",
    "challenge": "What stands in the way in {area} is {k0}; {card} asks you to face it honestly.",
    "advice": "{card} asks you to pay attention to {k0} and {k1} as you handle {area}.",
    "outcome": "If things continue as they are, {card} suggests {k0} and {k1} for {area}{when}.",
}
POSITION_TH = {
    "past": "ในอดีต {area}ได้รับอิทธิพลจาก{theme}",
    "present": "ตอนนี้ {theme}คือหัวใจของ{area}",
    "future": "ในอนาคต{when} {area}มีแนวโน้มไปสู่{theme}",
    "challenge": "อุปสรรคที่ต้องก้าวผ่านใน{area}คือ{theme}",
    "advice": "ไพ่แนะนำให้คุณใช้{theme}เป็นแนวทางใน{area}",
    "outcome": "ถ้าทุกอย่างดำเนินไปเช่นนี้ ผลลัพธ์ของ{area}{when}คือ{theme}",
}
WHEN = {
    "en": {"near_future": " in the coming weeks", "long_term": " over the longer run"},
    "th": {"near_future": "อันใกล้", "long_term": "ระยะยาว"},
}


def _interpret(drawn: DrawnCard, analysis: QuestionAnalysis, area: str, lang: str) -> str:
    pos, card = drawn.position, drawn.card
    when = WHEN[lang].get(analysis.timeframe, "")
    if lang == "th":
        reversed_ = drawn.orientation == "reversed"
        name = f"ไพ่{card.name_th} ({card.name}){' กลับหัว' if reversed_ else ''}"
        flow = (
            "แต่ไพ่กลับหัวบอกว่าพลังนี้ยังติดขัดหรือล่าช้า ต้องใช้ความอดทนและทบทวนตัวเอง"
            if reversed_
            else "พลังของไพ่ใบนี้ไหลลื่นและเป็นใจให้คุณ"
        )
        line = POSITION_TH[pos.key].format(area=area, theme=card.theme_th, when=when)
        return f"{name} — {line} {flow}"
    name = f"{card.name}{' (reversed)' if drawn.orientation == 'reversed' else ''}"
    k0, k1 = drawn.keywords[0], drawn.keywords[1]
    line = POSITION_EN[pos.key].format(card=name, area=area, k0=k0, k1=k1, when=when)
    return f"{line[0].upper()}{line[1:]} {drawn.meaning}"


def _synthesis(draw: Draw, area: str, lang: str) -> str:
    majors = sum(1 for d in draw.cards if d.card.arcana == "major")
    reversed_count = sum(1 for d in draw.cards if d.orientation == "reversed")
    suits = Counter(d.card.suit for d in draw.cards if d.card.suit)
    suit, suit_hits = suits.most_common(1)[0] if suits else (None, 0)
    first, last = draw.cards[0], draw.cards[-1]
    idx = 1 if lang == "th" else 0
    if lang == "th":
        parts = [f"ไพ่ {draw.card_count} ใบนี้เล่าถึง{area} จาก{first.card.name_th}ไปสู่{last.card.name_th}"]
        if majors >= 2:
            parts.append(f"มีไพ่ชุดใหญ่ {majors} ใบ แสดงว่าเรื่องนี้เป็นช่วงสำคัญของชีวิต")
        if suit and suit_hits >= 2:
            parts.append(f"ไพ่ชุด{SUIT_TH[suit]}ที่เด่นชี้ไปที่{ELEMENT_MESSAGE[suit][idx]}")
        parts.append(
            "ไพ่กลับหัวหลายใบบอกว่ายังมีสิ่งที่ต้องคลี่คลายก่อน"
            if reversed_count * 2 > draw.card_count
            else "ไพ่ส่วนใหญ่ตั้งตรง พลังโดยรวมจึงเป็นใจให้คุณ"
        )
        return " ".join(parts)
    parts = [
        f"Together these {draw.card_count} cards tell a story about {area}, moving from "
        f"{first.card.name} to {last.card.name}."
    ]
    if majors >= 2:
        parts.append(
            f"With {majors} Major Arcana cards, this is a significant chapter rather than a passing mood."
        )
    if suit and suit_hits >= 2:
        parts.append(f"The run of {suit} puts the weight on {ELEMENT_MESSAGE[suit][idx]}.")
    parts.append(
        "Several cards are reversed, so some energy is blocked or still forming; patience matters."
        if reversed_count * 2 > draw.card_count
        else "Most cards are upright, so the overall current is with you."
    )
    return " ".join(parts)


def _advice(draw: Draw, analysis: QuestionAnalysis, lang: str) -> str:
    guide = next((d for d in draw.cards if d.position.key == "advice"), draw.cards[-1])
    keyword = guide.keywords[0]
    if lang == "th":
        calm = "ให้เวลากับตัวเองและหายใจลึกๆ ก่อนตัดสินใจ " if analysis.emotion in ("anxious", "sad") else ""
        return (
            f"{calm}ยึดพลังของไพ่{guide.card.name_th} ซึ่งสื่อถึง{guide.card.theme_th} เป็นแนวทาง "
            "และเลือกก้าวเล็กๆ ที่ทำได้จริงในสัปดาห์นี้"
        )
    calm = "Give yourself some calm before you decide. " if analysis.emotion in ("anxious", "sad") else ""
    return (
        f"{calm}Let {guide.card.name} guide you: lean into {keyword}, and choose one small, concrete step "
        "you can take this week."
    )


def compose_reading(question: str, analysis: QuestionAnalysis, draw: Draw, lang: str) -> ReadingDraft:
    """Step 4 offline: interpret each drawn card in its position, then a synthesis and advice."""
    area = AREA[lang][analysis.category]
    cards = [
        CardInterpretation(
            position=d.position.key, card=d.card.name, interpretation=_interpret(d, analysis, area, lang)
        )
        for d in draw.cards
    ]
    synthesis = _synthesis(draw, area, lang) + " " + OFFLINE_NOTE[lang]
    return ReadingDraft(cards=cards, synthesis=synthesis, advice=_advice(draw, analysis, lang))
