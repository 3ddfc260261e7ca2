"""Imagegen rules: submit a generation (one star held), show it with a fresh signed link, list the gallery.

Errors: none of its own beyond the platform's — 402 ``insufficient_stars`` comes
from the wallet hold, 404 ``not_found`` for another user's or a non-image job,
429 ``rate_limited`` from the route's limiter, 422 ``validation_error`` for the prompt.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from conjure.apps.imagegen.models import Generation
from conjure.apps.imagegen.schemas import (
    GenerationError,
    GenerationItem,
    GenerationPage,
    GenerationRequest,
    GenerationStatus,
    GenerationView,
)
from conjure.apps.imagegen.tasks import KIND
from conjure.db import utcnow
from conjure.jobs.models import Job, JobStatus
from conjure.jobs.schemas import user_error
from conjure.kit.submit import SubmitOptions, job_of_kind, submit
from conjure.settings import Settings

if TYPE_CHECKING:
    from conjure.runtime import Runtime
    from conjure.users.models import User

PRICE_STARS = 1

# Seed 004 speaks of PENDING / PROCESSING / COMPLETED; the engine's statuses map onto those.
_STATUS: dict[str, GenerationStatus] = {
    JobStatus.QUEUED: "pending",
    JobStatus.PROCESSING: "processing",
    JobStatus.SUCCEEDED: "completed",
    JobStatus.FAILED: "failed",
    JobStatus.DLQ: "failed",
    JobStatus.CANCELED: "canceled",
}


def public_status(job_status: str) -> GenerationStatus:
    return _STATUS.get(job_status, "processing")


async def submit_generation(
    runtime: Runtime, options: SubmitOptions, *, user_id: uuid.UUID, request: GenerationRequest
) -> Job:
    """Queue one image job; the star is held now and captured only if the image is stored."""
    payload = {"prompt": request.prompt, "size": request.size}
    return await submit(
        runtime, options, user_id=user_id, kind=KIND, payload=payload, webhook_url=request.webhook
    )


async def signed_image_url(runtime: Runtime, object_key: str) -> tuple[str, dt.datetime]:
    """A fresh time-limited link to a stored image, and when it stops working."""
    ttl = runtime.settings.storage_presign_ttl_seconds
    url = await runtime.storage.presigned_get_url(object_key, expires_seconds=ttl)
    return url, utcnow() + dt.timedelta(seconds=ttl)


async def generation_view(runtime: Runtime, job_id: uuid.UUID, user_id: uuid.UUID) -> GenerationView:
    """The caller's generation: its status, and a signed image link once completed."""
    job = await job_of_kind(runtime, job_id, user_id, KIND, missing="No such generation.")
    view = GenerationView(job_id=job.id, status=public_status(job.status), job_status=job.status)
    result = job.result or {}
    if job.status == JobStatus.SUCCEEDED and "object_key" in result:
        view.image_url, view.image_url_expires_at = await signed_image_url(runtime, result["object_key"])
        view.width, view.height = result.get("width"), result.get("height")
        view.provider = result.get("provider")
        view.offline_preview = bool(result.get("offline_preview"))
    elif job.status == JobStatus.PROCESSING and job.progress:
        view.step = job.progress.get("step")
    elif view.status in ("failed", "canceled"):
        told = user_error(job)  # a DLQ job's is final, not its last attempt's "retrying"
        view.error = GenerationError(
            code=told.code if told else view.status,
            message=told.message if told else f"The generation {view.status}.",
        )
    return view


async def save_generation(session: AsyncSession, job: Job, result: dict[str, Any]) -> None:
    """Record the stored image (runs in the job's finishing transaction; idempotent per job)."""
    if await session.scalar(select(Generation.id).where(Generation.job_id == job.id)) is not None:
        return
    if job.user_id is None:
        return  # a system job has no gallery to land in
    timings = result.get("timings_ms", {})
    session.add(
        Generation(
            user_id=job.user_id,
            job_id=job.id,
            prompt=str(job.payload.get("prompt", "")),
            provider=result["provider"],
            model=result["model"],
            object_key=result["object_key"],
            size=result["size"],
            width=result["width"],
            height=result["height"],
            bytes=result["bytes"],
            generate_ms=timings.get("generate", 0),
            download_ms=timings.get("download", 0),
            store_ms=timings.get("store", 0),
            total_ms=timings.get("total", 0),
        )
    )
    await session.flush()


async def list_generations(
    session: AsyncSession, runtime: Runtime, user: User, *, limit: int, offset: int
) -> GenerationPage:
    """The caller's images, newest first, each with a fresh signed link."""
    total = await session.scalar(select(func.count()).where(Generation.user_id == user.id))
    rows = (
        await session.execute(
            select(Generation)
            .where(Generation.user_id == user.id)
            .order_by(Generation.created_at.desc(), Generation.id)
            .limit(limit)
            .offset(offset)
        )
    ).scalars()
    items = []
    for row in rows:
        url, _ = await signed_image_url(runtime, row.object_key)
        items.append(
            GenerationItem(
                job_id=row.job_id,
                prompt=row.prompt,
                size=row.size,
                provider=row.provider,
                width=row.width,
                height=row.height,
                image_url=url,
                created_at=row.created_at,
            )
        )
    return GenerationPage(items=items, total=int(total or 0), limit=limit, offset=offset)


# --- account deletion and data export (AppSpec.erase_user / export_user) -----------------


async def erase_user_generations(session: AsyncSession, user_id: uuid.UUID, settings: Settings) -> list[str]:
    """Account deletion: the person's prompts go; their images' keys are returned for deletion."""
    rows = await session.execute(
        delete(Generation).where(Generation.user_id == user_id).returning(Generation.object_key)
    )
    return [key for (key,) in rows]


async def export_user_generations(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    """The person's generations (prompt, size, model, stored object) for their data export."""
    rows = (
        await session.execute(
            select(Generation).where(Generation.user_id == user_id).order_by(Generation.created_at)
        )
    ).scalars()
    generations = [
        {
            "job_id": str(row.job_id),
            "prompt": row.prompt,
            "size": row.size,
            "model": row.model,
            "object_key": row.object_key,
            "created_at": row.created_at.isoformat(),
        }
        for row in rows
    ]
    return {"generations": generations}
