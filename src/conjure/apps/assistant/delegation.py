"""Delegation ("agent delegation"): the assistant acts through the other apps' jobs.

1. A message that asks for something another app does (a tarot reading, an image, staging the
   room in the photo it carries) gets an *offer*: the answer ends by naming the price and asking
   (the offer is kept on the message).
2. The person's next message says yes: the API submits that app's job on their behalf, as a
   *child* of the answer's job (``parent_job_id``), holding its price from their wallet like any
   job (charged once, on success; released on failure or cancel). A no, or anything else, lets
   the offer lapse.
3. The answer's job follows the child: its progress and result are streamed into the
   conversation. Canceling the answer's job cancels the child while it is still queued.

Kinds are named, not imported: the assistant knows the other apps only by their job kinds
(and the staging job's payload), and offers one only when this runtime has it installed.

A message's photo is a key of the presigned uploads (``POST /api/v1/uploads/presign``,
``uploads/user_{id}/…``): :func:`conjure.storage.base.owns_upload` accepts only a well-formed
key under the sender's own prefix, and the staging job checks the same again before it reads it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from conjure.apps.assistant.phrases import (
    DEFAULT_LANGUAGE,
    Language,
    room_name,
    say,
    stars,
    status_note,
    style_name,
)

TAROT_KIND = "tarot.reading"
IMAGE_KIND = "imagegen.generate"
STAGING_KIND = "staging.stage"
DELEGABLE = (TAROT_KIND, IMAGE_KIND, STAGING_KIND)
TOOLS = ("tarot", "image", "staging")
# Thai words stand outside \b: Thai is written without spaces, so "ช่วยดูดวง" has no boundary before ดูดวง.
_TAROT = re.compile(r"\b(tarot|card reading|read (?:my|the) cards)|ไพ่|ดูดวง", re.I)
_IMAGE = re.compile(
    r"\b(draw|paint|sketch|illustrate|generate|make|create)\b.{0,40}\b(image|picture|drawing|illustration|art|poster)"
    r"|\b(image|picture|drawing) of\b|วาดรูป|สร้างภาพ",
    re.I,
)
# Thai is written without spaces and its words often end in a tone mark, where \b sees no word
# boundary ("ใช่" alone never matched): Thai answers match as the start of the reply ("ใช่ค่ะ",
# "เอาเลย", "ไม่เอา"); a bare "เอา" only as a whole word ("เอาไว้ก่อน" is "later").
_YES = re.compile(
    r"^\s*(?:(?:yes|yeah|yep|sure|ok|okay|go ahead|please do|do it|let'?s do it)\b"
    r"|ใช่|ตกลง|โอเค|ได้เลย|เอาเลย|เอา(?:ค่ะ|ครับ)?(?![\u0e00-\u0e7f]))",
    re.I,
)
_NO = re.compile(r"^\s*(?:(?:no|nope|not now|cancel|never ?mind)\b|ไม่)", re.I)
_STAGE = re.compile(
    r"\b(stag(?:e|ing)|furnish\w*|decorat\w*|redecorat\w*|redesign\w*|make ?over|interior|style)\b"
    r"|แต่งห้อง|จัดห้อง|ตกแต่ง",
    re.I,
)
# The staging app's styles and room types (its job's payload), as people say them.
_STYLES = [
    ("scandinavian", r"scandi\w*|nordic|สแกนดิเนเวีย"),
    ("mid_century", r"mid[- ]?century|ยุคกลางศตวรรษ"),
    ("industrial", r"industrial|loft|อินดัสเทรียล|ลอฟท์"),
    ("coastal", r"coastal|beach\w*|ชายหาด"),
    ("farmhouse", r"farmhouse|rustic|country|ฟาร์มเฮาส์"),
    ("luxury", r"luxur\w*|elegant|glam\w*|หรูหรา"),
    ("minimalist", r"minimal\w*|มินิมอล"),
    ("modern", r"modern|contemporary|โมเดิร์น"),
]
_ROOMS = [
    ("kids_room", r"kids?'? ?room|nursery|children'?s room|ห้องเด็ก"),
    ("living_room", r"living ?room|lounge|sitting room|ห้องนั่งเล่น"),
    ("bedroom", r"bed ?room|ห้องนอน"),
    ("kitchen", r"kitchen|ห้องครัว|ครัว"),
    ("dining_room", r"dining|ห้องทานข้าว|ห้องอาหาร"),
    ("office", r"office|study|workspace|ห้องทำงาน"),
    ("bathroom", r"bath ?room|ห้องน้ำ"),
    ("outdoor", r"outdoor|patio|garden|terrace|balcony|ระเบียง|สวน"),
]
DEFAULT_STYLE, DEFAULT_ROOM = "modern", "living_room"
QUESTION_MAX = 180  # tarot's question limit
PROMPT_MAX = 1000


@dataclass(frozen=True)
class Offer:
    """What the assistant proposes to do, its price, and the job it would submit."""

    tool: str  # "tarot", "image" or "staging"
    kind: str
    price_stars: int
    payload: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tool": self.tool,
            "kind": self.kind,
            "price_stars": self.price_stars,
            "payload": self.payload,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Offer:
        return cls(str(data["tool"]), str(data["kind"]), int(data["price_stars"]), dict(data["payload"]))

    def question(self, language: Language = DEFAULT_LANGUAGE) -> str:
        """The sentence that ends the answer: what, for how much, and asking first."""
        if self.tool == "tarot":
            what = say(language, "offer.tarot", question=self.payload["question"])
        elif self.tool == "staging":
            room = room_name(language, str(self.payload["room_type"]))
            style = style_name(language, str(self.payload["style"]))
            what = say(language, "offer.staging", room=room, style=style)
        else:
            what = say(language, "offer.image", prompt=self.payload["prompt"])
        return say(language, "offer", what=what, stars=stars(language, self.price_stars))

    def label(self, language: Language = DEFAULT_LANGUAGE) -> str:
        return say(language, f"label.{self.tool}") if self.tool in TOOLS else self.tool


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _first(choices: list[tuple[str, str]], text: str, default: str) -> str:
    for name, pattern in choices:
        # Not \b: Thai is written without spaces, so a Thai word has no boundary before it.
        if re.search(rf"(?<![a-z])(?:{pattern})", text, re.I):
            return name
    return default


def staging_offer(text: str, photo_key: str, price: int) -> Offer | None:
    """Staging the photo's room, when the message asks for it (or names a style)."""
    style = _first(_STYLES, text, "")
    if not style and not _STAGE.search(text):
        return None
    payload = {
        "upload_key": photo_key,
        "room_type": _first(_ROOMS, text, DEFAULT_ROOM),
        "style": style or DEFAULT_STYLE,
        "quality": "standard",
    }
    return Offer("staging", STAGING_KIND, price, payload)


