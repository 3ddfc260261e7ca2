"""Rule-based question screening and analysis (the ``offline`` provider's filter and analyzer steps).

Keyword and pattern rules in English and Thai: deterministic and network-free. What is
refused, and the kind pointer each refusal gives, lives in ``screening``.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from typing import TypeVar

from conjure.apps.tarot.agents import Category, FilterVerdict, QuestionAnalysis, Timeframe
from conjure.apps.tarot.screening import REFUSALS, refusal_kind

K = TypeVar("K", bound=str)
THAI = re.compile(r"[\u0E00-\u0E7F]")


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
    """Step 1 offline: refuse what ``screening`` rules out, with its pointer, and gibberish."""
    lang = detect_language(question)
    kind = refusal_kind(question)
    if kind is not None:
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
        "heart",
        "breakup",
        "break up",
        "divorce",
        "likes me",
        "propose",
        "wedding",
        "แอบชอบ",
        "หัวใจ",
        "เลิกกับ",
        "ขอแต่งงาน",
        "หย่า",
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
        "company",
        "startup",
        "colleague",
        "office",
        "งาน",
        "อาชีพ",
        "เจ้านาย",
        "สัมภาษณ์",
        "เลื่อนตำแหน่ง",
        "ธุรกิจ",
        "ลาออก",
        " raise",
        "client",
        "presentation",
        "audition",
        "café",
        "cafe",
        "bakery",
        "restaurant",
        "published",
        " band ",
        " team",
        "ร้าน",
        "ขายของ",
        "ลูกค้า",
        "ทำงาน",
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
        "saving",
        " house",
        "condo",
        " rent",
        "afford",
        "คอนโด",
        "เก็บเงิน",
        "ค่าเช่า",
        "ผ่อน",
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
        "studies",
        "studying",
        " test",
        "thesis",
        "course",
        " class",
        "เรียนต่อ",
        "ปริญญา",
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
        "universe",
        "dream about",
        "ดวง",
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
        "confident",
        "hard on myself",
        "procrastinat",
        "stop being",
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
