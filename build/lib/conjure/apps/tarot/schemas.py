"""Request and response shapes of the tarot routes."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Any

from pydantic import BaseModel, Field, field_validator

from conjure.jobs.models import JobStatus
from conjure.jobs.schemas import JobErrorView
from conjure.kit.paging import Page
from conjure.kit.submit import JobRequest

QUESTION_MIN, QUESTION_MAX = 8, 180


class ReadRequest(JobRequest):
    """A question for the cards: 8–180 characters after trimming, no control characters."""

    # The bounds hold for the raw text too (so the schema states them); trimming is checked below.
    question: str = Field(
        min_length=QUESTION_MIN,
        max_length=QUESTION_MAX,
        description=f"{QUESTION_MIN}-{QUESTION_MAX} characters after trimming, no control characters.",
        examples=["Will my new project take off this year?"],
    )

    @field_validator("question")
    @classmethod
    def _check_question(cls, value: str) -> str:
        value = value.strip()
        # Control and format characters (category C*) can smuggle text into prompts and logs.
        # isprintable() is False for every C* character, so only such questions need the scan.
        if not value.isprintable() and any(
            unicodedata.category(ch).startswith("C") and ch not in "\u200d\ufe0f" for ch in value
        ):
            raise ValueError("The question must not contain control characters.")
        if not QUESTION_MIN <= len(value) <= QUESTION_MAX:
            raise ValueError(f"The question must be {QUESTION_MIN}-{QUESTION_MAX} characters long.")
        return value


class ReadAccepted(BaseModel):
    """202: the reading is queued; follow it at ``GET /api/v1/reading/{job_id}``."""

    job_id: uuid.UUID
    status: JobStatus
    trace_id: str | None


class ReadingStatus(BaseModel):
    """A reading job as its owner sees it; ``result`` once succeeded, ``error`` once failed."""

    job_id: uuid.UUID
    status: JobStatus
    result: dict[str, Any] | None = None
    error: JobErrorView | None = None
    progress: dict[str, Any] | None = None


class ReadingSummary(BaseModel):
    """One past reading in the history list."""

    id: uuid.UUID
    job_id: uuid.UUID
    question: str
    card_count: int
    cards: list[dict[str, Any]]
    reading: dict[str, Any]
    question_analysis: dict[str, Any]
    prompt_version: str
    provider: str
    processing_time_ms: int
    created_at: dt.datetime


class ReadingHistory(Page[ReadingSummary]):
    """A page of the caller's readings, newest first."""
