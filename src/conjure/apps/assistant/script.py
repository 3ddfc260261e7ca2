"""A guided meditation's script: timed segments (words to speak, then a pause) for a theme.

Written offline from a few well-worn forms (arriving, breath, body, the theme, returning), so
a meditation never needs a model; the pauses are set after the speech is synthesized, so the
audio comes out at the length asked for whatever the voice's pace.

In English and in Thai (the page's language): the Thai lines are the same practice written as a
Thai teacher would say it (calm, unhurried, polite "ค่ะ" at the turns), not a word-for-word
translation, with the same structure, so the same timing rules hold. A theme written in Thai
gets a Thai meditation whatever the page's language (:func:`meditation_language`).
"""

from __future__ import annotations

from dataclasses import dataclass

from conjure.apps.assistant.phrases import Language
from conjure.apps.assistant.thai import is_thai

ARRIVE = [
    "Welcome. Find a comfortable position, and let your eyes close, or rest your gaze softly.",
    "Let yourself arrive here. There is nothing to do right now, and nowhere else to be.",
]
BREATH = [
    "Breathe in slowly through your nose, and let the breath out gently.",
    "Notice the air moving in, and moving out. Let each breath be a little slower than the last.",
    "If your mind wanders, that is fine. Simply come back to the breath.",
    "Feel the rise of your chest, and the soft fall as you breathe out.",
]
BODY = [
    "Bring your attention to your feet. Let them be heavy and warm.",
    "Let the softness move up through your legs, your hips, and your belly.",
    "Relax your shoulders. Let them drop away from your ears.",
    "Soften your jaw, your cheeks, and the space between your eyebrows.",
]
RETURN = [
    "Slowly begin to come back. Notice the sounds around you.",
    "Move your fingers and toes. Take one more deep breath, and when you are ready, open your eyes.",
]
THEMES = {
    "sleep": [
        "Imagine the day settling like snow, each thought drifting down and coming to rest.",
        "Your body is heavy and safe. The bed holds you completely.",
        "With every breath out, you sink a little deeper into rest.",
    ],
    "stress": [
        "Picture the tension in your body as a color, and watch it fade with each breath out.",
        "Whatever is waiting for you can wait a few minutes more.",
        "You are allowed to put it down for now.",
    ],
    "focus": [
        "Let your attention gather, like light through a lens, on one simple thing: this breath.",
        "When you are finished here, you will bring this clarity to one task at a time.",
        "Steady, clear, and unhurried.",
    ],
    "gratitude": [
        "Bring to mind one person who has been kind to you, and silently thank them.",
        "Think of one small thing today that went well.",
        "Let that warmth spread through your chest with each breath.",
    ],
}


ARRIVE_TH = [
    "ยินดีต้อนรับค่ะ หาท่านั่งหรือท่านอนที่สบาย แล้วค่อยๆ หลับตาลง หรือทอดสายตาลงต่ำเบาๆ",
    "ปล่อยให้ตัวเองได้อยู่ตรงนี้ ตอนนี้ไม่มีอะไรต้องทำ และไม่ต้องไปที่ไหนเลย",
]
BREATH_TH = [
    "หายใจเข้าช้าๆ ทางจมูก แล้วค่อยๆ ผ่อนลมหายใจออก",
    "สังเกตลมที่ไหลเข้า และไหลออก ให้แต่ละลมหายใจช้าลงกว่าเดิมอีกนิด",
    "ถ้าใจลอยไป ก็ไม่เป็นไรค่ะ แค่ค่อยๆ กลับมาอยู่กับลมหายใจ",
    "รู้สึกถึงหน้าอกที่พองขึ้น และยุบลงอย่างนุ่มนวลเมื่อหายใจออก",
]
BODY_TH = [
    "พาความรู้สึกมาที่เท้าทั้งสองข้าง ปล่อยให้เท้าหนักและอุ่นสบาย",
    "ให้ความผ่อนคลายค่อยๆ เลื่อนขึ้นมาที่ขา สะโพก และหน้าท้อง",
    "ผ่อนคลายหัวไหล่ ปล่อยให้ไหล่ลดต่ำลง ห่างจากใบหู",
    "คลายกราม คลายแก้ม และคลายหว่างคิ้วให้อ่อนโยน",
]
RETURN_TH = [
    "ค่อยๆ กลับมาอยู่ที่นี่ สังเกตเสียงต่างๆ รอบตัว",
    "ขยับนิ้วมือและนิ้วเท้า หายใจลึกๆ อีกครั้ง แล้วเมื่อพร้อม ค่อยๆ ลืมตาขึ้นค่ะ",
]
THEMES_TH = {
    "sleep": [
        "นึกภาพเรื่องราวของวันนี้ค่อยๆ สงบลง เหมือนใบไม้ที่ปลิวลงมาพักบนพื้นอย่างแผ่วเบา",
        "ร่างกายหนักและปลอดภัย ที่นอนรองรับคุณไว้ทั้งหมด",
        "ทุกครั้งที่หายใจออก คุณค่อยๆ จมลงสู่การพักผ่อนที่ลึกขึ้นอีกนิด",
    ],
    "stress": [
        "นึกภาพความตึงในร่างกายเป็นสีสีหนึ่ง แล้วดูสีนั้นจางลงทุกครั้งที่หายใจออก",
        "เรื่องที่รอคุณอยู่ รอได้อีกสักครู่ค่ะ",
        "ตอนนี้ คุณวางมันลงก่อนได้",
    ],
    "focus": [
        "รวบรวมใจไว้ที่สิ่งเดียว เหมือนแสงที่รวมผ่านเลนส์ สิ่งนั้นคือลมหายใจนี้",
        "เมื่อเสร็จจากตรงนี้ คุณจะพาความแจ่มใสนี้ไปทำงานทีละอย่าง",
        "มั่นคง แจ่มใส และไม่เร่งรีบ",
    ],
    "gratitude": [
        "นึกถึงใครสักคนที่เคยใจดีกับคุณ แล้วขอบคุณเขาอยู่ในใจ",
        "นึกถึงเรื่องเล็กๆ สักเรื่องในวันนี้ที่เป็นไปด้วยดี",
        "ปล่อยให้ความอบอุ่นนั้นแผ่ไปทั่วอก ทุกครั้งที่หายใจ",
    ],
}
# How a theme names one of the written ones, in either language ("นอน" and "หลับ" are sleep).
THEME_WORDS = {
    "sleep": ("sleep", "นอน", "หลับ"),
    "stress": ("stress", "เครียด", "กังวล"),
    "focus": ("focus", "สมาธิ", "จดจ่อ", "โฟกัส"),
    "gratitude": ("gratitude", "grateful", "ขอบคุณ", "ซาบซึ้ง"),
}