def detect_offer(text: str, prices: dict[str, int], photo_key: str | None = None) -> Offer | None:
    """The offer a message calls for, if its app is installed (``prices``: kind → stars); a
    message with a photo may ask for its room to be staged."""
    if photo_key is not None and STAGING_KIND in prices:
        offer = staging_offer(text, photo_key, prices[STAGING_KIND])
        if offer is not None:
            return offer
    if TAROT_KIND in prices and _TAROT.search(text):
        question = _clip(text, QUESTION_MAX)
        if len(question) >= 8:
            return Offer("tarot", TAROT_KIND, prices[TAROT_KIND], {"question": question})
    if IMAGE_KIND in prices and _IMAGE.search(text):
        return Offer(
            "image", IMAGE_KIND, prices[IMAGE_KIND], {"prompt": _clip(text, PROMPT_MAX), "size": "1024x1024"}
        )
    return None


def says_yes(text: str) -> bool:
    return _YES.search(text) is not None and _NO.search(text) is None


def result_object_key(offer: Offer, result: dict[str, Any] | None) -> str | None:
    """The stored image a child's result names (an image's, a staged room's), if any."""
    if result is None:
        return None
    key = result.get("staged_key") if offer.tool == "staging" else result.get("object_key")
    return str(key) if key else None


def result_text(
    offer: Offer,
    status: str,
    result: dict[str, Any] | None,
    image_url: str | None,
    language: Language = DEFAULT_LANGUAGE,
) -> str:
    """How the child's outcome reads in the conversation."""
    tool = offer.tool if offer.tool in TOOLS else "image"
    if status != "succeeded" or result is None:
        return say(language, f"failed.{tool}", status=status_note(language, status))
    if tool == "tarot":
        reversed_ = say(language, "reversed")
        name = "name_th" if language == "th" else "name"
        cards = ", ".join(
            f"{card.get(name) or card.get('name')}"
            + (reversed_ if card.get("orientation") == "reversed" else "")
            for card in result.get("cards", [])
        )
        return say(language, "cards", cards=cards) + f"\n\n{result.get('reading', '')}"
    return say(language, f"ready.{tool}.link", url=image_url) if image_url else say(language, f"ready.{tool}")
