"""The ``staging.stage`` job: download the original → check it → call the model → store → (row on success).

The handler stores the display copy of the original (upright, EXIF/GPS stripped),
the staged image and a thumbnail of each, and returns their keys; the ``staging_images``
row becomes ``ready`` in the engine's finishing transaction (:func:`save_staged_image`),
together with the job's status and the capture of the hold, and ``image.ready`` (which
that hook returns) is published by the engine once that commits. Every end without success
(a failure, the DLQ, a cancel, a deadline, a callback that never came) marks the row
``failed`` in the transaction that ends the job (:func:`mark_image_failed`, the kind's
``on_failure``), and ``image.failed`` goes out once that commits.

With Replicate the job parks while the model runs (``conjure.jobs.parking``); its next run
starts from the checkpoint (:meth:`ReplicateStaging.resume`) instead of preparing the photo again.

Another app may submit this job on the person's behalf (the assistant's delegation, as a child
of its own job): its payload names no project, and the kind's ``on_submit``
(:func:`conjure.apps.staging.service.admit_delegated`) counts it against the monthly quota and
makes its image row with the job, so it is listed, deleted, erased and exported like any other.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.ai.breaker import breaker_for, guard_job_call
from conjure.apps.staging import notify
from conjure.apps.staging.imaging import decode_photo, fit, thumbnail_jpeg, to_jpeg
from conjure.apps.staging.keys import staged_keys
from conjure.apps.staging.models import ImageStatus, StagedImage
from conjure.apps.staging.providers import OfflineStaging, StagingProvider, StagingRequest
from conjure.apps.staging.replicate import ReplicateStaging
from conjure.apps.staging.resources import JobResources, job_resources
from conjure.apps.staging.schemas import ROOM_TYPES, STYLES
from conjure.apps.staging.settings import StagingSettings
from conjure.db import utcnow
from conjure.jobs.models import JobStatus
from conjure.jobs.registry import JobContext, JobEnd, JobError, PermanentJobError, RetryableJobError
from conjure.jobs.schemas import dead_letter_message
from conjure.storage.base import owns_upload
from conjure.storage.service import ObjectNotFound

if TYPE_CHECKING:
    from conjure.events.types import NewEvent
    from conjure.jobs.models import Job

KIND = "staging.stage"
log = structlog.get_logger("conjure.apps.staging.tasks")


def _payload(ctx: JobContext) -> tuple[str, str, str, str]:
    # Checked again here: a payload can reach the queue by other paths than the API.
    payload = ctx.payload
    key, room, style = str(payload.get("upload_key", "")), payload.get("room_type"), payload.get("style")
    quality = str(payload.get("quality", "standard"))
    if ctx.user_id is None or not owns_upload(ctx.user_id, key):
        raise PermanentJobError("invalid_upload_key", "The upload key is not the user's.")
    if room not in ROOM_TYPES or style not in STYLES or quality not in ("standard", "high"):
        raise PermanentJobError("invalid_options", "Unknown room type, style or quality.")
    return key, str(room), str(style), quality


def _outage(exc: BaseException) -> bool:
    """A retryable provider failure (or an unexpected one) counts against its breaker."""
    return isinstance(exc, RetryableJobError) or not isinstance(exc, JobError)


def make_provider(settings: StagingSettings) -> StagingProvider:
    """The model ``STAGING_PROVIDER`` names."""
    if settings.staging_provider == "replicate":
        return ReplicateStaging(settings)
    return OfflineStaging()


async def stage_image(ctx: JobContext) -> dict[str, Any]:
    """Stage one photo (or carry on from where a parked run stopped)."""
    res = job_resources(ctx)
    storage, settings = res.storage, res.staging
    key, room_type, style, quality = _payload(ctx)
    provider = make_provider(settings)
    keys = staged_keys(ctx.user_id, ctx.job_id)
    ttl = res.settings.storage_presign_ttl_seconds
    saved = await ctx.saved_state() if isinstance(provider, ReplicateStaging) else None
    made = None
    if saved is not None and saved.checkpoint:
        # A parked run's continuation: the photo was checked and stored, the model was asked.
        assert isinstance(provider, ReplicateStaging)
        made = await provider.resume(ctx, res, saved.checkpoint)
    if made is None:  # a first run, or a re-run whose checkpoint went stale
        await ctx.progress("preparing")
        try:
            original = await storage.get(key)
        except ObjectNotFound:
            raise PermanentJobError("upload_missing", "The uploaded photo is gone.") from None
        photo = await asyncio.to_thread(decode_photo, original, max_pixels=settings.staging_max_pixels)
        display = await asyncio.to_thread(fit, photo, settings.staging_display_max_side)
        display_jpeg = await asyncio.to_thread(to_jpeg, display)
        thumb = await asyncio.to_thread(thumbnail_jpeg, display, settings.staging_thumbnail_side)
        await storage.put(keys["display_key"], display_jpeg, content_type="image/jpeg", encrypt=True)
        await storage.put(keys["thumbnail_key"], thumb, content_type="image/jpeg", encrypt=True)
        await ctx.progress("staging")
        photo_url = await storage.presigned_get_url(keys["display_key"], expires_seconds=ttl)
        request = StagingRequest(display, photo_url, room_type, style, quality)
        # The provider's circuit breaker: while open, the job waits out its cooldown for free.
        service = "replicate" if provider.name == "replicate" else "image"
        breaker = breaker_for(f"staging-{provider.name}", ctx.settings, service=service)
        made = await guard_job_call(
            breaker, lambda: provider.stage(ctx, res, request), transient=_outage, what="The staging model"
        )
    # The model's answer is untrusted like an upload: decoded, bounded, re-encoded without metadata.
    staged = await asyncio.to_thread(decode_photo, made.data, max_pixels=settings.staging_max_pixels)
    staged = await asyncio.to_thread(fit, staged, settings.staging_display_max_side)
    await ctx.progress("storing")
    if not await _image_exists(ctx, res):
        # Deleted while the model ran: store nothing (nothing would ever delete it) and charge nothing.
        for stored in (keys["display_key"], keys["thumbnail_key"]):
            await storage.delete(stored)
        raise PermanentJobError("image_deleted", "The image was deleted while it was being staged.")
    staged_jpeg = await asyncio.to_thread(to_jpeg, staged)
    staged_thumb = await asyncio.to_thread(thumbnail_jpeg, staged, settings.staging_thumbnail_side)
    await storage.put(keys["staged_key"], staged_jpeg, content_type="image/jpeg", encrypt=True)
    await storage.put(keys["staged_thumbnail_key"], staged_thumb, content_type="image/jpeg", encrypt=True)
    ctx.record_usage(provider=provider.name, step="stage", cost_usd=made.cost_usd)
    urls = {
        "original_url": await storage.presigned_get_url(keys["display_key"], expires_seconds=ttl),
        "original_thumbnail_url": await storage.presigned_get_url(keys["thumbnail_key"], expires_seconds=ttl),
        "staged_url": await storage.presigned_get_url(keys["staged_key"], expires_seconds=ttl),
        "thumbnail_url": await storage.presigned_get_url(keys["staged_thumbnail_key"], expires_seconds=ttl),
    }
    return {
        **keys,
        "provider": provider.name,
        "model": made.model,
        "cost_usd": made.cost_usd,
        "width": staged.width,
        "height": staged.height,
        "bytes": len(staged_jpeg),
        "offline_preview": provider.name == "offline",
        # Signed links for the image.ready event (the owner's alone, like this result).
        "urls": urls,
        "urls_expire_at": (utcnow() + dt.timedelta(seconds=ttl)).isoformat(),
    }


async def _image_exists(ctx: JobContext, res: JobResources) -> bool:
    async with res.db.session() as session:
        found = await session.scalar(select(StagedImage.id).where(StagedImage.job_id == ctx.job_id))
    return found is not None


async def mark_image_failed(session: AsyncSession, job: Job, end: JobEnd) -> Sequence[NewEvent]:
    """The kind's ``on_failure``: the image row ``failed`` in the transaction that ends its job
    without success (whatever ended it), and ``image.failed`` for after that commits."""
    image = await session.scalar(select(StagedImage).where(StagedImage.job_id == job.id).with_for_update())
    if image is None or image.status in (ImageStatus.READY, ImageStatus.FAILED):
        return []  # deleted meanwhile (nothing to show it on), or told already
    code = end.code or str(end.status)
    # A DLQ job's last message was written for a retry; its owner is told it is final and free.
    message = dead_letter_message(job.attempts) if end.status == JobStatus.DLQ else end.message
    image.status = ImageStatus.FAILED
    image.error_code, image.error = code[:64], message or f"The staging job {end.status}."
    await session.flush()
    data = notify.image_event(
        image_id=image.id,
        project_id=image.project_id,
        job_id=job.id,
        status=ImageStatus.FAILED,
        error={"code": image.error_code, "message": image.error},
    )
    return [notify.image_failed(image.user_id, data)]


async def save_staged_image(session: AsyncSession, job: Job, result: dict[str, Any]) -> Sequence[NewEvent]:
    """Mark the image ready (in the job's finishing transaction); ``image.ready`` for after the commit."""
    image = await session.scalar(select(StagedImage).where(StagedImage.job_id == job.id).with_for_update())
    if image is None:
        # Deleted while it was being staged: nothing to show it on.
        log.warning("staged_image_deleted_while_running", job_id=str(job.id))
        return []
    if image.status == ImageStatus.READY:
        return []
    now = utcnow()
    image.status = ImageStatus.READY
    for name in ("display_key", "thumbnail_key", "staged_key", "staged_thumbnail_key"):
        setattr(image, name, result[name])
    image.width, image.height = result["width"], result["height"]
    image.provider, image.model = result["provider"], result["model"]
    image.cost_usd = float(result.get("cost_usd") or 0.0)
    image.ready_at = now
    image.error_code = image.error = None
    await session.flush()
    expires = result.get("urls_expire_at")
    data = notify.image_event(
        image_id=image.id,
        project_id=image.project_id,
        job_id=job.id,
        status=ImageStatus.READY,
        urls=dict(result.get("urls") or {}),
        urls_expire_at=dt.datetime.fromisoformat(expires) if expires else None,
        ready_at=now,
    )
    return [notify.image_ready(image.user_id, data)]
