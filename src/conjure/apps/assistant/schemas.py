"""Request and response shapes of the assistant API (seed 002): conversations, messages, memories."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from conjure.apps.assistant.phrases import DEFAULT_LANGUAGE, Language, normalize_language
from conjure.kit.paging import Page
from conjure.kit.submit import JobRequest

MessageStatus = Literal["queued", "answering", "answered", "failed", "canceled", "complete"]

# Control characters nobody types: PostgreSQL refuses NUL in text outright (SQLite would keep it),
# so both backends refuse them here alike. A message keeps its tabs and new lines.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_MESSAGE_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _plain(value: str, control: re.Pattern[str] = _CONTROL) -> str:
    if control.search(value):
        raise ValueError("must not contain control characters")
    return value


def _clean_title(value: str | None) -> str | None:
    if value is None:
        return None
    title = " ".join(_plain(value).split())
    if len(title) > 200:
        raise ValueError("must be at most 200 characters")
    return title


class ConversationCreate(BaseModel):
    title: str | None = Field(
        default=None, max_length=200, description="Optional; the first message names it."
    )

    @field_validator("title")
    @classmethod
    def _title(cls, value: str | None) -> str | None:
        return _clean_title(value)


class ConversationUpdate(BaseModel):
    title: str = Field(max_length=200, description="Up to 200 characters (spaces collapsed).")

    @field_validator("title")
    @classmethod
    def _title(cls, value: str) -> str:
        return _clean_title(value) or ""


class MessageCreate(JobRequest):
    content: str = Field(min_length=1, max_length=20000, description="The person's message (trimmed).")
    photo_key: str | None = Field(
        default=None,
        max_length=512,
        description="A photo the message carries: the `key` of the sender's upload "
        "(`POST /api/v1/uploads/presign`, then the upload). The assistant can offer to stage its room.",
    )

    language: Language = Field(
        default=DEFAULT_LANGUAGE,
        description="What the person reads (`en` or `th`; `th-TH` reads as `th`): the assistant's own "
        "sentences (the offline reply, an offer's question) are written in it, and a model is asked "
        "to answer in it.",
    )

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: object) -> object:
        return normalize_language(value) if isinstance(value, str) else value

    @field_validator("content")
    @classmethod
    def _content(cls, value: str) -> str:
        text = _plain(value, _MESSAGE_CONTROL).strip()
        if not text:
            raise ValueError("must not be empty")
        return text


class MessageView(BaseModel):
    """A message in a conversation; an answer says which model wrote it and why (``route``)."""

    id: uuid.UUID
    conversation_id: uuid.UUID
    role: Literal["user", "assistant"]
    content: str
    status: MessageStatus = Field(description="User messages: their answer's state; answers: `complete`.")
    job_id: uuid.UUID | None = None
    reply_to: uuid.UUID | None = None
    answer_id: uuid.UUID | None = Field(default=None, description="User messages: the id their answer has.")
    model: str | None = None
    route: str | None = Field(default=None, examples=["local", "fallback:saturated", "offline"])
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    tool: dict[str, Any] | None = Field(
        default=None,
        description="Delegation: an `offer` (tool, kind, price_stars, status) or a `delegated` job (job_id); "
        "answers: the child's `child_status` and `image_url` (a signed link, if it made an image).",
    )
    photo_url: str | None = Field(
        default=None, description="User messages with a photo: a short-lived signed link to it."
    )
    created_at: dt.datetime


class ConversationView(BaseModel):
    id: uuid.UUID
    title: str
    message_count: int
    created_at: dt.datetime
    updated_at: dt.datetime


class ConversationDetail(ConversationView):
    messages: list[MessageView] = Field(description="The latest messages (up to 50), oldest first.")


class MessageAccepted(BaseModel):
    message_id: uuid.UUID
    answer_id: uuid.UUID = Field(description="The id the answer will have (in `message.delta` events too).")
    job_id: uuid.UUID
    status: MessageStatus
    priced: bool = Field(description="Over today's free messages: this answer costs stars.")


class MemoryView(BaseModel):
    id: uuid.UUID
    content: str
    category: str
    created_at: dt.datetime


ConversationPage = Page[ConversationView]
MessagePage = Page[MessageView]
MemoryPage = Page[MemoryView]


class MeditationCreate(JobRequest):
    theme: str = Field(min_length=2, max_length=200, examples=["sleep", "letting go of work stress"])
    minutes: int = Field(ge=3, le=20, description="3-20 minutes of audio.")
    voice: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_+-]+$")
    language: Language = Field(
        default=DEFAULT_LANGUAGE,
        description="What the person reads and hears (`en` or `th`; `th-TH` reads as `th`): the script is "
        "written and voiced in it.",
    )

    @field_validator("language", mode="before")
    @classmethod
    def _language(cls, value: object) -> object:
        return normalize_language(value) if isinstance(value, str) else value

    @field_validator("theme")
    @classmethod
    def _theme(cls, value: str) -> str:
        theme = " ".join(_plain(value).split())
        if len(theme) < 2:
            raise ValueError("must be at least 2 characters after trimming")
        return theme


class MeditationAccepted(BaseModel):
    meditation_id: uuid.UUID
    job_id: uuid.UUID
    status: str


class MeditationView(BaseModel):
    id: uuid.UUID
    theme: str
    minutes: int
    status: Literal["queued", "processing", "ready", "failed", "canceled"]
    progress: dict[str, Any] | None = Field(default=None, description="While voicing: segment, segments.")
    audio_url: str | None = Field(default=None, description="A signed link to the audio (Ogg Vorbis).")
    duration_seconds: float | None = None
    language: Language = Field(default=DEFAULT_LANGUAGE, description="The script's language.")
    script: list[str] | None = Field(default=None, description="Once ready: the words spoken, part by part.")
    job_id: uuid.UUID | None = None
    created_at: dt.datetime
