"""Request and response shapes of the imagegen API (seed 004: ``/api/generation``)."""

from __future__ import annotations

import datetime as dt
import unicodedata
import uuid
from typing import Literal, get_args

from pydantic import BaseModel, Field, field_validator

from conjure.kit.paging import Page
from conjure.kit.submit import JobRequest

PROMPT_MIN, PROMPT_MAX = 3, 1000
# The sizes every provider can honour (OpenAI's gpt-image sizes; Replicate gets the aspect ratio).
ImageSize = Literal["1024x1024", "1024x1536", "1536x1024"]
IMAGE_SIZES: tuple[str, ...] = get_args(ImageSize)
_ALLOWED = frozenset("\n\r\t\u200c\u200d")
GenerationStatus = Literal["pending", "processing", "completed", "failed", "canceled"]


def clean_prompt(value: str) -> str:
    """The prompt trimmed; ``ValueError`` if its length is out of range or it holds control characters."""
    prompt = value.strip()
    if not PROMPT_MIN <= len(prompt) <= PROMPT_MAX:
        raise ValueError(f"must be {PROMPT_MIN}-{PROMPT_MAX} characters after trimming")
    # Category C* is control, format, surrogate, private-use and unassigned code points:
    # none belongs in a prompt, and some (bidi overrides, NUL) are used to smuggle text.
    # Line breaks and tabs (multi-line text boxes) and the zero-width joiners that emoji
    # sequences and some scripts need are the exceptions.
    if any(unicodedata.category(char).startswith("C") and char not in _ALLOWED for char in prompt):
        raise ValueError("must not contain control characters")
    return prompt


class GenerationRequest(JobRequest):
    """Ask for one image."""

    prompt: str = Field(
        min_length=PROMPT_MIN,
        max_length=PROMPT_MAX,
        description=f"What to draw, {PROMPT_MIN}-{PROMPT_MAX} characters after trimming.",
        examples=["a red fox in snow"],
    )
    size: ImageSize = "1024x1024"

    @field_validator("prompt")
    @classmethod
    def _prompt(cls, value: str) -> str:
        return clean_prompt(value)


class GenerationAccepted(BaseModel):
    """The job was committed; poll ``GET /api/generation/{job_id}`` or follow the job's SSE stream."""

    job_id: uuid.UUID
    status: GenerationStatus


class GenerationError(BaseModel):
    code: str
    message: str


class GenerationView(BaseModel):
    """A generation's state; ``image_url`` (a signed link, valid until ``image_url_expires_at``) once done."""

    job_id: uuid.UUID
    status: GenerationStatus
    job_status: str
    step: str | None = Field(default=None, description="While processing: generating, downloading, storing.")
    image_url: str | None = None
    image_url_expires_at: dt.datetime | None = None
    width: int | None = None
    height: int | None = None
    provider: str | None = None
    offline_preview: bool = False
    error: GenerationError | None = None


class GenerationItem(BaseModel):
    """One image in the caller's gallery."""

    job_id: uuid.UUID
    prompt: str
    size: str
    provider: str
    width: int
    height: int
    image_url: str
    created_at: dt.datetime


class GenerationPage(Page[GenerationItem]):
    """A page of the caller's gallery, newest first."""
