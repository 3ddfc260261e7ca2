"""The typed outputs of the reading pipeline's model steps (what each pydantic-ai agent must return)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Category = Literal[
    "love", "career", "finance", "health", "family", "education", "personal_growth", "spiritual", "general"
]
Timeframe = Literal["past", "present", "near_future", "long_term", "unspecified"]


class FilterVerdict(BaseModel):
    """Step 1: may this question be read at all?"""

    allowed: bool
    reason: str = Field(max_length=400, description="Short reason, shown to the user when not allowed.")


class QuestionAnalysis(BaseModel):
    """Step 2: what the question is about."""

    category: Category
    emotion: str = Field(
        max_length=40, description="One word for the asker's feeling, e.g. anxious, hopeful."
    )
    timeframe: Timeframe
    themes: list[str] = Field(max_length=6, description="Up to six short themes, lower case.")


class CardInterpretation(BaseModel):
    """One drawn card read in its position, tied to the question."""

    position: str = Field(description="The position key exactly as given, e.g. past.")
    card: str = Field(description="The card's English name exactly as given.")
    interpretation: str = Field(max_length=1500)


class ReadingDraft(BaseModel):
    """Step 4: the reading itself, in the language of the question."""

    cards: list[CardInterpretation]
    synthesis: str = Field(max_length=2500)
    advice: str = Field(max_length=1500)
