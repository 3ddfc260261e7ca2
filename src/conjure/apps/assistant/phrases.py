"""The assistant's own sentences (not a model's) in each language a person can read it in.

The page says which language the person reads (``language`` on ``POST …/messages``, kept in the
answer job's payload); the offline reply, the offer's question and what a delegated job's answer
says are then written from this table. A language not listed here is refused at the API (422),
and a job without one (an older payload, an API client that sent none) answers in English.
"""

from __future__ import annotations

from typing import Final, Literal

Language = Literal["en", "th"]
LANGUAGES: Final[tuple[Language, ...]] = ("en", "th")
DEFAULT_LANGUAGE: Final[Language] = "en"

# Thai is written by the assistant as a woman ("ค่ะ", "ฉัน"), as the page's own Thai does.
_PHRASES: Final[dict[Language, dict[str, str]]] = {
    "en": {
        "offline": "I'm running offline right now, so no language model is reading your message "
        "and I can't give you a thoughtful answer to it.",
        "offline.remembered": "Here is what I remember that seems related: {remembered}.",
        "offline.later": "Once a model is connected, I'll answer properly.",
        "stars": "{n} star",
        "stars.many": "{n} stars",
        "offer": "I can {what} for {stars}. Shall I go ahead? (yes / no)",
        "offer.tarot": "do a tarot reading on “{question}”",
        "offer.image": "make an image of “{prompt}”",
        "offer.staging": "stage the {room} in your photo in the {style} style",
        "label.tarot": "tarot reading",
        "label.image": "image",
        "label.staging": "staged room",
        "start": "Starting your {label} ({stars}, charged only if it works).",
        "slow": "It is taking a while; it goes on, and its result will be under job {job_id}.",
        "failed.tarot": "The reading did not work out{status}; nothing was charged.",
        "failed.image": "The image did not work out{status}; nothing was charged.",
        "failed.staging": "The staging did not work out{status}; nothing was charged.",
        "ready.staging": "Your staged room is ready.",
        "ready.image": "Your image is ready.",
        "ready.staging.link": "Your staged room is ready: {url}",
        "ready.image.link": "Your image is ready: {url}",
        "cards": "Your cards: {cards}.",
        "reversed": " (reversed)",
        "waiting": "Answering your earlier message first.",
        "prompt": "Answer in the language the person writes in.",
    },
    "th": {
        "offline": "ตอนนี้ฉันทำงานแบบออฟไลน์อยู่ ยังไม่มีโมเดลภาษาอ่านข้อความของคุณ จึงยังตอบเรื่องนี้ให้ดีไม่ได้ค่ะ",
        "offline.remembered": "สิ่งที่ฉันจำได้และน่าจะเกี่ยวข้อง: {remembered}",
        "offline.later": "เมื่อเชื่อมต่อโมเดลแล้ว ฉันจะตอบให้เต็มที่ค่ะ",
        "stars": "{n} ดาว",
        "stars.many": "{n} ดาว",
        "offer": "ฉันช่วย{what}ให้ได้ค่ะ ราคา {stars} ให้ทำเลยไหมคะ (ใช่ / ไม่)",
        "offer.tarot": "ดูไพ่ทาโรต์เรื่อง “{question}” ",
        "offer.image": "สร้างภาพ “{prompt}” ",
        "offer.staging": "แต่ง{room}ในรูปของคุณเป็นสไตล์{style}",
        "label.tarot": "ดูไพ่ทาโรต์",
        "label.image": "สร้างภาพ",
        "label.staging": "แต่งห้อง",
        "start": "เริ่ม{label}ให้แล้วค่ะ ({stars} จะตัดดาวเมื่อสำเร็จเท่านั้น)",
        "slow": "งานนี้ใช้เวลานานหน่อย ระบบยังทำต่อให้ และผลจะอยู่ที่งาน {job_id} ค่ะ",
        "failed.tarot": "ดูไพ่ไม่สำเร็จ{status} ไม่มีการตัดดาวค่ะ",
        "failed.image": "สร้างภาพไม่สำเร็จ{status} ไม่มีการตัดดาวค่ะ",
        "failed.staging": "แต่งห้องไม่สำเร็จ{status} ไม่มีการตัดดาวค่ะ",
        "ready.staging": "แต่งห้องเสร็จแล้วค่ะ",
        "ready.image": "ภาพของคุณเสร็จแล้วค่ะ",
        "ready.staging.link": "แต่งห้องเสร็จแล้วค่ะ {url}",
        "ready.image.link": "ภาพของคุณเสร็จแล้วค่ะ {url}",
        "cards": "ไพ่ของคุณ: {cards}",
        "reversed": " (กลับหัว)",
        "waiting": "กำลังตอบข้อความก่อนหน้าของคุณก่อนค่ะ",
        "prompt": "The person reads Thai: answer in Thai (natural, polite Thai), "
        "unless they ask for another language.",
        # A delegated job's steps (its own words are English) and how it ended.
        "step.filtering": "กำลังตรวจคำถาม",
        "step.analyzing": "กำลังทำความเข้าใจคำถาม",
        "step.drawing": "กำลังจั่วไพ่",
        "step.reading": "กำลังอ่านไพ่",
        "step.formatting": "กำลังเรียบเรียงคำทำนาย",
        "step.generating": "กำลังสร้างภาพ",
        "step.downloading": "กำลังรับภาพ",
        "step.storing": "กำลังบันทึก",
        "step.preparing": "กำลังเตรียมรูป",
        "step.staging": "กำลังแต่งห้อง",
        "status.failed": "",  # "did not work out" says it already
        "status.dlq": "ลองหลายครั้งแล้ว",
        "status.canceled": "ถูกยกเลิก",
        "status.deleted": "ถูกลบ",
    },
}