@dataclass(frozen=True)
class Segment:
    text: str
    pause_weight: float  # this segment's share of the silence that follows it


def _theme_key(theme: str) -> str | None:
    lowered = theme.lower()
    return next((key for key, words in THEME_WORDS.items() if any(w in lowered for w in words)), None)


def meditation_language(theme: str, language: Language) -> Language:
    """The language a meditation is written and voiced in: the page's, except that a theme with
    Thai in it is Thai.

    A person who writes their theme in Thai reads Thai; quoting it into English lines would mix
    scripts in one sentence, and an English voice spells out every Thai letter.
    """
    return "th" if is_thai(theme) else language


def theme_lines(theme: str, language: Language = "en") -> list[str]:
    key = _theme_key(theme)
    if key is not None:
        return (THEMES_TH if language == "th" else THEMES)[key]
    if language == "th":
        # A space before a theme not in Thai ("นึกถึง letting go"); none inside Thai.
        named = theme if is_thai(theme[:1]) else f" {theme}"
        return [
            f"นึกถึง{named} โอบไว้อย่างอ่อนโยน โดยไม่ต้องเปลี่ยนแปลงอะไร",
            f"หายใจเข้ารับความสงบ หายใจออกปล่อยสิ่งที่ไม่จำเป็นเกี่ยวกับ{named}",
            "ไม่ว่ารู้สึกอย่างไร ก็ให้ความรู้สึกนั้นอยู่ได้ แล้วปล่อยให้ผ่านไป เหมือนเมฆบนฟ้ากว้าง",
        ]
    return [
        f"Bring to mind {theme}. Hold it gently, without needing to change anything.",
        f"Breathe in calm, and breathe out anything you do not need around {theme}.",
        "Let whatever you feel be welcome, and let it pass like clouds in a wide sky.",
    ]


def write_script(theme: str, minutes: int, language: Language = "en") -> list[Segment]:
    """About one segment a minute (4-14), spread over arriving, breath, body, theme, return,
    in ``language`` (English or Thai)."""
    thai = language == "th"
    arrive, breath, body_lines, ending = (
        (ARRIVE_TH, BREATH_TH, BODY_TH, RETURN_TH) if thai else (ARRIVE, BREATH, BODY, RETURN)
    )
    count = segment_count(minutes)
    middle = breath + body_lines + theme_lines(theme, language)
    body = count - len(arrive) - len(ending)
    picked = [middle[i * len(middle) // body] for i in range(body)] if body > 0 else []
    lines = arrive + picked + ending
    return [Segment(text, weight) for text, weight in zip(lines, pause_weights(len(lines)), strict=True)]


def segment_count(minutes: int) -> int:
    """About one segment a minute, 4 to 14."""
    return max(4, min(14, minutes))


def pause_weights(count: int) -> list[float]:
    """Longer silences in the middle of the practice, short ones at the start and end (two
    segments arrive, two return)."""
    return [0.5, 1.0] + [2.0] * (count - 4) + [1.0, 0.0]
