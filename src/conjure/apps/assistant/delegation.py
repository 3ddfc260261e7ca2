"""Delegation ("agent delegation"): the assistant acts through the other apps' jobs.

1. A message that asks for something another app does (a tarot reading, an image) gets an
   *offer*: the answer ends by naming the price and asking (the offer is kept on the answer).
2. The person's next message says yes: the API submits that app's job on their behalf, as a
   *child* of the answer's job (``parent_job_id``), holding its price from their wallet like any
   job (charged once, on success; released on failure or cancel). A no, or anything else, lets
   the offer lapse.
3. The answer's job follows the child: its progress and result are streamed into the
   conversation. Canceling the answer's job cancels the child while it is still queued.

Kinds are named, not imported: the assistant knows the other apps only by their job kinds,
and offers one only when this runtime has it installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TAROT_KIND = "tarot.reading"
IMAGE_KIND = "imagegen.generate"
DELEGABLE = (TAROT_KIND, IMAGE_KIND)
_TAROT = re.compile(r"\b(tarot|card reading|read (?:my|the) cards|ไพ่|ดูดวง)", re.I)
_IMAGE = re.compile(
    r"\b(draw|paint|sketch|illustrate|generate|make|create)\b.{0,40}\b(image|picture|drawing|illustration|art|poster)"
    r"|\b(image|picture|drawing) of\b|วาดรูป|สร้างภาพ",
    re.I,
)
_YES = re.compile(
    r"^\s*(yes|yeah|yep|sure|ok|okay|go ahead|please do|do it|let'?s do it|ใช่|ตกลง|เอา)\b", re.I
)
_NO = re.compile(r"^\s*(no|nope|not now|cancel|never ?mind|ไม่)\b", re.I)
QUESTION_MAX = 180  # tarot's question limit
PROMPT_MAX = 1000


@dataclass(frozen=True)
class Offer:
    """What the assistant proposes to do, its price, and the job it would submit."""

    tool: str  # "tarot" or "image"
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

    def question(self) -> str:
        """The sentence that ends the answer: what, for how much, and asking first."""
        stars = f"{self.price_stars} star" + ("" if self.price_stars == 1 else "s")
        if self.tool == "tarot":
            what = f"do a tarot reading on “{self.payload['question']}”"
        else:
            what = f"make an image of “{self.payload['prompt']}”"
        return f"I can {what} for {stars}. Shall I go ahead? (yes / no)"


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def detect_offer(text: str, prices: dict[str, int]) -> Offer | None:
    """The offer a message calls for, if its app is installed (``prices``: kind → stars)."""
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


def result_text(offer: Offer, status: str, result: dict[str, Any] | None, image_url: str | None) -> str:
    """How the child's outcome reads in the conversation."""
    if status != "succeeded" or result is None:
        what = "reading" if offer.tool == "tarot" else "image"
        return f"The {what} did not work out ({status}); nothing was charged."
    if offer.tool == "tarot":
        cards = ", ".join(
            f"{card.get('name')}{' (reversed)' if card.get('orientation') == 'reversed' else ''}"
            for card in result.get("cards", [])
        )
        return f"Your cards: {cards}.\n\n{result.get('reading', '')}"
    return f"Your image is ready: {image_url}" if image_url else "Your image is ready."
