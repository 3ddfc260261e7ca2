"""Thai for the memory, offline: first-person statements read with patterns, and the features the
offline embedder takes from Thai text.

Thai is written without spaces between words: a space separates clauses or sentences, and a
statement ends with a polite particle ("ค่ะ", "ครับ", "นะ") as often as with punctuation. So a
pattern anchors on the person ("ฉัน", "ผม", "ดิฉัน", "หนู", "เรา") at the start of a clause and a
phrase ("ชื่อ", "ชอบ", "แพ้" ...), takes the rest of the clause, and drops the particles at its
end. The fact keeps the person's own words without the pronoun ("ฉันชอบกาแฟดำค่ะ" → "ชอบกาแฟดำ"),
which is how a Thai speaker would note it. A negation stays one ("ฉันไม่ชอบผักชี" → "ไม่ชอบผักชี",
a dislike, never a liking), and a question ("ฉันชื่ออะไร") states nothing.
"""

from __future__ import annotations

import re
from typing import Final

THAI_CHAR: Final = "\u0e00-\u0e7f"
_THAI = re.compile(f"[{THAI_CHAR}]")
_THAI_RUN = re.compile(f"[{THAI_CHAR}]+")

_I = "(?:ดิฉัน|ฉัน|ผม|หนู|เรา)"
# A clause starts at the text's start, after anything not Thai (a space, punctuation, a digit), or
# after a particle or conjunction written against it. Not after other Thai: "แม่ฉันชอบ" and
# "แมวของฉันชอบ" are about the mother and the cat.
_GLUED = ("ค่ะ", "คะ", "ครับ", "นะ", "และ", "แต่", "ส่วน", "แล้ว", "ตอนนี้", "จริงๆ", "สวัสดี")
_START = "(?:(?<![" + THAI_CHAR + "])" + "".join(f"|(?<={word})" for word in _GLUED) + ")"
_SUBJECT = _START + _I + "(?:เอง)?(?:ก็)?"
# The rest of the clause: up to punctuation or a space between Thai words (a space next to a
# digit or a Latin word, as in "5 มีนาคม" or "วง BTS", stays inside).
_REST = r"\s?(?P<x>(?:[^\s.!?,;:()\"“”]|(?<=[A-Za-z0-9])\s(?=\S)|\s(?=[A-Za-z0-9])){1,80})"
_PEOPLE = "|".join(
    sorted(
        [
            "ภรรยา",
            "สามี",
            "แฟน",
            "ลูกชาย",
            "ลูกสาว",
            "ลูก",
            "คุณแม่",
            "คุณพ่อ",
            "แม่",
            "พ่อ",
            "พี่สาว",
            "พี่ชาย",
            "น้องสาว",
            "น้องชาย",
            "เพื่อนสนิท",
            "เพื่อน",
            "หมา",
            "สุนัข",
            "แมว",
            "เจ้านาย",
            "หัวหน้า",
        ],
        key=len,
        reverse=True,
    )
)
_DIETS = "มังสวิรัติ|วีแกน|อาหารเจ|เจ|คีโต|ฮาลาล"
_AFTER_WORD = "(?![\u0e31\u0e33-\u0e3a\u0e47-\u0e4e])"  # "เจ" is not the start of "เจ้าของ"

# (pattern, category, how the fact reads): {v} is the phrase as written, {x} the rest of the clause.
RULES: Final[list[tuple[re.Pattern[str], str, str]]] = [
    (re.compile(rf"{_SUBJECT}(?P<v>ชื่อ(?:เล่น)?)(?:ว่า|คือ)?{_REST}"), "name", "{v}{x}"),
    (re.compile(rf"{_START}(?P<v>ชื่อ(?:เล่น)?)(?:ของ)?{_I}(?:คือ|ว่า){_REST}"), "name", "{v}{x}"),
    (re.compile(rf"เรียก{_I}ว่า{_REST}"), "name", "ให้เรียกว่า{x}"),
    (re.compile(rf"(?P<who>{_PEOPLE})(?:ของ)?{_I}ชื่อ(?:ว่า)?{_REST}"), "person", "{who}ชื่อ{x}"),
    (re.compile(rf"{_SUBJECT}(?P<v>แพ้|เป็นโรค){_REST}"), "health", "{v}{x}"),
    (
        re.compile(rf"{_SUBJECT}(?P<v>เป็น|กิน|ทาน)(?:คน)?(?P<x>{_DIETS}){_AFTER_WORD}"),
        "preference",
        "{v}{x}",
    ),
    (
        re.compile(rf"{_SUBJECT}(?:จริงๆ)?(?P<v>ไม่(?:ค่อย|ได้)?ชอบ|ชื่นชอบ|ชอบ|หลงรัก|รัก|เกลียด)(?:มาก)?{_REST}"),
        "preference",
        "{v}{x}",
    ),
    (
        re.compile(rf"{_START}(?P<what>[{THAI_CHAR}]{{1,15}}?)โปรดของ{_I}(?:คือ|ได้แก่){_REST}"),
        "preference",
        "{what}โปรดคือ{x}",
    ),
    (
        re.compile(rf"{_START}(?P<v>เป้าหมาย|ความฝัน)(?:ของ)?{_I}(?:ในชีวิต)?(?:ก็)?คือ{_REST}"),
        "goal",
        "{v}คือ{x}",
    ),
    (
        re.compile(
            rf"{_SUBJECT}(?P<v>อยาก(?!รู้|ให้|ถาม|ทราบ)|ตั้งใจ(?:จะ|ว่าจะ)?|วางแผน(?:จะ|ว่าจะ)?"
            rf"|กำลังพยายาม|พยายาม|กำลังเรียน|กำลังฝึก|หวังว่าจะ){_REST}"
        ),
        "goal",
        "{v}{x}",
    ),
    (re.compile(rf"{_SUBJECT}(?P<v>อาศัยอยู่(?:ที่)?|อยู่ที่|มาจาก){_REST}"), "place", "{v}{x}"),
    (re.compile(rf"{_START}บ้าน(?:ของ)?{_I}อยู่(?:ที่)?{_REST}"), "place", "บ้านอยู่{x}"),
    (
        re.compile(rf"{_SUBJECT}(?P<v>ทำงาน(?:เป็น|อยู่ที่|ที่|ให้|กับ)|ทำอาชีพ){_REST}"),
        "work",
        "{v}{x}",
    ),
    (re.compile(rf"{_START}อาชีพ(?:ของ)?{_I}(?:คือ){_REST}"), "work", "อาชีพ{x}"),
    (re.compile(rf"{_START}วันเกิด(?:ของ)?{_I}(?:คือ|ตรงกับ)?{_REST}"), "fact", "วันเกิด{x}"),
    (re.compile(rf"{_SUBJECT}(?P<v>เกิด(?:วันที่|เมื่อ|ปี)){_REST}"), "fact", "{v}{x}"),
]

