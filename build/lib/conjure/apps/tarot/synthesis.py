"""How the drawn cards relate (arc, majors, suits, reversals, numbers, a leaning), and the advice; EN and TH.

Used by ``offline.compose_reading``; helpers shared with it live here too so that the
two modules import in one direction only.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter

from conjure.apps.tarot.agents import QuestionAnalysis
from conjure.apps.tarot.deck import Draw, DrawnCard
from conjure.apps.tarot.phrases import AREA, ELEMENT, NUMBER, NUMBER_NAME, STEP, SUIT_NAME

# The suits whose element a question of each area naturally belongs to.
NATURAL_SUITS = {
    "love": {"cups"},
    "family": {"cups", "pentacles"},
    "career": {"wands", "pentacles"},
    "personal_growth": {"wands", "cups"},
    "finance": {"pentacles"},
    "health": {"pentacles", "cups"},
    "education": {"swords", "pentacles"},
    "spiritual": {"cups"},
}
# Cards that are hard news even upright (for the yes/no leaning).
HARD_UPRIGHT = frozenset(
    {"major-15", "major-16", "swords-03", "swords-05", "swords-08", "swords-09", "swords-10"}
    | {"cups-05", "pentacles-05", "wands-10"}
)
LEANING_POSITIONS = ("present", "future", "advice", "outcome")
POSITION_TH = {
    "past": "อดีต",
    "present": "ปัจจุบัน",
    "future": "อนาคต",
    "challenge": "อุปสรรค",
    "advice": "คำแนะนำ",
    "outcome": "ผลลัพธ์",
}


def is_gentle(drawn: DrawnCard) -> bool:
    """Upright and not hard news: its keywords can be offered as tools rather than warnings."""
    return drawn.orientation == "upright" and drawn.card.id not in HARD_UPRIGHT


def pick(options: tuple[str, ...], *salt: str) -> str:
    """One of ``options``, chosen by a stable hash of ``salt`` (not ``hash()``, which varies per process)."""
    digest = hashlib.sha256("\x1f".join(salt).encode()).digest()
    return options[int.from_bytes(digest[:4], "big") % len(options)]


def card_label(drawn: DrawnCard, lang: str) -> str:
    """The card as named in running text: English name, Thai name first for Thai."""
    reversed_ = drawn.orientation == "reversed"
    if lang == "th":  # trailing space: Thai text may follow directly; ``tidy`` folds double spaces
        return f"ไพ่{drawn.card.name_th} ({drawn.card.name}){' กลับหัว' if reversed_ else ''} "
    article = "the " if drawn.card.arcana == "minor" or drawn.card.name == "Wheel of Fortune" else ""
    return f"{article}{drawn.card.name}{' reversed' if reversed_ else ''}"


def listing(items: list[str], lang: str) -> str:
    """``a, b and c`` (Thai: ``a b และ c``)."""
    if len(items) < 2:
        return "".join(items)
    if lang == "th":
        return " ".join(items[:-1]) + " และ" + items[-1]
    return ", ".join(items[:-1]) + " and " + items[-1]


def capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def tidy(text: str) -> str:
    """Single spaces, no space before punctuation, none at the ends."""
    return re.sub(r"\s+([,.:;)])", r"\1", re.sub(r"\s{2,}", " ", text)).strip()


def side_text(drawn: DrawnCard, lang: str) -> tuple[tuple[str, ...], str]:
    """Keywords and meaning for the card's orientation, in the reading's language."""
    side = drawn.card.side(drawn.orientation)
    if lang == "th":
        return (side.keywords_th or (drawn.card.theme_th,)), (side.meaning_th or drawn.card.theme_th)
    return side.keywords, side.meaning


def is_yes_no(question: str) -> bool:
    """A question that asks for a yes or a no ("Will I…?", "Should I…?", "…ไหม")."""
    text = question.strip().lower()
    english = re.match(r"(will|should|is|are|does|do|did|can|could|would|am|was|has|have)\b", text)
    thai = re.search(r"(ไหม|มั้ย|หรือเปล่า|หรือไม่|รึเปล่า|ดีไหม)", text)
    return bool(english or thai)


def _position(drawn: DrawnCard, lang: str) -> str:
    return POSITION_TH[drawn.position.key] if lang == "th" else drawn.position.key


def _salt(question: str, draw: Draw) -> tuple[str, ...]:
    return (question, *(f"{d.card.id}:{d.orientation}" for d in draw.cards))


def _arc(question: str, draw: Draw, analysis: QuestionAnalysis, lang: str) -> str:
    """One sentence from the first card to the last, and whether things open up or close in on the way."""
    first, last = draw.cards[0], draw.cards[-1]
    area = AREA[lang][analysis.category]
    a, b = card_label(first, lang), card_label(last, lang)
    n = draw.card_count
    turn = (first.orientation, last.orientation)
    if lang == "th":
        how = {
            ("reversed", "upright"): "จากจุดเริ่มที่ติดขัดสู่ปลายทางที่เปิดกว้าง",
            ("upright", "reversed"): "เริ่มลื่นไหลแต่ช่วงท้ายต้องใส่ใจเป็นพิเศษ",
            ("reversed", "reversed"): "เรื่องเดินช้าและยังต้องใช้ความอดทน",
            ("upright", "upright"): "มีเส้นทางที่มั่นคงร้อยเรียงตลอดทั้งเรื่อง",
        }[turn]
        return pick(
            (
                f"เมื่ออ่านรวมกัน ไพ่ {n} ใบนี้เล่าเรื่อง{area}จาก{a}ไปสู่{b} {how}",
                f"จาก{a}ในตำแหน่ง{_position(first, lang)}ถึง{b}ในตำแหน่ง{_position(last, lang)} "
                f"เรื่องของ{area}{how}",
            ),
            *_salt(question, draw),
        )
    how = {
        ("reversed", "upright"): "a blocked start that opens up as you go",
        ("upright", "reversed"): "a story that starts in the flow but needs care in the last stretch",
        ("reversed", "reversed"): "a slow story that still asks for patience",
        ("upright", "upright"): "a steady line from beginning to end",
    }[turn]
    return pick(
        (
            f"Read together, the {n} cards trace {area} from {a} to {b}: {how}.",
            f"From {a} in the {first.position.key} to {b} in the {last.position.key}, {area} shows {how}.",
        ),
        *_salt(question, draw),
    )


def _majors(draw: Draw, lang: str, salt: tuple[str, ...]) -> str:
    majors = [d for d in draw.cards if d.card.arcana == "major"]
    n, m = draw.card_count, len(majors)
    names = listing([card_label(d, lang) for d in majors], lang)
    if lang == "th":
        if m == 0:
            return pick(
                (
                    "ไม่มีไพ่ชุดใหญ่เลย เรื่องนี้อยู่ในมือคุณและการเลือกในชีวิตประจำวัน",
                    "ไพ่ทุกใบเป็นไพ่ชุดเล็ก คำตอบจึงอยู่ที่สิ่งที่คุณทำในแต่ละวัน ไม่ใช่โชคชะตา",
                ),
                *salt,
                "majors",
            )
        if m == 1:
            return f"{names} เป็นไพ่ชุดใหญ่ใบเดียว จึงเป็นกุญแจของการเปิดไพ่ครั้งนี้"
        if m * 2 > n:
            return f"ไพ่ชุดใหญ่ถึง {m} จาก {n} ใบ ({names}) มีพลังที่ใหญ่กว่าตัวคุณทำงานอยู่ ให้ไหลไปกับกระแสแทนการฝืน"
        return f"ไพ่ชุดใหญ่ {m} ใบ ({names}) บอกว่านี่คือบทสำคัญของชีวิต ไม่ใช่อารมณ์ชั่วครู่"
    if m == 0:
        return pick(
            (
                "No Major Arcana appear: this lies in your hands and in everyday choices.",
                "Every card comes from the Minor Arcana, so the answer is in what you do day to day, "
                "not in fate.",
            ),
            *salt,
            "majors",
        )
    if m == 1:
        return capitalise(f"{names}, the only Major Arcana card, is the key to the spread.")
    if m * 2 > n:
        return (
            f"With {m} of {n} cards from the Major Arcana ({names}), larger forces are at work; go with them."
        )
    return f"{m} Major Arcana cards ({names}) make this a significant chapter rather than a passing mood."


def _suits(draw: Draw, analysis: QuestionAnalysis, lang: str, salt: tuple[str, ...]) -> str | None:
    counts = Counter(d.card.suit for d in draw.cards if d.card.suit)
    if not counts:
        return None
    (suit, hits), *rest = counts.most_common()
    area = AREA[lang][analysis.category]
    natural = NATURAL_SUITS.get(analysis.category, set())
    if hits >= 2 and (not rest or rest[0][1] < hits):
        name, element = SUIT_NAME[lang][suit], ELEMENT[lang][suit]
        if lang == "th":
            fit = "ซึ่งตรงกับคำถามของคุณพอดี" if suit in natural else f"เป็นมุมที่คุณอาจไม่คาดคิดสำหรับเรื่อง{area}"
            return f"ไพ่ชุด{name} {hits} ใบให้น้ำหนักกับ{element} {fit}"
        fit = "which fits your question closely." if suit in natural else f"an unexpected angle on {area}."
        return f"{hits} {name} cards put the weight on {element}, {fit}"
    if len(counts) >= 3:
        if lang == "th":
            suits = listing([SUIT_NAME[lang][s] for s in sorted(counts)], lang)
            return f"ไพ่ชุดเล็กกระจายไปหลายชุด ({suits}) ทุกด้านของชีวิตมีส่วนในเรื่องนี้"
        listed = listing([SUIT_NAME[lang][s] for s in sorted(counts)], lang)
        return pick(
            (
                f"The suits are evenly spread ({listed}): every side of life has a say in this.",
                f"No suit dominates ({listed}), so no single side of life holds the whole answer.",
            ),
            *salt,
            "suits",
        )
    return None


def _reversals(draw: Draw, lang: str, salt: tuple[str, ...]) -> str:
    flipped = [d for d in draw.cards if d.orientation == "reversed"]
    n, r = draw.card_count, len(flipped)
    where = listing([_position(d, lang) for d in flipped], lang)
    if lang == "th":
        if r == 0:
            return "ไพ่ทุกใบตั้งตรง พลังไหลได้อย่างอิสระ"
        if r == n:
            return "ไพ่ทุกใบกลับหัว หลายอย่างยังถูกกักไว้หรือล่าช้า ค่อยๆ ไปและมองเข้าไปในใจก่อน"
        if r * 2 > n:
            return f"ไพ่กลับหัว {r} จาก {n} ใบ (ตำแหน่ง{where}) ยังมีบางอย่างต้องคลี่คลายก่อนที่เรื่องจะเดินหน้า"
        return f"ไพ่กลับหัวในตำแหน่ง{where}ชี้จุดที่พลังยังสะดุด"
    if r == 0:
        return pick(
            (
                "Every card is upright: the energy flows freely.",
                "Not one card is reversed, so nothing here is held back.",
            ),
            *salt,
            "reversals",
        )
    if r == n:
        return "Every card is reversed: much is held back or delayed, so go gently and look inward first."
    if r * 2 > n:
        return pick(
            (
                f"{r} of {n} cards are reversed (the {where}): something has to be untangled "
                "before it moves.",
                f"With the {where} cards reversed, {r} of {n}, the energy is more blocked than free for now.",
            ),
            *salt,
            "reversals",
        )
    if r == 1:
        return f"The reversal in the {where} shows where the flow catches."
    return f"The reversals in the {where} show where the flow catches."


def _numbers(draw: Draw, lang: str) -> list[str]:
    minors = [d for d in draw.cards if d.card.arcana == "minor"]
    out: list[str] = []
    for number, hits in sorted(Counter(d.card.number for d in minors).items()):
        if hits >= 2:
            name, meaning = NUMBER_NAME[lang][number], NUMBER[lang][number]
            out.append(
                f"{name}ปรากฏ {hits} ใบ ย้ำเรื่อง{meaning}"
                if lang == "th"
                else f"{hits} {name} repeat a theme of {meaning}."
            )
    courts = [d for d in minors if d.card.number >= 11]
    if len(courts) >= 2:
        names = listing([card_label(d, lang) for d in courts], lang)
        out.append(
            f"ไพ่ราชสำนัก {len(courts)} ใบ ({names}) บอกว่าผู้คนรอบตัวมีบทบาทจริงในเรื่องนี้"
            if lang == "th"
            else f"The court cards ({names}) say other people play a real part here."
        )
    numbers = [d.card.number for d in minors if d.card.number <= 10]
    if len(numbers) >= 3 and numbers == sorted(set(numbers)):
        out.append(
            f"ตัวเลขไต่ขึ้นจาก {numbers[0]} ถึง {numbers[-1]} เรื่องกำลังก่อตัวขึ้น"
            if lang == "th"
            else f"The numbers rise from {numbers[0]} to {numbers[-1]}: things are building."
        )
    elif len(numbers) >= 3 and numbers == sorted(set(numbers), reverse=True):
        out.append(
            f"ตัวเลขลดลงจาก {numbers[0]} ถึง {numbers[-1]} บางอย่างกำลังคลี่คลายเพื่อเปิดทางให้สิ่งใหม่"
            if lang == "th"
            else f"The numbers fall from {numbers[0]} to {numbers[-1]}: something winds down to make room."
        )
    return out


def leaning(draw: Draw) -> int:
    """Upright minus reversed over the present, future, advice and outcome cards; hard cards count against."""
    score = 0
    for d in draw.cards:
        if d.position.key in LEANING_POSITIONS:
            upright = d.orientation == "upright"
            score += -1 if (upright and d.card.id in HARD_UPRIGHT) else (1 if upright else -1)
    return score


def _answer(question: str, draw: Draw, lang: str) -> str | None:
    """For a yes/no question: which way the later cards lean, and which card says so."""
    if not is_yes_no(question):
        return None
    score = leaning(draw)
    weighed = [d for d in draw.cards if d.position.key in LEANING_POSITIONS]
    helps = [d for d in weighed if d.orientation == "upright" and d.card.id not in HARD_UPRIGHT]
    hinders = [d for d in weighed if d not in helps]
    should = bool(re.match(r"\s*should\b", question.lower())) or "ควร" in question
    if score >= 2:
        card = helps[-1]
    elif score <= -2:
        card = hinders[-1]
    else:
        card = next((d for d in draw.cards if d.position.key == "challenge"), draw.cards[1])
    label, pos = card_label(card, lang), _position(card, lang)
    if lang == "th":
        if score >= 2:
            return (
                f"ไพ่เอนไปทางให้ลงมือได้ โดยมี{label}ในตำแหน่ง{pos}สนับสนุน"
                if should
                else f"ไพ่เอนไปทาง 'ใช่' โดยมี{label}ในตำแหน่ง{pos}เป็นหลัก หากคุณก้าวออกไปพบมันครึ่งทาง"
            )
        if score <= -2:
            return (
                f"ไพ่แนะนำให้รอก่อน {label}ในตำแหน่ง{pos}บอกว่ายังไม่ถึงเวลา"
                if should
                else f"ไพ่ตอบว่า 'ยังไม่ใช่ตอนนี้' {label}ในตำแหน่ง{pos}ชี้ว่าต้องคลี่คลายบางอย่างก่อน ผลยังเปลี่ยนได้"
            )
        return f"ไพ่ไม่ได้ตอบว่าใช่หรือไม่ชัดเจน ผลขึ้นอยู่กับวิธีที่คุณรับมือกับ{label}"
    if score >= 2:
        return (
            f"On balance the cards favour going ahead, with {label} in the {pos} behind it."
            if should
            else f"To your question the cards lean towards yes, carried by {label} in the {pos}, "
            "if you meet them halfway."
        )
    if score <= -2:
        return (
            f"On balance the cards counsel waiting: {label} in the {pos} says the time is not ripe."
            if should
            else f"To your question the cards say not yet: {label} in the {pos} shows what must shift first, "
            "and the outcome can still change."
        )
    return f"The cards give no flat yes or no: it turns on how you handle {label}."


# The offline analyzer's themes (rules.THEME_WORDS), as the reading names them.
THEME = {
    "en": {
        "decision": "your decision",
        "reconciliation": "getting back together",
        "moving": "the move",
        "success": "success",
        "trust": "trust",
        "new beginnings": "the new start",
    },
    "th": {
        "decision": "การตัดสินใจของคุณ",
        "reconciliation": "การกลับมาคืนดี",
        "moving": "การย้าย",
        "success": "ความสำเร็จ",
        "trust": "ความไว้ใจ",
        "new beginnings": "การเริ่มต้นใหม่",
    },
}


def _theme(question: str, analysis: QuestionAnalysis, draw: Draw, lang: str) -> str | None:
    """A word on the question's most specific theme, from the advice card (else the present card)."""
    theme = next((t for t in analysis.themes if t in THEME[lang]), None)
    if theme is None:
        return None
    card = next((d for d in draw.cards if d.position.key == "advice"), draw.cards[1])
    keywords, _ = side_text(card, lang)
    label, topic, pos = card_label(card, lang), THEME[lang][theme], _position(card, lang)
    if lang == "th":
        return f"ในเรื่อง{topic} {label}ในตำแหน่ง{pos}พูดถึง{keywords[0]}"
    return pick(
        (
            f"On {topic}, {label} in the {pos} speaks of {keywords[0]}.",
            f"As for {topic}, {label} in the {pos} puts {keywords[0]} at its core.",
        ),
        *_salt(question, draw),
        "theme",
    )


