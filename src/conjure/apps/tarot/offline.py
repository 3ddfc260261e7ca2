"""The ``offline`` provider's answers: rule-based filter and analyzer, a reading built from card meanings.

Deterministic and network-free, so the embedded default gives a real, useful reading
(and tests are stable). The result is labelled offline wherever it is shown.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from typing import TypeVar

from conjure.apps.tarot.agents import (
    CardInterpretation,
    Category,
    FilterVerdict,
    QuestionAnalysis,
    ReadingDraft,
    Timeframe,
)
from conjure.apps.tarot.deck import Draw, DrawnCard

K = TypeVar("K", bound=str)
THAI = re.compile(r"[\u0E00-\u0E7F]")
OFFLINE_NOTE = {
    "en": "This reading was composed offline from the traditional card meanings; no AI model was used.",
    "th": "คำทำนายนี้สร้างแบบออฟไลน์จากความหมายดั้งเดิมของไพ่ ไม่ได้ใช้โมเดล AI",
}

SELF_HARM = re.compile(
    r"\b(kill(ing)? myself|suicid\w*|end(ing)? my (own )?life|self[- ]?harm|hurt(ing)? myself|want to die|"
    r"better off dead)\b|ฆ่าตัวตาย|อยากตาย|ทำร้ายตัวเอง|จบชีวิต",
    re.IGNORECASE,
)
HARM_OTHERS = re.compile(
    r"\b(kill|murder|poison|stab|shoot)\s+(him|her|them|my|someone|somebody|the)\b|\b(make|build) a bomb\b|"
    r"\bstalk\w*\b|ฆ่า(เขา|เธอ|มัน|คน)|วางยา",
    re.IGNORECASE,
)
ABUSE = re.compile(r"\b(fuck\w*|shit\w*|bitch\w*|cunt\w*|asshole\w*|bastard\w*)\b|เหี้ย|ควาย|สัส", re.IGNORECASE)

REFUSALS = {
    "self_harm": {
        "en": "This sounds heavy, and a tarot reading is not the right help for it. "
        "Please talk to someone you trust or a local crisis line (in Thailand, call 1323).",
        "th": "เรื่องนี้ดูหนักใจมาก และการดูไพ่ไม่ใช่ความช่วยเหลือที่เหมาะสม กรุณาพูดคุยกับคนที่คุณไว้ใจ หรือโทรสายด่วนสุขภาพจิต 1323",
    },
    "harm": {
        "en": "Questions about harming or controlling someone else cannot be read.",
        "th": "ไม่สามารถดูไพ่สำหรับคำถามเกี่ยวกับการทำร้ายหรือควบคุมผู้อื่นได้",
    },
    "abuse": {
        "en": "Please ask without abusive language.",
        "th": "กรุณาถามโดยไม่ใช้ถ้อยคำหยาบคาย",
    },
    "gibberish": {
        "en": "The question could not be understood; please ask it in a sentence.",
        "th": "ไม่เข้าใจคำถาม กรุณาพิมพ์คำถามเป็นประโยค",
    },
}


def detect_language(text: str) -> str:
    """``th`` when the question is written in Thai script, else ``en``."""
    return "th" if THAI.search(text) else "en"


def _looks_like_gibberish(question: str) -> bool:
    letters = [ch for ch in question if unicodedata.category(ch).startswith("L")]
    visible = [ch for ch in question if not ch.isspace()]
    if len(letters) < 4 or len(letters) < 0.5 * len(visible):
        return True
    if THAI.search(question):
        return len(set(letters)) < 4
    if max(Counter(ch.lower() for ch in letters).values()) > 0.5 * len(letters):
        return True
    words = re.findall(r"[^\W\d_]+", question.lower())
    latin = [w for w in words if w.isascii()]
    if not latin:
        return False
    plausible = [w for w in latin if re.search(r"[aeiouy]", w) and not re.search(r"[^aeiouy]{5,}", w)]
    return len(plausible) < 0.6 * len(latin)


def screen_question(question: str) -> FilterVerdict:
    """Step 1 offline: refuse self-harm, harm to others, abuse and gibberish; allow the rest."""
    lang = detect_language(question)
    for kind, pattern in (("self_harm", SELF_HARM), ("harm", HARM_OTHERS), ("abuse", ABUSE)):
        if pattern.search(question):
            return FilterVerdict(allowed=False, reason=REFUSALS[kind][lang])
    if _looks_like_gibberish(question):
        return FilterVerdict(allowed=False, reason=REFUSALS["gibberish"][lang])
    ok = "คำถามนี้เหมาะสำหรับการดูไพ่" if lang == "th" else "The question is suitable for a reading."
    return FilterVerdict(allowed=True, reason=ok)


CATEGORY_WORDS: dict[Category, tuple[str, ...]] = {
    "love": (
        "love",
        "partner",
        "boyfriend",
        "girlfriend",
        "crush",
        "relationship",
        "marry",
        "marriage",
        "dating",
        "ex ",
        "soulmate",
        "ความรัก",
        "แฟน",
        "คนรัก",
        "เนื้อคู่",
        "แต่งงาน",
        "คนคุย",
        "รัก",
    ),
    "career": (
        "job",
        "work",
        "career",
        "boss",
        "promotion",
        "interview",
        "business",
        "colleague",
        "office",
        "งาน",
        "อาชีพ",
        "เจ้านาย",
        "สัมภาษณ์",
        "เลื่อนตำแหน่ง",
        "ธุรกิจ",
        "ลาออก",
    ),
    "finance": (
        "money",
        "debt",
        "invest",
        "salary",
        "loan",
        "rich",
        "savings",
        "finance",
        "เงิน",
        "หนี้",
        "ลงทุน",
        "เงินเดือน",
        "การเงิน",
        "รวย",
    ),
    "health": (
        "health",
        "sick",
        "illness",
        "recover",
        "surgery",
        "stress",
        "sleep",
        "สุขภาพ",
        "ป่วย",
        "หาย",
        "ผ่าตัด",
    ),
    "family": (
        "family",
        "mother",
        "father",
        "mom",
        "dad",
        "parents",
        "sister",
        "brother",
        "child",
        "son",
        "daughter",
        "ครอบครัว",
        "พ่อ",
        "แม่",
        "ลูก",
        "พี่",
        "น้อง",
    ),
    "education": (
        "exam",
        "study",
        "school",
        "university",
        "degree",
        "scholarship",
        "สอบ",
        "เรียน",
        "มหาวิทยาลัย",
        "ทุน",
    ),
    "spiritual": (
        "spirit",
        "soul",
        "purpose",
        "meaning of",
        "karma",
        "destiny",
        "จิตวิญญาณ",
        "กรรม",
        "โชคชะตา",
    ),
    "personal_growth": (
        "confidence",
        "myself",
        "change",
        "habit",
        "grow",
        "happy",
        "happiness",
        "ตัวเอง",
        "เปลี่ยนแปลง",
        "มั่นใจ",
        "ความสุข",
    ),
}
EMOTION_WORDS: dict[str, tuple[str, ...]] = {
    "anxious": ("worried", "worry", "anxious", "afraid", "scared", "nervous", "fear", "กังวล", "กลัว", "เครียด"),
    "sad": ("sad", "heartbroken", "lonely", "miss ", "hurt", "lost", "เศร้า", "เสียใจ", "เหงา", "คิดถึง"),
    "confused": ("confused", "unsure", "don't know", "should i", "which", "สับสน", "ไม่แน่ใจ", "ควร"),
    "frustrated": ("angry", "frustrated", "tired of", "fed up", "โกรธ", "เบื่อ", "หงุดหงิด"),
    "hopeful": ("hope", "wish", "excited", "finally", "dream", "หวัง", "อยาก", "ฝัน", "ตื่นเต้น"),
}
TIMEFRAME_WORDS: dict[Timeframe, tuple[str, ...]] = {
    "near_future": (
        "tomorrow",
        "next week",
        "this week",
        "this month",
        "next month",
        "soon",
        "พรุ่งนี้",
        "สัปดาห์หน้า",
        "อาทิตย์หน้า",
        "เดือนนี้",
        "เดือนหน้า",
        "เร็วๆ",
        "เร็ว ๆ",
        "เร็วๆนี้",
    ),
    "long_term": (
        "next year",
        "future",
        "someday",
        "ever ",
        "years",
        "long term",
        "ปีหน้า",
        "อนาคต",
        "ระยะยาว",
    ),
    "present": ("now", "today", "currently", "right now", "ตอนนี้", "วันนี้", "ปัจจุบัน"),
    "past": ("why did", "in the past", "ago", "used to", "เมื่อก่อน", "ที่ผ่านมา", "ทำไมถึง"),
}
THEME_WORDS: dict[str, tuple[str, ...]] = {
    "new beginnings": ("new", "start", "begin", "ใหม่", "เริ่ม"),
    "decision": ("should i", "choose", "decide", "or ", "ควร", "เลือก", "ตัดสินใจ"),
    "reconciliation": ("back together", "ex ", "reconcile", "come back", "กลับมา", "คืนดี"),
    "moving": ("move", "abroad", "relocate", "ย้าย", "ต่างประเทศ"),
    "success": ("succeed", "success", "pass", "win", "สำเร็จ", "ผ่าน", "ชนะ"),
    "trust": ("trust", "honest", "cheat", "ไว้ใจ", "นอกใจ", "ซื่อสัตย์"),
}


def _first_match(text: str, table: Mapping[K, tuple[str, ...]]) -> K | None:
    best: K | None = None
    best_hits = 0
    for key, words in table.items():
        hits = sum(1 for w in words if w in text)
        if hits > best_hits:
            best, best_hits = key, hits
    return best


def analyze_question(question: str) -> QuestionAnalysis:
    """Step 2 offline: keyword rules in English and Thai."""
    text = f" {question.lower()} "
    category = _first_match(text, CATEGORY_WORDS) or "general"
    emotion = _first_match(text, EMOTION_WORDS) or "curious"
    timeframe = _first_match(text, TIMEFRAME_WORDS) or "unspecified"
    themes = [category.replace("_", " ")]
    themes += [theme for theme, words in THEME_WORDS.items() if any(w in text for w in words)]
    return QuestionAnalysis(
        category=category,
        emotion=emotion,
        timeframe=timeframe,
        themes=themes[:6],
    )


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
