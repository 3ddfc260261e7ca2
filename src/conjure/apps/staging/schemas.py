"""Request and response shapes of the staging API (seed 001: projects, uploads, images)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, Field, StringConstraints, field_validator

from conjure.kit.paging import Page
from conjure.kit.submit import JobRequest

RoomType = Literal[
    "living_room",
    "bedroom",
    "kitchen",
    "dining_room",
    "office",
    "bathroom",
    "kids_room",
    "outdoor",
]
Style = Literal[
    "modern",
    "scandinavian",
    "industrial",
    "mid_century",
    "coastal",
    "farmhouse",
    "luxury",
    "minimalist",
]
Quality = Literal["standard", "high"]
UploadContentType = Literal["image/jpeg", "image/png", "image/webp"]
ImageStatusName = Literal["queued", "processing", "ready", "failed", "canceled"]
ROOM_TYPES: tuple[str, ...] = get_args(RoomType)
STYLES: tuple[str, ...] = get_args(Style)
EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}


def _clean_name(value: str) -> str:
    name = " ".join(value.split())
    if not 1 <= len(name) <= 200:
        raise ValueError("must be 1-200 characters after trimming")
    return name


# The name's rules in the schema: 1-200 characters, not all whitespace (str.split()'s whitespace
# is Unicode spaces and \x1c-\x1f), so whitespace collapsing never takes it under 1 or over 200;
# no control characters (PostgreSQL refuses NUL in text; a pattern also refuses lone surrogates).
ProjectName = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
    ),
]


class ProjectCreate(BaseModel):
    name: ProjectName = Field(description="1-200 characters.", examples=["12 Elm Street"])

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _clean_name(value)


class ProjectUpdate(BaseModel):
    name: ProjectName = Field(description="1-200 characters.")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        return _clean_name(value)


class ProjectView(BaseModel):
    id: uuid.UUID
    name: str
    image_count: int = 0
    created_at: dt.datetime
    updated_at: dt.datetime


class PresignRequest(BaseModel):
    """What the client is about to upload; the answer is a request it sends the file with."""

    filename: str = Field(max_length=255)
    content_type: UploadContentType
    size: int = Field(gt=0, description="Bytes; at most STAGING_MAX_UPLOAD_BYTES.")


class PresignResponse(BaseModel):
    """Send the file with ``method`` to ``url``: POST as a multipart form of ``fields`` then ``file``,
    PUT as the raw bytes with ``headers``. Then pass ``key`` to ``POST /api/v1/images``."""

    method: Literal["POST", "PUT"]
    url: str
    fields: dict[str, str]
    headers: dict[str, str]
    key: str
    expires_at: dt.datetime


class ImageCreate(JobRequest):
    project_id: uuid.UUID
    upload_key: str = Field(max_length=512)
    room_type: RoomType
    style: Style
    quality: Quality = "standard"


class Restage(JobRequest):
    """Stage the same photo again; what is left out is kept from the image restaged."""

    style: Style | None = None
    room_type: RoomType | None = None
    quality: Quality | None = None


class ImageAccepted(BaseModel):
    image_id: uuid.UUID
    job_id: uuid.UUID
    status: ImageStatusName


class ImageError(BaseModel):
    code: str
    message: str


class ImageView(BaseModel):
    """An image; the URLs are short-lived signed links (``urls_expire_at``)."""

    id: uuid.UUID
    project_id: uuid.UUID
    job_id: uuid.UUID | None
    status: ImageStatusName
    room_type: str
    style: str
    quality: str
    original_url: str | None = None
    original_thumbnail_url: str | None = None
    staged_url: str | None = None
    thumbnail_url: str | None = None
    urls_expire_at: dt.datetime | None = None
    width: int | None = None
    height: int | None = None
    provider: str | None = None
    model: str | None = None
    offline_preview: bool = False
    error: ImageError | None = None
    created_at: dt.datetime
    ready_at: dt.datetime | None = None


class ProjectPage(Page[ProjectView]):
    """A page of the caller's projects, newest first."""


class ImagePage(Page[ImageView]):
    """A page of a project's images, newest first."""