def compose_synthesis(question: str, analysis: QuestionAnalysis, draw: Draw, lang: str) -> str:
    """The cards read together: arc, majors, suits, reversals, numbers, and a leaning for yes/no questions."""
    salt = _salt(question, draw)
    parts = [_arc(question, draw, analysis, lang), _majors(draw, lang, salt)]
    parts += [p for p in (_suits(draw, analysis, lang, salt), _reversals(draw, lang, salt)) if p]
    parts += _numbers(draw, lang)
    parts += [p for p in (_theme(question, analysis, draw, lang), _answer(question, draw, lang)) if p]
    return tidy(" ".join(parts))


CALM = {
    "en": {
        "anxious": (
            "Worry makes every card look darker than it is; breathe first.",
            "Anxiety shouts, but the cards speak quietly; give yourself a calm moment before acting.",
        ),
        "sad": ("Be gentle with yourself while this settles.", "Sadness needs room; do not rush yourself."),
        "confused": (
            "You do not need the whole answer today, only the next step.",
            "Confusion clears with movement more than with more thinking.",
        ),
        "frustrated": (
            "Let the frustration cool before you act on it.",
            "Frustration is energy; point it at the next step rather than at the people around you.",
        ),
    },
    "th": {
        "anxious": (
            "ความกังวลทำให้ไพ่ทุกใบดูมืดกว่าความจริง หายใจลึกๆ ก่อน",
            "ความกังวลส่งเสียงดัง แต่ไพ่พูดเบาๆ ให้เวลาตัวเองสงบสักครู่ก่อนลงมือ",
        ),
        "sad": ("อ่อนโยนกับตัวเองในช่วงที่เรื่องนี้ยังไม่ลงตัว", "ความเศร้าต้องการพื้นที่ อย่าเร่งตัวเอง"),
        "confused": (
            "วันนี้คุณไม่จำเป็นต้องรู้คำตอบทั้งหมด แค่ก้าวถัดไปก็พอ",
            "ความสับสนคลายได้ด้วยการขยับ มากกว่าการคิดเพิ่ม",
        ),
        "frustrated": (
            "ปล่อยให้ความหงุดหงิดเย็นลงก่อนจะลงมือทำอะไร",
            "ความหงุดหงิดคือพลังงาน ใช้มันกับก้าวถัดไป ไม่ใช่กับคนรอบข้าง",
        ),
    },
}