# The staging job's room types and styles, as the offer names them in Thai.
_ROOMS_TH: Final[dict[str, str]] = {
    "living_room": "ห้องนั่งเล่น",
    "bedroom": "ห้องนอน",
    "kitchen": "ห้องครัว",
    "dining_room": "ห้องทานข้าว",
    "office": "ห้องทำงาน",
    "bathroom": "ห้องน้ำ",
    "kids_room": "ห้องเด็ก",
    "outdoor": "พื้นที่กลางแจ้ง",
}
_STYLES_TH: Final[dict[str, str]] = {
    "scandinavian": "สแกนดิเนเวียน",
    "mid_century": "มิดเซนจูรี",
    "industrial": "อินดัสเทรียล",
    "coastal": "ชายหาด",
    "farmhouse": "ฟาร์มเฮาส์",
    "luxury": "หรูหรา",
    "minimalist": "มินิมอล",
    "modern": "โมเดิร์น",
}


def language_of(value: object) -> Language:
    """A stored or sent language as one the assistant speaks (English for anything else)."""
    return value if value in LANGUAGES else DEFAULT_LANGUAGE


def normalize_language(value: str) -> Language:
    """``th``, ``TH`` or ``th-TH`` → ``th``; ValueError for a language the assistant cannot write."""
    primary = value.strip().replace("_", "-").split("-", 1)[0].lower()
    if primary not in LANGUAGES:
        raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
    return primary


def say(language: Language, key: str, **values: object) -> str:
    """The sentence ``key`` in ``language``, its ``{placeholders}`` filled."""
    return _PHRASES[language][key].format(**values)


def stars(language: Language, count: int) -> str:
    return say(language, "stars" if count == 1 else "stars.many", n=count)


def room_name(language: Language, room_type: str) -> str:
    if language == "th":
        return _ROOMS_TH.get(room_type, room_type.replace("_", " "))
    return room_type.replace("_", " ")


def style_name(language: Language, style: str) -> str:
    if language == "th":
        return _STYLES_TH.get(style, style.replace("_", " "))
    return style.replace("_", "-").title()


def step_line(language: Language, step: str, said: str) -> str | None:
    """A delegated job's progress as a line of the answer: in English its own words (a bare step
    name capitalized), in another language the step's translation, or nothing (no English)."""
    if language == DEFAULT_LANGUAGE:
        return f"{said[:1].upper()}{said[1:]}" if said else None
    return _PHRASES[language].get(f"step.{step}")


def status_note(language: Language, status: str) -> str:
    """A job's end status as a note after "did not work out": `` (dlq)``; English keeps the
    status itself, another language its translation (none for a plain failure)."""
    word = status if language == DEFAULT_LANGUAGE else _PHRASES[language].get(f"status.{status}", "")
    return f" ({word})" if word else ""