# What ends a clause written against it: another thought ("แต่", "เพราะ"), or "and I ...".
_NEXT_THOUGHT = re.compile(rf"(?:แต่|เพราะ|เนื่องจาก|ก็เลย|(?:และ|แล้วก็|แล้ว)(?={_I}))")
# Particles that end a statement, not part of the fact (taken off the end, one after another).
_PARTICLES = [
    "นะคะ",
    "นะครับ",
    "ค่ะ",
    "คะ",
    "ครับ",
    "จ้ะ",
    "จ้า",
    "จ๊ะ",
    "น่ะ",
    "นะ",
    "ฮะ",
    "เลย",
    "ล่ะ",
    "แหละ",
    "หรอก",
    "ด้วย",
]
# Words that end as a particle does ("ชนะ": to win), kept whole.
_ENDS_LIKE_A_PARTICLE = ("ชนะ", "เฉลย", "ขณะ")
# A question states nothing: a question word anywhere, or a question particle at the end.
_QUESTION_WORDS = re.compile("อะไร|ใคร|ที่ไหน|ยังไง|อย่างไร|เท่าไหร่|เท่าไร|เมื่อไหร่|เมื่อไร|ทำไม|ไหน")
_QUESTION_END = ("ไหม", "มั้ย", "หรือเปล่า", "รึเปล่า", "หรือไม่", "หรือยัง", "บ้าง")
# Speaking of oneself at all (the cheap check before an extraction job).
_SELF = re.compile(_I)


def is_thai(text: str) -> bool:
    return _THAI.search(text) is not None


def speaks_of_themselves(text: str) -> bool:
    """Thai text with a first-person pronoun in it (worth an extraction job)."""
    return _SELF.search(text) is not None


def _clause(value: str) -> str | None:
    """The fact's words: the clause up to another thought, without particles; None for a question."""
    value = _NEXT_THOUGHT.split(" ".join(value.split()), maxsplit=1)[0].strip(" -\"'")
    stripped = True
    while stripped:
        stripped = False
        for particle in _PARTICLES:
            if (
                value.endswith(particle)
                and len(value) > len(particle)
                and not value.endswith(_ENDS_LIKE_A_PARTICLE)
            ):
                value, stripped = value[: -len(particle)].rstrip(), True
    if _QUESTION_WORDS.search(value) or value.endswith(_QUESTION_END):
        return None
    return value or None


def thai_facts(text: str) -> list[tuple[str, str]]:
    """``(content, category)`` of each Thai first-person statement in ``text``, in rule order."""
    found: list[tuple[str, str]] = []
    if not is_thai(text):
        return found
    for pattern, category, template in RULES:
        for match in pattern.finditer(text):
            groups = match.groupdict()
            rest = _clause(groups.get("x") or "")
            if rest is None:
                continue
            if not is_thai(rest[0]):
                rest = " " + rest  # "วันเกิด 5 มีนาคม", "ชื่อ Mali"
            found.append((template.format(**{**groups, "x": rest}), category))
    return found


# Words too common in Thai to say what a sentence is about: pronouns, particles, question words.
# Without spaces to find words by, they are cut out of the text before it is split into pieces.
_STOP = re.compile(
    "|".join(
        sorted(
            [
                "ดิฉัน",
                "ฉัน",
                "ผม",
                "หนู",
                "เรา",
                "คุณ",
                "ของ",
                "คือ",
                "ค่ะ",
                "คะ",
                "ครับ",
                "นะ",
                "จ้ะ",
                "จ้า",
                "อะไร",
                "ไหม",
                "มั้ย",
                "บ้าง",
                "หรือเปล่า",
                "ยังไง",
                "อย่างไร",
                "ที่ไหน",
                "ไหน",
                "ได้ไหม",
                "ช่วย",
                "หน่อย",
                "ควร",
                "จะ",
                "ว่า",
                "ด้วย",
            ],
            key=len,
            reverse=True,
        )
    )
)


def thai_features(text: str) -> list[str]:
    """Character pairs of the Thai in ``text`` (its stop words cut out): Thai texts sharing a word
    share its pairs, which is what the offline embedder can go on without a word list."""
    features: list[str] = []
    for run in _THAI_RUN.findall(text):
        for piece in _STOP.sub(" ", run).split():
            features.extend(f"~{piece[i : i + 2]}" for i in range(len(piece) - 1))
    return features