def compose_advice(question: str, analysis: QuestionAnalysis, draw: Draw, lang: str) -> str:
    """Advice from the advice card (else the last card), the asker's mood, the area and the timeframe."""
    guide = next((d for d in draw.cards if d.position.key == "advice"), draw.cards[-1])
    keywords, _ = side_text(guide, lang)
    label, k0 = card_label(guide, lang), keywords[0]
    step = pick(STEP[lang][analysis.category], question, guide.card.id)
    calm = pick(CALM[lang][analysis.emotion], question, "calm") if analysis.emotion in CALM[lang] else ""
    if lang == "th":
        lead = (
            f"ให้{label} นำทาง โน้มเข้าหา{k0}"
            if is_gentle(guide)
            else f"{label}ขอให้คุณมอง{k0}อย่างซื่อตรงและไม่โทษตัวเองก่อน"
        )
        when = {
            "near_future": f"ภายในสัปดาห์นี้ ลอง{step}",
            "long_term": f"เริ่มเล็กๆ ด้วยการ{step} แล้วค่อยๆ ขยายในหลายเดือนข้างหน้า",
        }.get(analysis.timeframe, f"ในไม่กี่วันนี้ ลอง{step}")
        return tidy(" ".join(p for p in (calm, lead, when) if p))
    lead = (
        f"Let {label} guide you: lean into {k0}."
        if is_gentle(guide)
        else f"{label} asks you to look at {k0} first, honestly and without blame."
    )
    when = {
        "near_future": f"This week, {step}.",
        "long_term": f"Start small: {step}, and let it grow over the months ahead.",
    }.get(analysis.timeframe, f"In the next few days, {step}.")
    return tidy(" ".join(p for p in (calm, capitalise(lead), when) if p))
