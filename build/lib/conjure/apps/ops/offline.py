"""The ``offline`` provider's answers for ops: a rule-based classifier, reply templates, a lead scorer.

Deterministic, so the embedded default works with no model and tests are stable. The intents
it knows are the escalation policy's (:mod:`conjure.apps.ops.escalation`); a message it cannot
place is ``other`` with low confidence, which the policy sends to a human.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

# Checked in order: sensitive matters first, so "refund for my allergy reaction" is never "pricing".
_RULES: tuple[tuple[str, str, str], ...] = (
    ("legal", r"\b(lawyer|attorney|lawsuit|sue|legal action|court)\b", "high"),
    ("allergy", r"\b(allerg\w*|anaphyla\w*|gluten|peanut|shellfish|celiac|epipen)\b", "high"),
    ("health", r"\b(sick|food poisoning|ill|hospital|vomit\w*|diarrh\w*)\b", "high"),
    ("refund", r"\b(refund\w*|money back|chargeback)\b", "high"),
    ("complaint", r"\b(terrible|awful|worst|disappointed|complain\w*|rude|unacceptable|late)\b", "medium"),
    ("cancellation", r"\b(cancel\w*|reschedul\w*)\b", "medium"),
    (
        "booking_request",
        r"\b(book|reserve|reservation|schedule)\b.*\b(party|event|guests?|people|on)\b",
        "low",
    ),
    ("availability", r"\b(available|availability|open on|free on|any (slots?|dates?))\b", "low"),
    ("pricing", r"\b(price|prices|pricing|cost|how much|rate|rates|quote)\b", "low"),
    ("menu", r"\b(menu|dishes|protein|vegetarian|vegan|options)\b", "low"),
    ("deposit_question", r"\b(deposit)\b", "low"),
    ("hours", r"\b(hours|what time|when do you)\b", "low"),
    ("greeting", r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b[\s!.,]*$", "low"),
)
_NEGATIVE = re.compile(
    r"\b(terrible|awful|worst|angry|disappointed|bad|rude|never again|unacceptable)\b", re.I
)
_POSITIVE = re.compile(r"\b(great|amazing|love|awesome|thank(s| you)|excellent|wonderful)\b", re.I)


class Classification(BaseModel):
    """What the classifier says about one inbound message."""

    intent: str = Field(description="One of the known intents, or 'other'.")
    sentiment: str = Field(description="positive, neutral or negative")
    sensitivity: str = Field(description="low, medium or high (health, allergies, legal, money back)")
    confidence: float = Field(ge=0, le=1)


class LeadScore(BaseModel):
    """An AI qualification of a lead."""

    score: int = Field(ge=0, le=100)
    reasons: list[str]
    next_step: str


class ReplyDraft(BaseModel):
    text: str = Field(min_length=1, max_length=2000)


def classify(text: str) -> Classification:
    sentiment = "neutral"
    if _NEGATIVE.search(text):
        sentiment = "negative"
    elif _POSITIVE.search(text):
        sentiment = "positive"
    matches = [(intent, level) for intent, pattern, level in _RULES if re.search(pattern, text, re.I)]
    if not matches:
        return Classification(intent="other", sentiment=sentiment, sensitivity="low", confidence=0.3)
    intent, sensitivity = matches[0]
    # One clear intent is confident; several at once (a question and a grievance) is less so.
    confidence = 0.92 if len(matches) == 1 else 0.7
    return Classification(intent=intent, sentiment=sentiment, sensitivity=sensitivity, confidence=confidence)


_TEMPLATES = {
    "greeting": "Hi! Thanks for reaching out to {station}. How can we help with your hibachi party?",
    "pricing": "Thanks for asking! {station} packages start at $60 per adult with a $600 party minimum; "
    "we'll send a tailored quote once we know your date and guest count.",
    "availability": "Thanks for your message! Send us the date, time and number of guests and {station} "
    "will check the chef calendar for you right away.",
    "booking_request": "We'd love to cook for you! {station} will confirm the date and guest count and "
    "send a deposit link to hold your slot.",
    "menu": "Every {station} party includes salad, fried rice, vegetables and two proteins per guest; "
    "vegetarian options are always available.",
    "hours": "{station} takes bookings from 11:00 to 21:00 every day; parties can start any time in between.",
    "deposit_question": "A deposit holds your date at {station}; it is refunded in full if you cancel at "
    "least 7 days ahead.",
    "cancellation": "We're sorry to hear plans changed. A {station} team member will help you reschedule "
    "or cancel shortly.",
}
_FALLBACK = "Thank you for your message. A member of the {station} team will get back to you shortly."


def draft_reply(intent: str, station: str) -> ReplyDraft:
    return ReplyDraft(text=_TEMPLATES.get(intent, _FALLBACK).format(station=station))


def review_reply(rating: int, reviewer: str | None, station: str) -> ReplyDraft:
    name = reviewer or "there"
    if rating >= 4:
        text = (
            f"Thank you so much, {name}! The {station} team loved cooking for you. See you at the next party!"
        )
    elif rating == 3:
        text = f"Thanks for the feedback, {name}. Tell us how {station} can make your next party great."
    else:
        text = (
            f"We're sorry, {name}, that your party fell short. The {station} manager will reach out "
            "personally to make it right."
        )
    return ReplyDraft(text=text)


def score_lead(message: str, has_phone: bool) -> LeadScore:
    score, reasons = 30, []
    if re.search(r"\b\d{1,3}\s*(guests?|people|adults|persons)\b", message, re.I):
        score += 25
        reasons.append("guest count given")
    if re.search(
        r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)\w*\b|\b\d{1,2}/\d{1,2}\b", message, re.I
    ):
        score += 20
        reasons.append("event date given")
    if re.search(r"\b(birthday|wedding|anniversary|graduation|corporate|party)\b", message, re.I):
        score += 15
        reasons.append("occasion named")
    if has_phone:
        score += 10
        reasons.append("phone number left")
    if not reasons:
        reasons.append("no date, guest count or occasion yet")
    score = min(score, 100)
    step = "Call today and send a deposit link" if score >= 70 else "Reply asking for date and guest count"
    return LeadScore(score=score, reasons=reasons, next_step=step)
