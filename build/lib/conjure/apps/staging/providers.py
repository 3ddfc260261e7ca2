"""Staging models behind one small interface, chosen by ``STAGING_PROVIDER``: ``offline`` (here) or
``replicate`` (:mod:`conjure.apps.staging.replicate`); the job picks one (``tasks.make_provider``).

A provider gets the upright, EXIF-free photo (and a signed link to it, for models that
fetch their input) and returns the staged image's bytes. Failures map onto the engine's
errors: 429/5xx/timeouts are :class:`RetryableJobError`, refusals :class:`PermanentJobError`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from PIL import Image

from conjure.apps.staging import offline
from conjure.apps.staging.imaging import to_jpeg

if TYPE_CHECKING:
    from conjure.apps.staging.resources import JobResources
    from conjure.jobs.registry import JobContext


@dataclass(frozen=True)
class StagingRequest:
    photo: Image.Image
    photo_url: str  # a signed link to the display copy of the photo
    room_type: str
    style: str
    quality: str


@dataclass(frozen=True)
class StagedResult:
    data: bytes
    model: str
    cost_usd: float = 0.0


class StagingProvider(Protocol):
    name: str

    async def stage(self, ctx: JobContext, res: JobResources, request: StagingRequest) -> StagedResult:
        """Return the staged photo."""


def room_words(value: str) -> str:
    return {"kids_room": "kids' room"}.get(value, value.replace("_", " "))


def staging_prompt(room_type: str, style: str) -> str:
    """What the image-edit model is asked (the same words for every model)."""
    room, look = room_words(room_type), style.replace("_", "-")
    return (
        f"Virtually stage this empty {room} in a {look} style: add realistic {look} furniture, "
        f"a rug, lighting and decor that suit a {room}. Keep the walls, windows, doors, floor, "
        "ceiling, lighting direction and camera angle exactly as they are; photorealistic."
    )


class OfflineStaging:
    """The embedded default: a Pillow transformation, labelled as an offline preview."""

    name = "offline"

    async def stage(self, ctx: JobContext, res: JobResources, request: StagingRequest) -> StagedResult:
        staged = await asyncio.to_thread(
            offline.stage_offline, request.photo, request.room_type, request.style
        )
        return StagedResult(data=await asyncio.to_thread(to_jpeg, staged), model=offline.MODEL)
